"""Per-head decision thresholds chosen on validation data for a stated false-flag rate.

A head's false flag is a good text (label 1: fair, relevant, fluent) scored below the head's
threshold. For a stated rate ``r`` the threshold is the ``r``-quantile of the head's scores on
the validation texts labelled good, so that a share ``r`` of them falls below it: the highest
threshold (the most biased texts caught) that keeps false flags at ``r`` on validation data.

A low quantile of a few hundred texts rests on its dozen lowest scores, so each head also
records a bootstrap interval of its threshold: the range that resampling the same validation
texts gives it, which says how far another validation draw (or a retrained judge) may move it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fairguard.reward_model.examples import Examples

DEFAULT_FALSE_FLAG_RATE = 0.02
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_LEVEL = 0.90
BOOTSTRAP_CHUNK = 2_000_000  # scores held at once while resampling
INTERVAL_NOTE = (f"{BOOTSTRAP_LEVEL * 100:.0f} % bootstrap interval of each threshold "
                 f"({BOOTSTRAP_RESAMPLES} resamples of the good texts)")


def threshold_interval(good: np.ndarray, false_flag_rate: float,
                       resamples: int = BOOTSTRAP_RESAMPLES, level: float = BOOTSTRAP_LEVEL,
                       seed: int = 0) -> tuple[float, float]:
    """The central ``level`` bootstrap interval of the ``false_flag_rate``-quantile of
    ``good`` (the same texts resampled with replacement ``resamples`` times; fixed ``seed``)."""
    rng = np.random.default_rng(seed)
    chunk = max(1, BOOTSTRAP_CHUNK // good.size)  # resamples drawn at once: bounded memory
    estimates = np.concatenate([
        np.quantile(good[rng.integers(0, good.size, size=(min(chunk, resamples - start), good.size))],
                    false_flag_rate, axis=1, method="lower")
        for start in range(0, resamples, chunk)])
    tail = (1.0 - level) / 2 * 100
    lo, hi = np.percentile(estimates, [tail, 100 - tail])
    return float(lo), float(hi)


def describe_thresholds(calibration: dict[str, Any]) -> str:
    """``"fairness 0.140 (0.090-0.216), ... (in brackets: 90 % bootstrap intervals)"``: each
    head's threshold with its bootstrap interval where the calibration records one."""
    parts, any_interval = [], False
    for head, t in calibration["thresholds"].items():
        interval = calibration.get("per_head", {}).get(head, {}).get("threshold_interval")
        any_interval = any_interval or bool(interval)
        parts.append(f"{head} {t:.3f}" + (f" ({interval[0]:.3f}-{interval[1]:.3f})"
                                          if interval else ""))
    note = f" (in brackets: {BOOTSTRAP_LEVEL * 100:.0f} % bootstrap intervals)" if any_interval else ""
    return ", ".join(parts) + note


def calibrate_thresholds(examples: Examples, probs: np.ndarray,
                         false_flag_rate: float = DEFAULT_FALSE_FLAG_RATE) -> dict[str, Any]:
    """``{"thresholds": {head: t}, "false_flag_rate": r, "per_head": {...}}`` from scored pairs."""
    labels = np.asarray(examples.labels, dtype=np.float64).reshape(len(examples), len(examples.heads))
    thresholds: dict[str, float] = {}
    per_head: dict[str, Any] = {}
    for h, head in enumerate(examples.heads):
        good = probs[labels[:, h] == 1, h]
        bad = probs[labels[:, h] == 0, h]
        if good.size == 0:
            thresholds[head] = 0.5
            per_head[head] = {"n_good": 0, "note": "no texts labelled good; kept 0.5"}
            continue
        per_head[head] = head_calibration(good, bad, false_flag_rate)
        thresholds[head] = per_head[head]["threshold"]
    return {"thresholds": thresholds, "false_flag_rate": false_flag_rate, "per_head": per_head,
            "interval": INTERVAL_NOTE}


def quantile_threshold(good: np.ndarray, false_flag_rate: float) -> float:
    """The ``false_flag_rate``-quantile of the good texts' scores (the lower order statistic)."""
    return float(np.quantile(good, false_flag_rate, method="lower"))


def head_calibration(good: np.ndarray, bad: np.ndarray, false_flag_rate: float) -> dict[str, Any]:
    """One head's threshold from its good texts' scores (at least one), with the realised
    false-flag rate, the share of ``bad`` caught and the threshold's bootstrap interval."""
    t = quantile_threshold(good, false_flag_rate)
    return {"threshold": t, "n_good": int(good.size), "n_bad": int(bad.size),
            "false_flag_rate": float(np.mean(good < t)),
            "catch_rate": float(np.mean(bad < t)) if bad.size else None,
            "threshold_interval": list(threshold_interval(good, false_flag_rate))}


def validation_calibration(examples: Examples, probs: np.ndarray, false_flag_rate: float,
                           rows: int, cut: bool) -> dict[str, Any]:
    """:func:`calibrate_thresholds` on the validation split, as ``fairguard.json`` records it:
    with the split, the number of ``rows`` and which answers (cut as in training, or whole)."""
    return {**calibrate_thresholds(examples, probs, false_flag_rate), "split": "val",
            "rows": rows, "answers": "cut as in training" if cut else "whole"}
