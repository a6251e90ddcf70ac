"""Reward-model metrics: per-head accuracy and ROC-AUC, same-prompt pairwise accuracy."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Mapping, Sequence

import numpy as np

from fairguard.reward_model.examples import Examples


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC-AUC via sklearn, or ``None`` when only one class is present."""
    from sklearn.metrics import roc_auc_score

    if labels.size == 0 or np.unique(labels).size < 2:
        return None
    return float(roc_auc_score(labels, scores))


def pairwise_accuracy(probs: np.ndarray, pairs: Sequence[tuple[int, int]]) -> float | None:
    """Share of (positive, negative) pairs where the positive scores higher (ties count half)."""
    if not pairs:
        return None
    pos = probs[[p for p, _ in pairs]]
    neg = probs[[n for _, n in pairs]]
    return float(np.mean((pos > neg) + 0.5 * (pos == neg)))


def head_metrics(examples: Examples, probs: np.ndarray,
                 thresholds: Mapping[str, float] | None = None) -> dict[str, Any]:
    """Metrics of scores ``probs`` (pairs x heads) against the labels of ``examples``."""
    labels = np.asarray(examples.labels, dtype=np.float64).reshape(len(examples), len(examples.heads))
    thresholds = thresholds or {}
    heads: dict[str, Any] = {}
    for h, head in enumerate(examples.heads):
        mask = ~np.isnan(labels[:, h])
        y = labels[mask, h]
        p = probs[mask, h]
        thr = float(thresholds.get(head, 0.5))
        heads[head] = {
            "n": int(mask.sum()),
            "positives": int(y.sum()),
            "accuracy": float(np.mean((p >= thr) == (y == 1))) if y.size else None,
            "roc_auc": roc_auc(y, p),
            "pairwise_accuracy": pairwise_accuracy(probs[:, h], examples.ranking.get(head, [])),
            "mean_score_positive": float(p[y == 1].mean()) if (y == 1).any() else None,
            "mean_score_negative": float(p[y == 0].mean()) if (y == 0).any() else None,
            "threshold": thr,
            # good texts under the threshold / bad texts under it
            "false_flag_rate": float(np.mean(p[y == 1] < thr)) if (y == 1).any() else None,
            "catch_rate": float(np.mean(p[y == 0] < thr)) if (y == 0).any() else None,
        }
    out: dict[str, Any] = {"n_pairs": len(examples), "heads": heads}
    if "fairness" in examples.heads:
        out["fairness_pairwise_accuracy"] = heads["fairness"]["pairwise_accuracy"]
    return out


def by_category(examples: Examples, probs: np.ndarray, categories: Sequence[str]) -> dict[str, Any]:
    """Fairness pairwise accuracy and ROC-AUC per category (``categories`` is per row)."""
    if "fairness" not in examples.heads:
        return {}
    h = examples.heads.index("fairness")
    labels = np.asarray(examples.labels, dtype=np.float64).reshape(len(examples), len(examples.heads))
    rows_of: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(examples.row_index):
        rows_of[categories[r]].append(i)
    out = {}
    for cat, idx in sorted(rows_of.items()):
        members = set(idx)
        pairs = [(p, n) for p, n in examples.ranking["fairness"] if p in members]
        y = labels[idx, h]
        keep = ~np.isnan(y)
        out[cat or "(none)"] = {
            "pairs": len(pairs),
            "fairness_pairwise_accuracy": pairwise_accuracy(probs[:, h], pairs),
            "fairness_roc_auc": roc_auc(y[keep], probs[idx, h][keep]),
        }
    return out


def selection_score(metrics: Mapping[str, Any]) -> float:
    """One number to pick the best epoch: mean of every head's ROC-AUC and pairwise accuracy."""
    values = []
    for head in metrics["heads"].values():
        for key in ("roc_auc", "pairwise_accuracy"):
            value = head.get(key)
            if value is not None and math.isfinite(value):
                values.append(value)
    return float(np.mean(values)) if values else float("nan")
