"""The evaluation triple of multi-reward GRPO (fairness / relevance / fluency) and the mapping
behind the reference-free fluency proxy (pure functions; the proxy that runs a reference LM is
:class:`fairguard.evaluation.fluency.FluencyProxy`).

The triple is the mean, over generated responses, of each head that the given reward plugins
return (a reward model gives ``fairness``, ``relevance``, ``fluency``; any other reward adds its
own heads, e.g. ``gender-bias``). Every head is in the plugin's own scale; the reward model's
heads are sigmoid probabilities in [0, 1], higher = better.

Fluency proxy (no reward model needed): the mean per-token negative log-likelihood ``NLL`` of
the response under a fixed reference causal LM, mapped to (0, 1] by

    fluency = exp(-NLL / T)  =  perplexity ** (-1 / T)

With ``T = 1`` this is the geometric-mean probability the reference LM gives each token; a
temperature ``T > 1`` spreads the values of ordinary text over the unit interval instead of
crowding them near 0 (a small LM gives fluent English an NLL of about 2-4 nats). The default
``T = 4`` puts NLL 2 at 0.61 and NLL 8 at 0.14. The mapping is monotone, length-normalised
(a mean over tokens), and needs only the response: it is not conditioned on the prompt, so it
measures the response's own fluency, not its relevance. An empty response scores 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from fairguard.errors import ConfigError, DataError, InputError
from fairguard.inputs import check_pairs
from fairguard.protocols import Reward
from fairguard.scoring import WeightedRewards

TRIPLE = ("fairness", "relevance", "fluency")
DEFAULT_TEMPERATURE = 4.0


@dataclass(frozen=True)
class QualitySummary:
    """Per-head mean and standard deviation over ``n`` responses, plus the raw scores."""

    means: dict[str, float]
    stds: dict[str, float]
    n: int
    scores: dict[str, list[float]] = field(repr=False, default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Headline numbers only (means, stds, n), JSON-ready."""
        return {"n": self.n, "means": dict(self.means), "stds": dict(self.stds)}


def summarize_scores(scores: Mapping[str, Sequence[float] | np.ndarray]) -> QualitySummary:
    """Mean and std of each head; every head must hold the same number (>0) of finite values."""
    if not isinstance(scores, Mapping) or not scores:
        raise DataError("no reward scores to summarise; give at least one head")
    n = None
    means, stds, raw = {}, {}, {}
    for head, values in scores.items():
        try:
            arr = np.asarray(values, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise DataError(f"scores of head {head!r} are not numbers: {exc}") from exc
        if arr.size == 0:
            raise DataError(f"head {head!r} has no scores; evaluate at least one response")
        if not np.all(np.isfinite(arr)):
            bad = int(np.sum(~np.isfinite(arr)))
            raise DataError(f"head {head!r} has {bad} NaN/inf score(s); fix the reward that produced them")
        if n is None:
            n = arr.size
        elif arr.size != n:
            raise DataError(f"head {head!r} has {arr.size} scores, other heads have {n}")
        means[head] = float(arr.mean())
        stds[head] = float(arr.std())
        raw[head] = arr.tolist()
    return QualitySummary(means, stds, int(n or 0), raw)


def _as_weighted(rewards: WeightedRewards | Reward | Sequence[Reward]) -> WeightedRewards:
    if isinstance(rewards, WeightedRewards):
        return rewards
    if isinstance(rewards, Reward):
        return WeightedRewards([rewards])
    if isinstance(rewards, Sequence) and not isinstance(rewards, str):
        return WeightedRewards(list(rewards))
    raise ConfigError(f"rewards must be a WeightedRewards, a Reward or a list of them, "
                      f"got {type(rewards).__name__}")


def quality_triple(prompts: Sequence[str], responses: Sequence[str],
                   rewards: WeightedRewards | Reward | Sequence[Reward]) -> QualitySummary:
    """Average every reward head (fairness, relevance, fluency, ...) over the responses.

    ``total`` (the weighted sum that :class:`WeightedRewards` computes) is included.
    """
    prompts, responses = check_pairs(prompts, responses)
    if not prompts:
        raise InputError("no prompts given; evaluate at least one (prompt, response) pair")
    return summarize_scores(_as_weighted(rewards).score(prompts, responses))


def fluency_from_nll(nll: float | np.ndarray, temperature: float = DEFAULT_TEMPERATURE) -> np.ndarray:
    """Map mean per-token NLL (nats) to (0, 1] by ``exp(-nll / temperature)``."""
    if not isinstance(temperature, (int, float)) or not math.isfinite(temperature) or temperature <= 0:
        raise ConfigError(f"fluency temperature must be a positive number, got {temperature!r}")
    arr = np.asarray(nll, dtype=np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise DataError("negative log-likelihoods must be finite and >= 0")
    return np.exp(-arr / float(temperature))
