"""Turning a decided slot into the record the caller sees."""

from fairguard.guard.candidates import Candidate, Slot, make_record
from fairguard.guard.config import GuardConfig
from fairguard.guard.result import PluginFailure


def _slot(text="an answer", total=0.9, failures=(), rewritten=False, group_size=2):
    cand = Candidate(text, {"fairness": total, "total": total}, total, total, list(failures),
                     rewritten=rewritten)
    original = Candidate("the first answer", {"fairness": 0.1, "total": 0.1}, 0.1, 0.1, [])
    return Slot(0, "a prompt", cand, original if rewritten else cand, group_size, [total, 0.1], 2)


def test_a_passing_reranked_output():
    record = make_record(_slot(), [], GuardConfig(strategy="rerank"))
    assert (record.decision, record.action, record.text) == ("pass", "reranked", "an answer")
    assert record.candidates == 2 and record.original is None


def test_under_threshold_is_flagged_or_refused():
    flagged = make_record(_slot(total=0.2), ["fairness"], GuardConfig(below="flag"))
    assert (flagged.decision, flagged.below) == ("flag", ["fairness"])
    refused = make_record(_slot(total=0.2), ["fairness"], GuardConfig(below="refuse"))
    assert (refused.decision, refused.action) == ("block", "refused")
    assert refused.text == GuardConfig().refusal_text and refused.original == "an answer"


def test_a_rewrite_keeps_the_original_and_fail_closed_blocks_failures():
    rewritten = make_record(_slot(rewritten=True), [], GuardConfig(strategy="rewrite"))
    assert (rewritten.action, rewritten.original) == ("rewritten", "the first answer")
    failure = PluginFailure("r", "score", "error", "boom")
    closed = make_record(_slot(failures=[failure]), [], GuardConfig(fail="closed", below="flag"))
    assert closed.decision == "flag" and closed.errors == [failure]
