import numpy as np
import pytest

from fairguard.export.parity import compare, logit_threshold, near_thresholds, recheck_report

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


def test_recheck_takes_the_reference_near_a_threshold_only():
    heads = ["fairness", "relevance"]
    thresholds = {"fairness": 0.5, "relevance": 0.8}  # threshold logits 0 and log(4) = 1.386
    reference = np.array([[0.10, 3.0], [-0.05, 3.0], [2.0, 1.45], [-2.0, 1.30], [0.9, 3.0]],
                         dtype=np.float32)
    candidate = np.array([[-0.10, 3.0], [0.05, 3.0], [2.0, 1.30], [-2.0, 1.45], [-0.9, 3.0]],
                         dtype=np.float32)
    cuts = np.array([0.0, logit_threshold(0.8)], dtype=np.float32)
    margins = [0.2, 0.2]
    assert near_thresholds(candidate, cuts, np.array(margins)).tolist() == [
        True, True, True, True, False]
    report = recheck_report(reference, candidate, heads, thresholds, margins)
    assert report["rescored_share"] == pytest.approx(0.8)
    # the first four flips are near a threshold and fixed; the last is 0.9 away and stays
    assert report["decision_agreement"] == {"fairness": pytest.approx(0.8), "relevance": 1.0}
    assert compare(reference, candidate, heads, thresholds)["decision_agreement"] == {
        "fairness": pytest.approx(0.4), "relevance": pytest.approx(0.6)}
    none = recheck_report(reference, candidate, heads, thresholds, [0.0, 0.0])
    assert none["rescored_share"] == 0 and none["decision_agreement"]["fairness"] == pytest.approx(0.4)


def test_logits_come_back_in_input_order(tmp_path_factory):
    """Pairs of mixed lengths, scored in length-sorted batches, come back in the order given:
    each row equals the torch model's logits for that pair alone, for torch and ONNX."""
    import torch
    from onnx_export_data import shared_export
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from fairguard.export.parity import onnx_logits, torch_logits
    from fairguard.export.session import make_session
    from fairguard.reward_model import tokenize_pairs

    source, export = shared_export(tmp_path_factory)
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModelForSequenceClassification.from_pretrained(source).eval()
    prompts = ["Should we hire her?", "Is it fair?", "What now?", "Tell me about nurses.", "Why?"]
    responses = ["Yes. " * 9, "No.", "Judge the work, not the group. " * 3, "They care.", "Hm " * 14]
    with torch.inference_mode():
        alone = np.concatenate([model(**tokenize_pairs(tokenizer, [p], [r], 64)).logits.numpy()
                                for p, r in zip(prompts, responses)])
    batched = torch_logits(model, tokenizer, prompts, responses, 64, batch_size=2)
    np.testing.assert_allclose(batched, alone, atol=1e-5)
    fp32 = onnx_logits(make_session(export / "model.onnx"), tokenizer, prompts, responses, 64,
                       batch_size=2)
    np.testing.assert_allclose(fp32, alone, atol=1e-4)
    assert torch_logits(model, tokenizer, [], [], 64).shape[0] == 0
