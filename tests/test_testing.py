import torch
from transformers import AutoModelForCausalLM, AutoModelForMaskedLM, AutoModelForSequenceClassification, AutoTokenizer


def test_tiny_causal_lm_generates(tiny_causal_lm_dir):
    tok = AutoTokenizer.from_pretrained(tiny_causal_lm_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_causal_lm_dir)
    batch = tok(["the worker is", "he"], return_tensors="pt", padding=True)
    out = model.generate(**batch, max_new_tokens=4, do_sample=False)
    assert out.shape == (2, batch["input_ids"].shape[1] + 4)


def test_tiny_masked_lm_fills_mask(tiny_masked_lm_dir):
    tok = AutoTokenizer.from_pretrained(tiny_masked_lm_dir)
    model = AutoModelForMaskedLM.from_pretrained(tiny_masked_lm_dir)
    batch = tok(["the [MASK] is good"], return_tensors="pt")
    assert model(**batch).logits.shape[-1] == len(tok)
    assert (batch["input_ids"] == tok.mask_token_id).sum() == 1


def test_tiny_deberta_has_three_labelled_heads(tiny_deberta_dir):
    model = AutoModelForSequenceClassification.from_pretrained(tiny_deberta_dir)
    tok = AutoTokenizer.from_pretrained(tiny_deberta_dir)
    assert model.config.model_type == "deberta-v2"
    assert list(model.config.id2label.values()) == ["fairness", "relevance", "fluency"]
    with torch.no_grad():
        logits = model(**tok(["who is good"], ["the rider is good"], return_tensors="pt")).logits
    assert logits.shape == (1, 3)
