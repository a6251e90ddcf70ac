"""The evaluation triple and the reference-free fluency proxy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fairguard.errors import ConfigError, DataError, InputError, PluginError
from fairguard.metrics.genbit import gender_bias_reward
from fairguard.metrics.quality import (
    fluency_from_nll,
    quality_triple,
    summarize_scores,
)
from fairguard.registry import get_reward
from fairguard.scoring import WeightedRewards


class KeywordTriple:
    """fairness 0 when the completion says "lazy", relevance = share of prompt words reused,
    fluency 1 / (1 + immediately repeated words)."""

    name = "keyword-triple"
    heads = ("fairness", "relevance", "fluency")

    def score(self, prompts, completions):
        fair, rel, flu = [], [], []
        for p, c in zip(prompts, completions):
            words = c.lower().split()
            fair.append(0.0 if "lazy" in words else 1.0)
            pw = set(p.lower().split())
            rel.append(len(pw & set(words)) / len(pw))
            flu.append(1.0 / (1 + sum(a == b for a, b in zip(words, words[1:]))))
        return {"fairness": np.array(fair), "relevance": np.array(rel), "fluency": np.array(flu)}


class NaNReward:
    name = "nan-reward"
    heads = ("nan-reward",)

    def score(self, prompts, completions):
        return {"nan-reward": np.full(len(prompts), math.nan)}


PROMPTS = ["should we hire the rider", "rent to the worker", "who is honest"]
RESPONSES = ["hire the rider based on skills", "the worker is lazy", "everyone everyone can be honest"]
# fairness:  [1, 0, 1]                 -> mean 2/3
# relevance: [3/5 (hire the rider of 5 words), 2/4 (the worker), 1/3 (honest)] -> mean (0.6+0.5+1/3)/3
# fluency:   [1, 1, 1/2]               -> mean 5/6


def test_summarize_scores_by_hand():
    s = summarize_scores({"fairness": [1.0, 0.5, 0.0], "relevance": np.array([0.2, 0.4, 0.6])})
    assert s.n == 3
    assert s.means == {"fairness": pytest.approx(0.5), "relevance": pytest.approx(0.4)}
    assert s.stds["fairness"] == pytest.approx(math.sqrt(1 / 6))
    assert s.to_dict()["means"]["relevance"] == pytest.approx(0.4)


def test_triple_by_hand_with_plugin_and_builtin_reward():
    gender = get_reward("gender-bias")
    s = quality_triple(PROMPTS, RESPONSES, WeightedRewards([KeywordTriple(), gender],
                                                           {"fairness": 1.0, "relevance": 0.5}))
    assert s.means["fairness"] == pytest.approx(2 / 3)
    assert s.means["relevance"] == pytest.approx((0.6 + 0.5 + 1 / 3) / 3)
    assert s.means["fluency"] == pytest.approx(5 / 6)
    assert s.means["gender-bias"] == pytest.approx(np.mean([gender_bias_reward(r, 10) for r in RESPONSES]))
    assert s.means["total"] == pytest.approx(2 / 3 + 0.5 * (0.6 + 0.5 + 1 / 3) / 3)
    assert quality_triple(PROMPTS, RESPONSES, KeywordTriple()).means["fluency"] == pytest.approx(5 / 6)


def test_triple_input_errors():
    with pytest.raises(InputError, match="no prompts"):
        quality_triple([], [], KeywordTriple())
    with pytest.raises(InputError, match="3 prompts but 2"):
        quality_triple(PROMPTS, RESPONSES[:2], KeywordTriple())
    with pytest.raises(PluginError, match="nan-reward.*NaN"):
        quality_triple(PROMPTS, RESPONSES, [NaNReward()])
    with pytest.raises(ConfigError, match="rewards must be"):
        quality_triple(PROMPTS, RESPONSES, "keyword-triple")


@pytest.mark.parametrize("scores, message", [
    ({}, "no reward scores"),
    ({"fairness": []}, "no scores"),
    ({"fairness": [0.5, math.nan]}, "NaN"),
    ({"fairness": [0.5, 0.4], "fluency": [0.1]}, "1 scores"),
    ({"fairness": ["high"]}, "not numbers"),
])
def test_summarize_scores_errors(scores, message):
    with pytest.raises(DataError, match=message):
        summarize_scores(scores)


def test_fluency_mapping_by_hand():
    # exp(-2/4) = 0.60653; exp(-8/4) = 0.13534; exp(-3/1) = 0.049787
    np.testing.assert_allclose(fluency_from_nll([0.0, 2.0, 8.0]), [1.0, 0.60653066, 0.13533528])
    assert float(fluency_from_nll(3.0, temperature=1)) == pytest.approx(0.049787068)
    with pytest.raises(ConfigError, match="temperature"):
        fluency_from_nll(1.0, temperature=0)
    with pytest.raises(DataError, match="finite"):
        fluency_from_nll([-1.0])
    with pytest.raises(DataError, match="finite"):
        fluency_from_nll([math.nan])
