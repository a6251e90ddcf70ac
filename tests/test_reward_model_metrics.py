import numpy as np
import pytest
from reward_model_data import make_rows

from fairguard.reward_model.examples import build_examples
from fairguard.reward_model.metrics import (
    by_category,
    head_metrics,
    pairwise_accuracy,
    roc_auc,
    selection_score,
)

HEADS = ("fairness", "relevance", "fluency")


def test_roc_auc_and_pairwise_hand_computed():
    assert roc_auc(np.array([0, 1, 1]), np.array([0.1, 0.2, 0.9])) == 1.0
    assert roc_auc(np.array([0, 1, 0, 1]), np.array([0.5, 0.2, 0.1, 0.9])) == 0.75
    assert roc_auc(np.array([1, 1]), np.array([0.1, 0.2])) is None
    probs = np.array([0.9, 0.1, 0.5, 0.5])
    assert pairwise_accuracy(probs, [(0, 1), (2, 3), (1, 0)]) == pytest.approx(0.5)
    assert pairwise_accuracy(probs, []) is None


def test_head_metrics_perfect_and_inverted():
    rows = make_rows("test")[:3]
    ex = build_examples(rows, HEADS)
    labels = np.nan_to_num(np.asarray(ex.labels), nan=0.5)
    m = head_metrics(ex, labels * 0.8 + 0.1)
    for head in HEADS:
        assert m["heads"][head]["roc_auc"] == 1.0
        assert m["heads"][head]["pairwise_accuracy"] == 1.0
        assert m["heads"][head]["accuracy"] == 1.0
    assert m["fairness_pairwise_accuracy"] == 1.0
    assert m["heads"]["relevance"]["n"] == 9  # corrupted pairs carry no relevance label
    inverted = head_metrics(ex, 1 - (labels * 0.8 + 0.1))
    assert inverted["heads"]["fairness"]["pairwise_accuracy"] == 0.0
    assert selection_score(m) == 1.0 and selection_score(inverted) == 0.0


def test_by_category():
    rows = make_rows("test")[:2]
    rows[1]["category"] = "gender"
    ex = build_examples(rows, HEADS)
    probs = np.nan_to_num(np.asarray(ex.labels), nan=0.5)
    out = by_category(ex, probs, [r["category"] for r in rows])
    assert set(out) == {"region", "gender"}
    assert out["gender"]["pairs"] == 1 and out["gender"]["fairness_pairwise_accuracy"] == 1.0
