"""The weighted reward of a training run, built from --reward and --reward-model."""

from __future__ import annotations

from typing import Mapping

from fairguard.evaluation.rewards import build_rewards as build_reward_set
from fairguard.scoring import WeightedRewards, parse_weights

DEFAULT_WEIGHTS = {"gender-bias": 1.0}


def build_rewards(spec: str | Mapping[str, float] | None = None,
                  reward_model: str | None = None) -> WeightedRewards:
    """Rewards and weights: the ``reward-model`` plugin at ``reward_model`` (heads fairness,
    relevance, fluency; default weights 1, 0.5, 0.5) plus every other reward ``spec`` names.

    With neither, the built-in ``gender-bias`` reward with weight 1.
    """
    if reward_model is None and not parse_weights(spec):
        spec = DEFAULT_WEIGHTS
    return build_reward_set(None if reward_model is None else str(reward_model), spec)
