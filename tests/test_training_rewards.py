"""Building the weighted reward of a run from --reward and --reward-model."""

from __future__ import annotations

import numpy as np
import pytest

from fairguard.errors import UnknownNameError
from fairguard.registry import get_reward
from fairguard.training import rewards as training_rewards
from fairguard.training.rewards import build_rewards


class FakeRewardModel:
    """Stands in for a trained reward-model folder: three heads."""

    name = "reward-model"
    heads = ("fairness", "relevance", "fluency")

    def __init__(self, path):
        self.path = path

    def score(self, prompts, completions):
        n = len(prompts)
        return {"fairness": np.linspace(0, 1, n), "relevance": np.full(n, 0.5), "fluency": np.ones(n)}


@pytest.fixture()
def fake_reward_model(monkeypatch):
    made = []

    def lookup(name, **options):
        if name == "reward-model":
            made.append(FakeRewardModel(**options))
            return made[-1]
        return get_reward(name, **options)

    monkeypatch.setattr(training_rewards, "get_reward", lookup)
    return made


def test_default_is_gender_bias():
    rewards = build_rewards()
    assert rewards.weights == {"gender-bias": 1.0}


def test_reward_model_heads_get_default_weights(fake_reward_model, tmp_path):
    rewards = build_rewards(None, str(tmp_path))
    assert rewards.weights == {"fairness": 1.0, "relevance": 0.5, "fluency": 0.5}
    assert fake_reward_model[-1].path == str(tmp_path)
    scores = rewards.score(["a", "b"], ["x", "y"])
    np.testing.assert_allclose(scores["total"], [0 + 0.25 + 0.5, 1 + 0.25 + 0.5])


def test_reward_spec_mixes_heads_and_other_rewards(fake_reward_model, tmp_path):
    rewards = build_rewards("fairness=1,gender-bias=0.3", str(tmp_path))
    assert rewards.weights == {"fairness": 1.0, "gender-bias": 0.3}
    assert [r.name for r in rewards.rewards] == ["reward-model", "gender-bias"]


def test_unknown_reward_is_named():
    with pytest.raises(UnknownNameError, match="nope"):
        build_rewards("nope=1")
