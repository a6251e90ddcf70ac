"""The per-output ``fairguard`` record: scores, decision, action, errors and latency."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DECISIONS = ("pass", "flag", "block")
ACTIONS = ("none", "reranked", "rewritten", "refused")


@dataclass
class PluginFailure:
    """One plugin call that raised, returned NaN/malformed output, or timed out; or text the
    guard did not read (plugin ``guard``, kind ``unread``: a completion past ``max_chars``)."""

    plugin: str
    stage: str  # "score", "rewrite" or "logits_processor"
    kind: str  # "error", "nan", "timeout" or "unread"
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"plugin": self.plugin, "stage": self.stage, "kind": self.kind, "message": self.message}


@dataclass
class GuardRecord:
    """What the guard decided about one output.

    ``scores`` holds every head and ``total`` (``None`` where a plugin failed); ``decision`` is
    ``pass``, ``flag`` or ``block``; ``action`` is ``none``, ``reranked``, ``rewritten`` or
    ``refused``; ``text`` is the completion to show (the refusal text when refused).
    ``latency`` is in milliseconds for the whole guarded call that produced this output.
    """

    text: str
    scores: dict[str, float | None]
    decision: str
    action: str
    candidates: int = 1
    candidate_totals: list[float | None] = field(default_factory=list)
    below: list[str] = field(default_factory=list)  # thresholds not met by the returned text
    errors: list[PluginFailure] = field(default_factory=list)
    fail_policy: str = "closed"
    strategy: str = "score"
    original: str | None = None  # the best generated text, when rewritten or refused
    notes: list[str] = field(default_factory=list)
    latency: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.decision == "pass"

    def to_dict(self, include_text: bool = True) -> dict[str, Any]:
        """A plain, JSON-serialisable dict (the pipeline entry leaves out ``text``)."""
        data: dict[str, Any] = {
            "scores": dict(self.scores),
            "decision": self.decision,
            "action": self.action,
            "candidates": self.candidates,
            "candidate_totals": list(self.candidate_totals),
            "below": list(self.below),
            "errors": [e.to_dict() for e in self.errors],
            "fail_policy": self.fail_policy,
            "strategy": self.strategy,
            "latency": {k: round(v, 3) for k, v in self.latency.items()},
        }
        if self.original is not None:
            data["original"] = self.original
        if self.notes:
            data["notes"] = list(self.notes)
        if include_text:
            data = {"text": self.text, **data}
        return data
