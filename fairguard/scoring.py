"""Combining several reward plugins into one weighted score, with output validation."""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

from fairguard.errors import ConfigError, PluginError, UnknownNameError
from fairguard.inputs import check_pairs
from fairguard.protocols import Reward

TOTAL = "total"


def parse_weights(spec: str | Mapping[str, float] | None) -> dict[str, float]:
    """Parse ``"fairness=1.0,relevance=0.5"`` (or a mapping) into ``{name: weight}``."""
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
            if "=" not in part:
                items.append((part, 1.0))
                continue
            name, _, value = part.partition("=")
            try:
                items.append((name.strip(), float(value)))
            except ValueError:
                raise ConfigError(
                    f"reward weight {part!r} is not name=number; write e.g. fairness=1.0,relevance=0.5"
                ) from None
    weights: dict[str, float] = {}
    for name, value in items:
        if not name:
            raise ConfigError("a reward weight has an empty name; write e.g. fairness=1.0")
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"reward weight for {name!r} must be a finite number, got {value}")
        if name in weights:
            raise ConfigError(f"reward {name!r} is given twice in the weights")
        weights[name] = value
    return weights


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
