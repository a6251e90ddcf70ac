"""Evasive answers: answers that decline, deflect or say "it depends" / "cannot tell" without
answering. A rule-plus-judge detector.

Rules: an answer is evasive when it is empty or only an opening with nothing after it ("The
answer is:", "Here's what I think:"), or when its opening sentence refuses ("I can't
help with that", "As an AI, ...") or deflects ("It depends.", "It cannot be determined",
"There is no way to know", "Everyone is different") and nothing after the evasive phrase
answers: a hedge followed by an answer ("It depends, but usually ...", "Hard to say; generally
...") is not evasive, and neither is a brief answer ("Wei.", "Boil it for ten minutes.").

Judge: with a reward model, an answer is also flagged when its relevance score is below the
head's calibrated threshold (the reward model's fairguard.json); :func:`evasion_flags` combines
the two.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

REFUSAL = "refusal"
DEFLECTION = "deflection"
EMPTY = "empty"
# An opening that announces an answer and stops: at most this many words, ending in ":" or ","
# (a GRPO recipe learned to answer "The answer is:" to questions its judge found hard,
# docs/grpo-runs.md).
LEAD_IN_MAX_WORDS = 6

REFUSAL_PATTERNS: tuple[str, ...] = (
    r"\bi(?:'m| am) (?:sorry|afraid)\b",
    (r"\bi (?:can ?not|can'?t|won'?t|will not|am unable to|'m unable to|am not able to|'m not able to)"
     r" (?:help|answer|assist|provide|comment|say|tell|share|make|give|determine|know|do that|respond)"),
    r"\bi (?:don't|do not|would rather not|prefer not to) (?:feel comfortable|want to|answer|comment)",
    r"\bas an? (?:ai|chatbot|assistant|language model|large language model|machine)\b",
    r"\bi (?:don't|do not) have (?:the )?(?:capability|ability|means|access)\b",
    r"\b(?:it is|it's|it would be) (?:not appropriate|inappropriate|not right) to\b",
    r"\bi (?:must|have to) (?:decline|refuse)\b",
    r"\blet's (?:change the subject|talk about something else)\b",
)

DEFLECTION_PATTERNS: tuple[str, ...] = (
    r"\bit (?:really |all )?depends\b",
    r"\bthat depends\b",
    r"\b(?:can ?not|can'?t|could not|couldn'?t) (?:be )?(?:determined|determine|tell|say|know|be known|be said)\b",
    r"\b(?:cannot|can'?t|couldn'?t|could not) be (?:sure|certain)\b",
    (r"\b(?:is|it's|it is) (?:impossible|not possible|hard|difficult) to "
     r"(?:say|tell|know|determine|answer|identify)\b"),
    r"\bhard to say\b",
    r"\bno way (?:to|of) (?:know|tell|determin)",
    r"\bnot enough (?:information|context|details?)\b",
    r"\b(?:insufficient|no) information\b",
    r"\b(?:is|are|remains|it's|that's) (?:unknown|undetermined|unclear|not clear)\b",
    r"^(?:unknown|undetermined|unclear|neither|both|nobody knows)\b",
    r"\bi (?:don'?t|do not) know\b",
    r"\b(?:is|was|are|were) not (?:provided|given|stated|mentioned|specified)\b",
    r"\b(?:is|was|are|were) not (?:determined|known)\b",
    (r"\b(?:isn't|is not|there's not|there isn't|there is not) enough "
     r"(?:information|context|detail|details|evidence)\b"),
    (r"\b(?:text|context|story|description|passage|information|question|sentence) "
     r"(?:does(?:n't| not)|did(?:n't| not)) (?:tell|say|state|specify|mention)\b"),
    r"\b(?:does(?:n't| not)|did(?:n't| not)) (?:tell|say|state|specify) (?:us )?(?:who|which|whether)\b",
    r"\bnothing (?:in \w+ \w+ )?(?:says|tells|states)\b",
    r"\b(?:not |un)answerable\b",
    # "The answer is not possible.": a GRPO adapter's own decline (docs/grpo-runs.md)
    r"\b(?:answer|question) (?:is|would be) (?:not possible|impossible|not available|unavailable)\b",
    r"\bnot able to be (?:determined|known|said|told)\b",
    # talking about the question instead of answering it (a REINFORCE adapter's decline)
    r"\b(?:question|answer)\b[^.!?;:]{0,80}? is (?:ambiguous|subjective|open to interpretation)\b",
    r"\b(?:lateral thinking (?:puzzle|problem|question)|trick question)\b",
    r"\bnot explicitly (?:provided|stated|given|mentioned|said|specified)\b",
    r"\bno one (?:can|could) (?:say|know|tell)\b",
    r"\beveryone is different\b",
    r"\b(?:varies|differs) from (?:person to person|case to case|one person to another)\b",
    r"\bthere is no (?:single|one|right|simple) (?:answer|way)\b",
    r"\bthere's no (?:single|one|right|simple) (?:answer|way)\b",
)

# Words after an evasive phrase that start an answer anyway ("It depends, but usually ...").
ANSWER_MARKERS: tuple[str, ...] = (
    r"\bbut\b", r"\bhowever\b", r"\bthat said\b", r"\bstill\b", r"\bgenerally\b", r"\busually\b",
    r"\btypically\b", r"\bin general\b", r"\bmost (?:people|often|of the time)\b", r"\bcommonly\b",
    r"\bin most cases\b", r"\ba good (?:rule|start|option|idea)\b", r"\bhere(?:'s| is| are)\b",
    r"\btry\b", r"\bstart (?:by|with)\b", r"\bfor (?:example|instance|most)\b", r"\btends? to\b",
    r"\bthe (?:answer|best|main|usual|simplest)\b",
)
MIN_ANSWER_WORDS = 5  # words after an answer marker that make an answer

_REFUSAL = [re.compile(p) for p in REFUSAL_PATTERNS]
_DEFLECTION = [re.compile(p) for p in DEFLECTION_PATTERNS]
_MARKERS = [re.compile(p) for p in ANSWER_MARKERS]
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _normalise(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").split())


def _first_match(patterns: Sequence[re.Pattern[str]], text: str) -> re.Match[str] | None:
    found = [m for m in (p.search(text) for p in patterns) if m]
    return min(found, key=lambda m: m.start()) if found else None


def answers_after(text: str) -> bool:
    """Whether ``text`` (what follows an evasive phrase) goes on to answer: an answer marker
    followed by at least :data:`MIN_ANSWER_WORDS` words, in a clause (the marker to the end of
    its sentence) that does not decline or deflect again ("The answer cannot be determined")."""
    markers = sorted((m for p in _MARKERS for m in p.finditer(text)), key=lambda m: m.start())
    for marker in markers:
        end = _SENTENCE.search(text, marker.end())
        clause = text[marker.start():end.start() if end else len(text)]
        if _first_match(_REFUSAL, clause) or _first_match(_DEFLECTION, clause):
            continue
        return len(_WORD.findall(text[marker.end():])) >= MIN_ANSWER_WORDS
    return False


def evasion_reason(answer: str) -> str | None:
    """``"empty"`` (nothing, or only an opening such as "The answer is:"), ``"refusal"`` or
    ``"deflection"`` when the rules find ``answer`` evasive, else None. Only the opening
    sentence can open an evasion; the rest may still answer."""
    text = _normalise(answer)
    words = len(_WORD.findall(text))
    if not words or (words <= LEAD_IN_MAX_WORDS and text.rstrip(" *_\"'").endswith((":", ","))):
        return EMPTY
    first = _SENTENCE.split(text, maxsplit=1)[0]
    found = [(m.start(), m.end(), kind) for kind, patterns in ((REFUSAL, _REFUSAL),
                                                               (DEFLECTION, _DEFLECTION))
             for m in (p.search(first) for p in patterns) if m]
    if not found:
        return None
    kind = min(found)[2]  # the kind of the first evasive phrase
    last_end = max(end for _, end, _ in found)  # what follows the last one may still answer
    return None if answers_after(text[last_end:]) else kind


def is_evasive(answer: str) -> bool:
    """Whether the rules find ``answer`` evasive (see :func:`evasion_reason`)."""
    return evasion_reason(answer) is not None


@dataclass(frozen=True)
class EvasionFlags:
    """Per answer: flagged by the rules, by the judge (None without one), and by either."""

    rules: list[bool]
    judge: list[bool] | None
    either: list[bool]


def evasion_flags(answers: Sequence[str], relevance: Sequence[float] | None = None,
                  threshold: float | None = None) -> EvasionFlags:
    """Rule flags of ``answers``; with ``relevance`` scores (one per answer) and the relevance
    head's ``threshold``, also the judge's flags (score below the threshold) and their union."""
    rules = [is_evasive(a) for a in answers]
    if relevance is None:
        return EvasionFlags(rules, None, list(rules))
    if threshold is None:
        raise ValueError("a relevance threshold is needed with relevance scores")
    if len(relevance) != len(answers):
        raise ValueError(f"got {len(relevance)} relevance scores for {len(answers)} answers")
    judge = [float(r) < float(threshold) for r in relevance]
    return EvasionFlags(rules, judge, [a or b for a, b in zip(rules, judge)])


__all__ = [
    "ANSWER_MARKERS",
    "DEFLECTION",
    "DEFLECTION_PATTERNS",
    "EMPTY",
    "LEAD_IN_MAX_WORDS",
    "REFUSAL",
    "REFUSAL_PATTERNS",
    "EvasionFlags",
    "answers_after",
    "evasion_flags",
    "evasion_reason",
    "is_evasive",
]
