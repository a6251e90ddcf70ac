"""Paired before/after change of a score over the same prompts, with its standard error.

Two evaluations of one prompt set (a base model and an adapter, say) differ by prompt; the
mean of the per-prompt differences and its standard error say whether a change is larger than
what another sample of prompts would give.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from fairguard.errors import ConfigError

Z95 = 1.959964  # two-sided 95 % normal quantile


@dataclass(frozen=True)
class PairedChange:
    """Mean before, mean after, their mean per-prompt difference and its standard error."""

    n: int
    before: float
    after: float
    change: float
    se: float
    improved: int  # prompts whose score rose
    worse: int  # prompts whose score fell

    @property
    def ci95(self) -> tuple[float, float]:
        """Normal-approximation 95 % interval of ``change``."""
        return self.change - Z95 * self.se, self.change + Z95 * self.se

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ci95"] = list(self.ci95)
        return out


def paired_change(before: Sequence[float], after: Sequence[float]) -> PairedChange:
    """Change from ``before[i]`` to ``after[i]`` (same prompt ``i``), averaged over prompts."""
    if len(before) != len(after):
        raise ConfigError(f"paired scores need one value per prompt on both sides; got "
                          f"{len(before)} before and {len(after)} after")
    if not before:
        raise ConfigError("paired scores need at least one prompt")
    values = [(float(b), float(a)) for b, a in zip(before, after)]
    if not all(math.isfinite(b) and math.isfinite(a) for b, a in values):
        raise ConfigError("paired scores contain NaN or infinity; re-score the responses")
    n = len(values)
    diffs = [a - b for b, a in values]
    mean = sum(diffs) / n
    var = sum((d - mean) ** 2 for d in diffs) / (n - 1) if n > 1 else 0.0
    return PairedChange(
        n=n,
        before=sum(b for b, _ in values) / n,
        after=sum(a for _, a in values) / n,
        change=mean,
        se=math.sqrt(var / n),
        improved=sum(d > 0 for d in diffs),
        worse=sum(d < 0 for d in diffs),
    )


__all__ = ["Z95", "PairedChange", "paired_change"]
