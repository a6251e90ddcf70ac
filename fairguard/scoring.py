"""Rewards: the one reward-spec grammar (``"name=weight,name"``), building the weighted set of
registered rewards it names, and combining their scores into one weighted total with output
validation. The guard, the evaluation runners and the trainer all build their rewards here."""

from __future__ import annotations

import math
import os
from typing import Any, Mapping, Sequence

import numpy as np

from fairguard.errors import ConfigError, PluginError, UnknownNameError
from fairguard.inputs import check_pairs
from fairguard.protocols import Reward

TOTAL = "total"
REWARD_MODEL = "reward-model"
# the measured default run (docs/grpo.md): relevance and fluency held on two seeds at these weights
DEFAULT_REWARD_MODEL_WEIGHTS = {"fairness": 1.0, "relevance": 0.75, "fluency": 0.75}


def window_tokens_field() -> Any:
    """A config field for the ``reward-model`` option ``window_tokens`` (``None``: the model's
    ``max_length``), with its help, for the commands that judge with a reward-model folder."""
    from dataclasses import field

    return field(default=None, metadata={
        "help": "Tokens per window of a long answer (the reward-model option window_tokens): "
                "fewer dilute one biased sentence less and cost more windows.",
        "default_text": "the model's max_length"})


def parse_named_numbers(spec: str | Mapping[str, float] | None, what: str, example: str,
                        bare: float | None = None) -> dict[str, float]:
    """Parse ``"a=1.0,b=0.5"`` (or a mapping) into ``{name: finite float}``.

    ``what`` names the values in errors ("reward weight", "threshold"); a bare ``name`` without
    ``=number`` means ``bare``, or is an error when ``bare`` is None.
    """
    if spec is None:
        return {}
    items: list[tuple[Any, Any]]
    if isinstance(spec, Mapping):
        items = list(spec.items())
    else:
        items = []
        for part in str(spec).split(","):
            part = part.strip()
            if not part:
                continue
            name, sep, text = part.partition("=")
            if not sep and bare is None:
                raise ConfigError(f"{what} {part!r} is not name=number; write e.g. {example}")
            items.append((name.strip(), text if sep else bare))
    out: dict[str, float] = {}
    for name, value in items:
        if not isinstance(name, str) or not name:
            raise ConfigError(f"a {what} has an empty name; write e.g. {example}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{what} {name}={value} is not name=number; write e.g. {example}") from None
        if not math.isfinite(number):
            raise ConfigError(f"{what} for {name!r} must be a finite number, got {value!r}")
        if name in out:
            raise ConfigError(f"{what} {name!r} is given twice")
        out[name] = number
    return out


def parse_weights(spec: str | Mapping[str, float] | None) -> dict[str, float]:
    """Parse ``"fairness=1.0,relevance=0.5"`` (or a mapping) into ``{name: weight}``; a bare
    name means weight 1."""
    return parse_named_numbers(spec, "reward weight", "fairness=1.0,relevance=0.5", bare=1.0)


def parse_reward_spec(spec: str | Mapping[str, float] | Sequence[str] | None) -> dict[str, float]:
    """The reward-spec grammar: ``"gender-bias=1,reward-model=0.5"`` (a bare name weighs 1), a
    mapping ``{name: weight}``, or a list of names (weight 1 each)."""
    if spec is None or isinstance(spec, (str, Mapping)):
        return parse_weights(spec)
    names = list(spec)
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"reward names must be non-empty strings, got {name!r}")
    return parse_weights({name.strip(): 1.0 for name in names})


def build_rewards(spec: str | Mapping[str, float] | Sequence[str] | None = None, *,
                  reward_model: str | Sequence[str] | None = None,
                  reward_options: Mapping[str, Mapping[str, Any]] | None = None,
                  head_weights: str | Mapping[str, float] | None = None,
                  reward_model_ensemble: str = "mean") -> "WeightedRewards":
    """The weighted rewards that a reward spec names.

    ``reward_model`` builds the ``reward-model`` plugin on that folder first (default weights
    fairness 1, relevance 0.75, fluency 0.75 when ``spec`` is empty); several folders make an
    ensemble whose heads combine by ``reward_model_ensemble`` (``mean`` or ``min``). Each name in ``spec`` that is
    a head of an earlier reward sets that head's weight; any other name is a registered reward
    (built with ``reward_options[name]``) whose weight applies to each of its heads.
    ``head_weights`` (``"fairness=2"``) then overrides single heads.
    """
    from fairguard.registry import get_reward

    named = parse_reward_spec(spec)
    reward_options = dict(reward_options or {})
    for name in reward_options:
        if name not in named:
            raise ConfigError(f"reward_options names {name!r}, which is not among the rewards {sorted(named)}")
    rewards: list[Reward] = []
    weights: dict[str, float] = {}
    heads: set[str] = set()
    if reward_model is not None:
        paths = ([str(reward_model)] if isinstance(reward_model, (str, os.PathLike))
                 else [str(p) for p in reward_model])
        rm = get_reward(REWARD_MODEL, path=paths, ensemble=reward_model_ensemble)
        rewards.append(rm)
        heads.update(rm.heads)
        if not named:
            weights.update({h: w for h, w in DEFAULT_REWARD_MODEL_WEIGHTS.items() if h in heads})
    for name, weight in named.items():
        if name in heads:
            weights[name] = weight
            continue
        reward = get_reward(name, **dict(reward_options.get(name, {})))
        overlap = heads.intersection(reward.heads)
        if overlap:
            raise ConfigError(f"reward {name!r} produces head(s) {sorted(overlap)} that another "
                              "reward already produces")
        rewards.append(reward)
        heads.update(reward.heads)
        weights.update({h: weight for h in reward.heads})
    if not rewards:
        raise ConfigError("no rewards to evaluate with; name at least one (--reward NAME=WEIGHT, "
                          "rewards='gender-bias=1') and/or --reward-model DIR; see `fairguard rewards`")
    weights.update(parse_weights(head_weights))
    return WeightedRewards(rewards, weights or None)


def validate_reward_output(reward: Reward, output: object, n: int) -> dict[str, np.ndarray]:
    """Check that a reward returned a finite float array of length ``n`` for each head."""
    if not isinstance(output, Mapping):
        raise PluginError(reward.name, f"score() returned {type(output).__name__}, expected a dict of arrays")
    result: dict[str, np.ndarray] = {}
    for head in reward.heads:
        if head not in output:
            raise PluginError(reward.name, f"score() returned no values for head {head!r}")
        try:
            values = np.asarray(output[head], dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise PluginError(reward.name, f"head {head!r} is not numeric: {exc}") from exc
        if values.shape[0] != n:
            raise PluginError(reward.name, f"head {head!r} has {values.shape[0]} values for {n} pairs")
        if not np.all(np.isfinite(values)):
            raise PluginError(reward.name, f"head {head!r} returned NaN or inf")
        result[head] = values
    return result


class WeightedRewards:
    """Several rewards and a weight per head; scores pairs into named arrays plus ``total``."""

    def __init__(self, rewards: Sequence[Reward], weights: Mapping[str, float] | None = None):
        if not rewards:
            raise ConfigError("no rewards given; name at least one, e.g. --reward gender-bias=1")
        self.rewards = list(rewards)
        self.head_owner: dict[str, Reward] = {}
        for reward in self.rewards:
            for head in reward.heads:
                if head in self.head_owner:
                    raise ConfigError(
                        f"reward head {head!r} is produced by both {self.head_owner[head].name!r} "
                        f"and {reward.name!r}"
                    )
                self.head_owner[head] = reward
        if weights is None or not weights:
            weights = {head: 1.0 for head in self.head_owner}
        for name in weights:
            if name not in self.head_owner:
                raise UnknownNameError("reward head", name, list(self.head_owner))
        self.weights = dict(weights)

    @property
    def heads(self) -> tuple[str, ...]:
        return tuple(self.head_owner)

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> dict[str, np.ndarray]:
        """Score every pair with every reward; ``total`` is the weighted sum of weighted heads."""
        prompts, completions = check_pairs(prompts, completions)
        n = len(prompts)
        scores: dict[str, np.ndarray] = {}
        for reward in self.rewards:
            try:
                raw = reward.score(prompts, completions)
            except PluginError:
                raise
            except Exception as exc:
                raise PluginError(reward.name, f"score() raised {type(exc).__name__}: {exc}") from exc
            scores.update(validate_reward_output(reward, raw, n))
        total = np.zeros(n, dtype=np.float64)
        for head, weight in self.weights.items():
            total += weight * scores[head]
        scores[TOTAL] = total
        return scores
