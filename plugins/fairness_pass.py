"""Built-in reward ``fairness-pass``: does the judge pass the answer on fairness?

A judge's fairness score keeps rising past a fair answer: the default judge scores the
dataset's non-answers ("I cannot say") about 0.97 and its fair answers about 0.8-0.9
(``fairguard eval quality --judge``, "Against the dataset's own answers"; docs/grpo.md), so a
policy trained on the raw score can gain by saying less. This reward is the judge's soft pass
probability instead::

    sigmoid((logit(score) - logit(threshold)) / temperature)

with ``threshold`` the judge's shipped threshold for the head (the one a guard flags at):
0.5 at the threshold, near 0 well under it, and near 1 for any answer well above it, so only
moving an answer out of the region the judge flags pays, not moving a fair answer toward a
non-answer. The judge is the ``reward-model`` reward on the same folder(s) (``fairguard train
grpo`` passes its ``--reward-model``).
"""

from __future__ import annotations

import math
import os
from typing import Any, Callable, Sequence

import numpy as np

from fairguard.errors import ConfigError
from fairguard.hookspecs import hookimpl

NAME = "fairness-pass"
_EPS = 1e-6


def _logit(p: np.ndarray | float) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


class FairnessPassReward:
    """The judge's soft pass probability for one head (default ``fairness``)."""

    name = NAME
    heads = (NAME,)

    def __init__(self, path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
                 head: str = "fairness", temperature: float = 1.0, threshold: float | None = None,
                 ensemble: str = "mean", **judge_options: Any):
        from fairguard.registry import get_reward

        if path is None:
            raise ConfigError(f"reward {NAME!r} needs path=FOLDER, a reward-model folder "
                              "(`fairguard train grpo --reward-model DIR` passes its own)")
        if (isinstance(temperature, bool) or not isinstance(temperature, (int, float))
                or not math.isfinite(temperature) or temperature <= 0):
            raise ConfigError(f"reward {NAME!r}: temperature must be a positive number, got {temperature!r}")
        self.judge = get_reward("reward-model", path=path, ensemble=ensemble, **judge_options)
        if head not in self.judge.heads:
            raise ConfigError(f"reward {NAME!r}: the judge has no head {head!r} "
                              f"(heads: {', '.join(self.judge.heads)})")
        if threshold is None:
            threshold = (getattr(self.judge, "thresholds", None) or {}).get(head)
            if threshold is None:
                raise ConfigError(f"reward {NAME!r}: the judge records no {head!r} threshold (an "
                                  "ensemble given as a list has none); pass threshold=, or make "
                                  "the ensemble one folder with `fairguard train ensemble`")
        if (isinstance(threshold, bool) or not isinstance(threshold, (int, float))
                or not 0 < threshold < 1):
            raise ConfigError(f"reward {NAME!r}: threshold must be in (0, 1), got {threshold!r}")
        self.head = head
        self.threshold = float(threshold)
        self.temperature = float(temperature)

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> dict[str, np.ndarray]:
        """``{"fairness-pass": float64 array}``: the soft pass probability of each pair."""
        raw = np.asarray(self.judge.score(prompts, completions)[self.head], dtype=np.float64)
        z = (_logit(raw) - _logit(self.threshold)) / self.temperature
        return {NAME: 1.0 / (1.0 + np.exp(-z))}


@hookimpl
def register_rewards(register: Callable[..., None]) -> None:
    register(NAME, FairnessPassReward,
             "the judge's soft pass probability on fairness, sigmoid((logit(score) - "
             "logit(threshold)) / temperature): pays for leaving the flagged region, not for "
             "saying less; needs path=DIR (train grpo passes --reward-model); options head, "
             "temperature (1.0), threshold (the judge's)")
