"""The guard's working state for one decision: scored candidates, the output slot each prompt
fills, and the :class:`GuardRecord` a finished slot becomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from fairguard.guard.config import GuardConfig
from fairguard.guard.result import GuardRecord, PluginFailure

# regenerate(filter_index, group_indices) -> one list of completions per group index
Regenerate = Callable[[int, list[int]], list[list[str]]]


@dataclass
class Candidate:
    """One scored completion."""

    text: str
    scores: dict[str, float | None]
    total: float | None  # None when a weighted head could not be scored
    partial: float  # weighted sum over the heads that were scored (ranks under fail="open")
    failures: list[PluginFailure]
    rewritten: bool = False


@dataclass
class Slot:
    """One output being decided: its group (prompt), its current and original best text."""

    group: int
    prompt: str
    current: Candidate
    original: Candidate
    group_size: int
    candidate_totals: list[float | None]
    considered: int
    extra_failures: list[PluginFailure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def make_record(slot: Slot, below: list[str], cfg: GuardConfig) -> GuardRecord:
    """The record of a decided slot: its text, decision and action under the guard's policies;
    ``below`` names the thresholds its current text does not meet."""
    cur = slot.current
    failing = bool(below) or (cfg.fail == "closed" and bool(cur.failures))
    errors = list(cur.failures) + list(slot.extra_failures)
    text = cur.text
    original = None
    if failing and cfg.below == "refuse":
        decision, action = "block", "refused"
        text, original = cfg.refusal_text, cur.text
    else:
        decision = "pass" if not failing else ("flag" if cfg.below == "flag" else "block")
        if cur.rewritten:
            action, original = "rewritten", slot.original.text
        elif cfg.strategy != "score" and slot.group_size > 1:
            action = "reranked"
        else:
            action = "none"
    return GuardRecord(
        text=text, scores=dict(cur.scores), decision=decision, action=action,
        candidates=slot.considered, candidate_totals=list(slot.candidate_totals), below=below,
        errors=errors, fail_policy=cfg.fail, strategy=cfg.strategy, original=original,
        notes=list(slot.notes))
