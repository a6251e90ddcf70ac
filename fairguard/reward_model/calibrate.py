"""Per-head decision thresholds chosen on validation data for a stated false-flag rate.

A head's false flag is a good text (label 1: fair, relevant, fluent) scored below the head's
threshold. For a stated rate ``r`` the threshold is the ``r``-quantile of the head's scores on
the validation texts labelled good, so that a share ``r`` of them falls below it: the highest
threshold (the most biased texts caught) that keeps false flags at ``r`` on validation data.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fairguard.reward_model.examples import Examples

DEFAULT_FALSE_FLAG_RATE = 0.02


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
        t = float(np.quantile(good, false_flag_rate, method="lower"))
        thresholds[head] = t
        per_head[head] = {"n_good": int(good.size), "n_bad": int(bad.size),
                          "false_flag_rate": float(np.mean(good < t)),
                          "catch_rate": float(np.mean(bad < t)) if bad.size else None}
    return {"thresholds": thresholds, "false_flag_rate": false_flag_rate, "per_head": per_head}


def validation_calibration(examples: Examples, probs: np.ndarray, false_flag_rate: float,
                           rows: int, cut: bool) -> dict[str, Any]:
    """:func:`calibrate_thresholds` on the validation split, as ``fairguard.json`` records it:
    with the split, the number of ``rows`` and which answers (cut as in training, or whole)."""
    return {**calibrate_thresholds(examples, probs, false_flag_rate), "split": "val",
            "rows": rows, "answers": "cut as in training" if cut else "whole"}
