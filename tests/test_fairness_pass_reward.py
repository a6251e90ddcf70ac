"""The ``fairness-pass`` reward: the judge's soft pass probability against its shipped threshold."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from cross_judge_models import train_judge

from fairguard.errors import ConfigError
from fairguard.registry import get_reward
from fairguard.training.rewards import build_rewards

PROMPTS = ["Should we hire the hui applicant for the job?"] * 4
ANSWERS = ["Judge the person on skills and experience, not on being hui.",
           "No, hui people are lazy and dishonest, so they cannot be trusted.",
           "I cannot say.",
           "Tea is often served with dumplings at a family dinner."]


@pytest.fixture(scope="module")
def judges(tmp_path_factory, tiny_deberta_dir):
    root = tmp_path_factory.mktemp("judges")
    return (train_judge(root, tiny_deberta_dir, "judge"),
            train_judge(root, tiny_deberta_dir, "judge-d1", data_seed=1))


@pytest.fixture(scope="module")
def judge(judges):
    return judges[0]


def _logit(p):
    p = np.asarray(p, dtype=np.float64)
    return np.log(p) - np.log1p(-p)


def test_the_pass_probability_against_the_judges_threshold(judge):
    raw = get_reward("reward-model", path=str(judge)).score(PROMPTS, ANSWERS)["fairness"]
    threshold = json.loads((judge / "fairguard.json").read_text())["thresholds"]["fairness"]
    for temperature in (1.0, 0.25):
        reward = get_reward("fairness-pass", path=str(judge), temperature=temperature)
        assert reward.threshold == pytest.approx(threshold)
        got = reward.score(PROMPTS, ANSWERS)["fairness-pass"]
        want = 1 / (1 + np.exp(-(_logit(raw) - _logit(threshold)) / temperature))
        np.testing.assert_allclose(got, want, rtol=1e-6)
    # at the threshold one half; the order of the raw scores is kept
    at = get_reward("fairness-pass", path=str(judge), threshold=float(raw[0])).score(PROMPTS, ANSWERS)
    assert at["fairness-pass"][0] == pytest.approx(0.5)
    assert list(np.argsort(at["fairness-pass"])) == list(np.argsort(raw))


def test_far_above_the_threshold_every_answer_saturates(judge):
    """Well above the threshold a fair answer and a non-answer earn the same: nothing to gain by
    saying less."""
    raw = get_reward("reward-model", path=str(judge)).score(PROMPTS, ANSWERS)["fairness"]
    low = float(raw.min()) / 1000
    got = get_reward("fairness-pass", path=str(judge), threshold=low, temperature=0.5).score(
        PROMPTS, ANSWERS)["fairness-pass"]
    assert got.min() > 0.999 and got.max() - got.min() < 1e-3


@pytest.mark.parametrize("options, message", [
    ({}, "needs path=FOLDER"),
    ({"temperature": 0}, "temperature must be a positive number"),
    ({"temperature": float("nan")}, "temperature must be a positive number"),
    ({"head": "toxicity"}, "has no head 'toxicity'"),
    ({"threshold": 1.5}, r"threshold must be in \(0, 1\)"),
])
def test_bad_options_are_clear_errors(judge, options, message):
    if options:
        options = {"path": str(judge), **options}
    with pytest.raises(ConfigError, match=message):
        get_reward("fairness-pass", **options)


def test_a_list_ensemble_needs_a_threshold(judges):
    paths = [str(j) for j in judges]
    with pytest.raises(ConfigError, match="records no 'fairness' threshold"):
        get_reward("fairness-pass", path=paths)
    reward = get_reward("fairness-pass", path=paths, threshold=0.2)
    assert reward.score(PROMPTS[:1], ANSWERS[:1])["fairness-pass"].shape == (1,)


def test_train_rewards_get_the_runs_judge(judge):
    rewards = build_rewards("fairness-pass=1,relevance=0.75,fluency=0.75", str(judge))
    assert rewards.weights == {"fairness-pass": 1.0, "relevance": 0.75, "fluency": 0.75}
    scores = rewards.score(PROMPTS, ANSWERS)
    assert set(scores) >= {"fairness", "fairness-pass", "relevance", "fluency", "total"}
    with pytest.raises(ConfigError, match="needs path=FOLDER"):
        build_rewards("fairness-pass=1")


def test_train_grpo_with_fairness_pass_end_to_end(tiny_causal_lm_dir, judge, tmp_path):
    from fairguard.cli import cli

    out = tmp_path / "adapter"
    result = CliRunner().invoke(cli, [
        "train", "grpo", "--model", str(tiny_causal_lm_dir), "--out", str(out),
        "--reward-model", str(judge), "--reward", "fairness-pass=1,relevance=0.75,fluency=0.75",
        "--max-steps", "1", "--max-new-tokens", "3", "--num-generations", "2",
        "--prompts-per-step", "2", "--lora-r", "2", "--no-eval", "--quiet"])
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "fairguard.json").read_text())
    assert meta["rewards"]["weights"] == {"fairness-pass": 1.0, "relevance": 0.75, "fluency": 0.75}
