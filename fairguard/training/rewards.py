"""The weighted reward of a training run, built from --reward and --reward-model."""

from __future__ import annotations

from typing import Mapping, Sequence

from fairguard.scoring import WeightedRewards, parse_reward_spec
from fairguard.scoring import build_rewards as build_reward_set

DEFAULT_WEIGHTS = {"gender-bias": 1.0}
DATA_REWARDS = ("context-answer",)  # rewards that read the run's dataset (option ``data``)
JUDGE_REWARDS = ("fairness-pass",)  # rewards that read the run's reward model (option ``path``)


def build_rewards(spec: str | Mapping[str, float] | None = None,
                  reward_model: str | Sequence[str] | None = None,
                  ensemble: str = "mean", data: str | None = None,
                  reward_options: Mapping[str, Mapping[str, object]] | None = None) -> WeightedRewards:
    """:func:`fairguard.scoring.build_rewards` with the trainer's default: with neither a spec
    nor a reward model, the built-in ``gender-bias`` reward with weight 1. Several reward-model
    folders make an ensemble whose heads combine by ``ensemble`` (``mean`` or ``min``). Rewards
    that read a dataset (``context-answer``) get the run's ``data`` folder, rewards that read a
    judge (``fairness-pass``) its ``reward_model`` folder(s) and ``ensemble`` rule;
    ``reward_options`` (``{reward: {option: value}}``) add to those, or replace them."""
    named = parse_reward_spec(spec)
    if reward_model is None and not named:
        spec = DEFAULT_WEIGHTS
    options: dict[str, dict[str, object]] = {
        name: {"data": data} for name in DATA_REWARDS if name in named and data is not None}
    options.update({name: {"path": reward_model, "ensemble": ensemble}
                    for name in JUDGE_REWARDS if name in named and reward_model is not None})
    for name, given in (reward_options or {}).items():
        options[name] = {**options.get(name, {}), **given}
    return build_reward_set(spec, reward_model=reward_model, reward_model_ensemble=ensemble,
                            reward_options=options)
