import numpy as np
import pytest

from fairguard.export.parity import compare, logit_threshold

HEADS = ["fairness", "relevance"]
HALF = {"fairness": 0.5, "relevance": 0.5}


def test_identical_logits_agree_fully():
    ref = np.array([[1.0, -2.0], [0.5, 0.1]], dtype=np.float32)
    report = compare(ref, ref.copy(), HEADS, HALF)
    assert report["max_abs_logit_diff"] == 0.0
    assert report["decision_agreement"] == {"fairness": 1.0, "relevance": 1.0}
    assert report["decision_agreement_all"] == 1.0


def test_flipped_decision_is_counted_per_head():
    ref = np.array([[0.01, 3.0], [2.0, -3.0], [-1.0, 1.0], [1.0, 1.0]], dtype=np.float32)
    cand = ref.copy()
    cand[0, 0] = -0.01  # crosses the 0.5 threshold (logit 0)
    report = compare(ref, cand, HEADS, HALF)
    assert report["decision_agreement"] == {"fairness": 0.75, "relevance": 1.0}
    assert report["decision_agreement_all"] == pytest.approx(7 / 8)
    assert report["pairs_with_all_heads_agreeing"] == 0.75
    assert report["max_abs_logit_diff"] == pytest.approx(0.02, abs=1e-6)
    assert report["per_head_max_abs_logit_diff"]["relevance"] == 0.0


def test_thresholds_other_than_half():
    assert logit_threshold(0.5) == 0.0
    assert logit_threshold(0.8) == pytest.approx(np.log(4.0))
    ref = np.array([[1.3, 0.0]], dtype=np.float32)  # sigmoid(1.3) = 0.786 < 0.8
    cand = np.array([[1.5, 0.0]], dtype=np.float32)  # sigmoid(1.5) = 0.818 >= 0.8
    report = compare(ref, cand, HEADS, {"fairness": 0.8, "relevance": 0.5})
    assert report["decision_agreement"]["fairness"] == 0.0
