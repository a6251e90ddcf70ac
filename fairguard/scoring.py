"""Combining several reward plugins into one weighted score, with output validation."""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

from fairguard.errors import ConfigError, PluginError, UnknownNameError
from fairguard.inputs import check_pairs
from fairguard.protocols import Reward

TOTAL = "total"


def parse_named_numbers(spec: str | Mapping[str, float] | None, what: str, example: str,
                        bare: float | None = None) -> dict[str, float]:
    """Parse ``"a=1.0,b=0.5"`` (or a mapping) into ``{name: finite float}``.

    ``what`` names the values in errors ("reward weight", "threshold"); a bare ``name`` without
    ``=number`` means ``bare``, or is an error when ``bare`` is None.
    """
    if spec is None:
        return {}
    if isinstance(spec, Mapping):
        items = list(spec.items())
    else:
        items = []
        for part in str(spec).split(","):
            part = part.strip()
            if not part:
                continue
            name, sep, value = part.partition("=")
            if not sep:
                if bare is None:
                    raise ConfigError(f"{what} {part!r} is not name=number; write e.g. {example}")
                value = bare
            items.append((name.strip(), value))
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
