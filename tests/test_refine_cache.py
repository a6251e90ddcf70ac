import pytest
import torch
from refine_data import ambiguous

from fairguard.errors import ConfigError, DataError
from fairguard.refine.answer_slot import build_slots
from fairguard.refine.cache import MIN_PREFIX, check_k, common_prefix_length, compute_topk
from fairguard.testing import tiny_causal_lm, tiny_masked_lm

SUBJECTS = ["man", "woman", "teacher", "nurse"]


def _one_by_one(model, slot, k):
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([slot.input_ids])).logits[0, slot.slot]
    return logits.float().log_softmax(-1).topk(k)


@pytest.mark.parametrize("kind", ["masked", "causal"])
def test_batched_topk_equals_unpadded_forward(kind):
    model, tok = tiny_masked_lm() if kind == "masked" else tiny_causal_lm()
    if kind == "causal":  # a shared preamble, so the prefix key/value cache is used
        tok.chat_template = "the answer to the question is one of them . {{ messages[1]['content'] }}"
    qs = ambiguous(SUBJECTS)[:20]
    # different lengths so that padding happens inside a batch
    qs = [q if i % 2 else type(q)(**{**q.__dict__, "context": q.context + " in the city of beijing ."})
          for i, q in enumerate(qs)]
    _, slots, _ = build_slots(tok, qs, kind)
    if kind == "causal":
        assert common_prefix_length(slots) >= MIN_PREFIX
    topk = compute_topk(model, slots, 5, kind, tok.pad_token_id, batch_size=7)
    assert topk.logprobs.shape == (20, 5) and topk.ids.shape == (20, 5)
    for i in (0, 1, 13):
        values, ids = _one_by_one(model, slots[i], 5)
        assert torch.equal(topk.ids[i], ids)
        assert torch.allclose(topk.logprobs[i], values, atol=1e-4)


def test_disk_cache_is_reused_and_not_recomputed(tmp_path):
    model, tok = tiny_masked_lm()
    _, slots, _ = build_slots(tok, ambiguous(SUBJECTS)[:8], "masked")
    first = compute_topk(model, slots, 4, "masked", tok.pad_token_id, cache_dir=tmp_path, fingerprint="f")
    assert len(list(tmp_path.glob("topk-*.safetensors"))) == 1

    def broken(*args, **kwargs):
        raise AssertionError("the LM ran again")

    model.forward = broken
    again = compute_topk(model, slots, 4, "masked", tok.pad_token_id, cache_dir=tmp_path, fingerprint="f")
    assert torch.equal(first.ids, again.ids) and torch.equal(first.logprobs, again.logprobs)
    with pytest.raises(AssertionError, match="ran again"):  # another k is another key
        compute_topk(model, slots, 3, "masked", tok.pad_token_id, cache_dir=tmp_path, fingerprint="f")


def test_k_larger_than_vocabulary_and_empty_sets():
    model, tok = tiny_masked_lm()
    _, slots, _ = build_slots(tok, ambiguous(SUBJECTS)[:2], "masked")
    with pytest.raises(ConfigError, match="larger than the model's vocabulary"):
        compute_topk(model, slots, len(tok) + 1, "masked", tok.pad_token_id)
    with pytest.raises(ConfigError, match=">= 2"):
        check_k(1, 100)
    with pytest.raises(DataError, match="no questions"):
        compute_topk(model, [], 4, "masked", tok.pad_token_id)
