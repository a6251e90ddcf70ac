import pytest
import torch
from refine_data import Q, ambiguous, disambiguated

from fairguard.errors import DataError
from fairguard.refine.answer_slot import build_slot, build_slots, lm_kind, prompt_format, subject_scores
from fairguard.testing import tiny_causal_lm, tiny_masked_lm


def _q(x1, x2, order="12", answer=None):
    subjects = (x1, x2) if order == "12" else (x2, x1)
    return Q("q", "gender", "t1", f"the {subjects[0]} and the {subjects[1]} said yes .",
             "who is lazy ?", "lazy", "lazy", "pos", x1, x2, order, subjects, answer)


def test_lm_kind_from_config():
    masked, mtok = tiny_masked_lm()
    causal, ctok = tiny_causal_lm()
    assert lm_kind(masked.config) == "masked"
    assert lm_kind(causal.config) == "causal"
    assert prompt_format(mtok, "masked") == "mask"
    assert prompt_format(ctok, "causal") == "plain"


def test_masked_slot_is_the_mask_and_subjects_are_their_tokens():
    _, tok = tiny_masked_lm()
    slot = build_slot(tok, _q("man", "woman"), "mask")
    assert slot.input_ids[slot.slot] == tok.mask_token_id
    assert slot.subject_ids == (tok.convert_tokens_to_ids("man"), tok.convert_tokens_to_ids("woman"))
    assert slot.input_ids[0] == tok.cls_token_id and slot.answer is None


def test_shared_prefix_moves_the_slot_to_where_subjects_diverge():
    _, tok = tiny_causal_lm()
    slot = build_slot(tok, _q("migrant worker", "migrant teacher"), "plain")
    assert slot.input_ids[-1] == tok.convert_tokens_to_ids("migrant")  # shared token appended
    assert slot.slot == len(slot.input_ids) - 1
    assert slot.subject_ids == (tok.convert_tokens_to_ids("worker"), tok.convert_tokens_to_ids("teacher"))


def test_indistinguishable_subjects_are_skipped():
    _, tok = tiny_masked_lm()
    kept, slots, skipped = build_slots(tok, [_q("migrant", "migrant worker"), _q("man", "woman")], "masked")
    assert skipped == 1 and len(kept) == len(slots) == 1


def test_answer_index_and_bad_answer():
    _, tok = tiny_masked_lm()
    assert build_slot(tok, _q("man", "woman", answer="woman"), "mask").answer == 1
    with pytest.raises(DataError, match="neither x1"):
        build_slot(tok, _q("man", "woman", answer="teacher"), "mask")


def test_chat_template_is_used_when_present():
    _, tok = tiny_causal_lm()
    tok.chat_template = "{% for m in messages %}{{ m['content'] }} {% endfor %}"
    assert prompt_format(tok, "causal") == "chat"
    slot = build_slot(tok, disambiguated(["man", "woman"])[0], "chat")
    assert slot.answer in (0, 1) and slot.slot == len(slot.input_ids) - 1


def test_subject_scores_on_hand_made_distributions():
    probs = torch.tensor([[0.5, 0.3, 0.2], [0.6, 0.4, 0.0]])
    ids = torch.tensor([[10, 11, 12], [12, 13, 10]])
    subjects = torch.tensor([[11, 10], [10, 99]])
    out = subject_scores(probs, ids, subjects)
    assert torch.allclose(out, torch.tensor([[0.3, 0.5], [0.0, 0.0]]))


def test_all_generated_questions_have_slots():
    _, tok = tiny_masked_lm()
    qs = ambiguous(["man", "woman", "teacher"])
    kept, _, skipped = build_slots(tok, qs, "masked")
    assert skipped == 0 and len(kept) == len(qs)


def test_answer_prefix_starts_the_causal_answer_and_is_ignored_for_masked_lms():
    _, tok = tiny_causal_lm()
    slot = build_slot(tok, _q("man", "woman"), "plain", "the answer is")
    assert list(slot.input_ids[-3:]) == tok.convert_tokens_to_ids(["the", "answer", "is"])
    _, mtok = tiny_masked_lm()
    assert build_slot(mtok, _q("man", "woman"), "mask", "the answer is") == build_slot(mtok, _q("man", "woman"), "mask")
