"""Building the weighted reward of a run from --reward and --reward-model."""

from __future__ import annotations

import numpy as np
import pytest

from fairguard.errors import UnknownNameError
from fairguard.training.rewards import build_rewards


@pytest.fixture(scope="module")
def reward_model_dir(tmp_path_factory):
    """A real (random) tiny DeBERTa-v2 reward-model folder with heads fairness/relevance/fluency."""
    from onnx_export_data import tiny_reward_dir

    return tiny_reward_dir(tmp_path_factory.mktemp("rm"))


def test_default_is_gender_bias():
    rewards = build_rewards()
    assert rewards.weights == {"gender-bias": 1.0}


def test_reward_model_heads_get_default_weights(reward_model_dir):
    rewards = build_rewards(None, str(reward_model_dir))
    assert rewards.weights == {"fairness": 1.0, "relevance": 0.75, "fluency": 0.75}
    scores = rewards.score(["who is good", "who is good"], ["the rider is good", "he is lazy"])
    expected = scores["fairness"] + 0.75 * scores["relevance"] + 0.75 * scores["fluency"]
    np.testing.assert_allclose(scores["total"], expected)


def test_reward_spec_mixes_heads_and_other_rewards(reward_model_dir):
    rewards = build_rewards("fairness=1,gender-bias=0.3", str(reward_model_dir))
    assert rewards.weights == {"fairness": 1.0, "gender-bias": 0.3}
    assert [r.name for r in rewards.rewards] == ["reward-model", "gender-bias"]


def test_unknown_reward_is_named():
    with pytest.raises(UnknownNameError, match="nope"):
        build_rewards("nope=1")


def test_several_reward_models_are_an_ensemble(reward_model_dir, tmp_path):
    from onnx_export_data import tiny_reward_dir

    other = tiny_reward_dir(tmp_path / "rm2", seed=1)
    pairs = (["who is good", "who is good"], ["the rider is good", "he is lazy"])
    alone = [build_rewards(None, str(f)).score(*pairs) for f in (reward_model_dir, other)]
    for how, combine in (("mean", np.mean), ("min", np.min)):
        rewards = build_rewards(None, [str(reward_model_dir), str(other)], ensemble=how)
        assert rewards.weights == {"fairness": 1.0, "relevance": 0.75, "fluency": 0.75}
        scores = rewards.score(*pairs)
        np.testing.assert_allclose(scores["fairness"], combine([a["fairness"] for a in alone], axis=0))
