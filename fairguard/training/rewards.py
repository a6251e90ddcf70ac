"""The weighted reward of a training run, built from --reward and --reward-model."""

from __future__ import annotations

from typing import Mapping, Sequence

from fairguard.scoring import WeightedRewards, parse_reward_spec
from fairguard.scoring import build_rewards as build_reward_set

DEFAULT_WEIGHTS = {"gender-bias": 1.0}


def build_rewards(spec: str | Mapping[str, float] | None = None,
                  reward_model: str | Sequence[str] | None = None,
                  ensemble: str = "mean") -> WeightedRewards:
    """:func:`fairguard.scoring.build_rewards` with the trainer's default: with neither a spec
    nor a reward model, the built-in ``gender-bias`` reward with weight 1. Several reward-model
    folders make an ensemble whose heads combine by ``ensemble`` (``mean`` or ``min``)."""
    if reward_model is None and not parse_reward_spec(spec):
        spec = DEFAULT_WEIGHTS
    return build_reward_set(spec, reward_model=reward_model, reward_model_ensemble=ensemble)
