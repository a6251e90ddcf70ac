import numpy as np
import pytest

from fairguard.errors import ConfigError, InputError, PluginError, UnknownNameError
from fairguard.plugins.gender_bias import GenderBiasReward
from fairguard.scoring import TOTAL, WeightedRewards, build_rewards, parse_reward_spec, parse_weights


def test_parse_weights():
    assert parse_weights("fairness=1.0, relevance=0.5,fluency=0.5") == {
        "fairness": 1.0, "relevance": 0.5, "fluency": 0.5}
    assert parse_weights("gender-bias") == {"gender-bias": 1.0}
    assert parse_weights(None) == {}
    assert parse_weights({"a": 2}) == {"a": 2.0}


@pytest.mark.parametrize("spec", ["fairness=abc", "=1", "a=1,a=2", "a=nan"])
def test_parse_weights_rejects(spec):
    with pytest.raises(ConfigError):
        parse_weights(spec)


class _Const:
    def __init__(self, name, value):
        self.name = name
        self.heads = (name,)
        self.value = value

    def score(self, prompts, completions):
        return {self.name: np.full(len(prompts), self.value)}


class _Raises:
    name = "raiser"
    heads = ("raiser",)

    def score(self, prompts, completions):
        raise RuntimeError("model exploded")


class _Short:
    name = "short"
    heads = ("short",)

    def score(self, prompts, completions):
        return {"short": [1.0]}


def test_weighted_total():
    suite = WeightedRewards([_Const("a", 1.0), _Const("b", 0.5)], {"a": 1.0, "b": 2.0})
    out = suite.score(["p", "q"], ["x", "y"])
    assert out[TOTAL].tolist() == [2.0, 2.0]
    assert out["a"].tolist() == [1.0, 1.0]


def test_default_weights_are_one():
    suite = WeightedRewards([_Const("a", 1.0), _Const("b", 0.5)])
    assert suite.weights == {"a": 1.0, "b": 1.0}


def test_unknown_weight_name():
    with pytest.raises(UnknownNameError, match="known reward heads: a"):
        WeightedRewards([_Const("a", 1.0)], {"fairness": 1.0})


def test_nan_reward_names_plugin():
    suite = WeightedRewards([_Const("nanny", float("nan"))])
    with pytest.raises(PluginError, match="plugin 'nanny': head 'nanny' returned NaN or inf"):
        suite.score(["p"], ["c"])


def test_raising_reward_names_plugin():
    with pytest.raises(PluginError, match="plugin 'raiser': score\\(\\) raised RuntimeError: model exploded"):
        WeightedRewards([_Raises()]).score(["p"], ["c"])


def test_wrong_length_names_plugin():
    with pytest.raises(PluginError, match="1 values for 2 pairs"):
        WeightedRewards([_Short()]).score(["p", "q"], ["c", "d"])


def test_duplicate_heads_rejected():
    with pytest.raises(ConfigError, match="produced by both"):
        WeightedRewards([_Const("a", 1.0), _Const("a", 2.0)])


def test_no_rewards_rejected():
    with pytest.raises(ConfigError):
        WeightedRewards([])


def test_bad_inputs():
    suite = WeightedRewards([GenderBiasReward()])
    with pytest.raises(InputError, match="got 1 prompts but 2 completions"):
        suite.score(["p"], ["a", "b"])
    with pytest.raises(InputError, match="must be a string"):
        suite.score(["p"], [3])


def test_one_reward_spec_grammar():
    assert parse_reward_spec("gender-bias=2, reward-model") == {"gender-bias": 2.0, "reward-model": 1.0}
    assert parse_reward_spec(["gender-bias"]) == parse_reward_spec({"gender-bias": 1}) == {"gender-bias": 1.0}
    assert parse_reward_spec(None) == {}
    with pytest.raises(ConfigError, match="non-empty"):
        parse_reward_spec(["", "gender-bias"])


def test_build_rewards_weights_heads_and_checks_options():
    rewards = build_rewards("gender-bias=0.5")
    assert rewards.weights == {"gender-bias": 0.5}
    assert build_rewards(["gender-bias"], head_weights="gender-bias=3").weights == {"gender-bias": 3.0}
    with pytest.raises(ConfigError, match="reward_options names 'other'"):
        build_rewards("gender-bias", reward_options={"other": {}})
    with pytest.raises(ConfigError, match="no rewards to evaluate with"):
        build_rewards("")


def test_build_rewards_errors(tmp_path):  # the registry's and the reward-model plugin's errors
    with pytest.raises(UnknownNameError, match="no-such-reward"):
        build_rewards("no-such-reward=1")
    with pytest.raises(ConfigError, match="no rewards"):
        build_rewards(None)
    with pytest.raises(ConfigError, match="not a folder"):
        build_rewards(reward_model=str(tmp_path / "missing"))
