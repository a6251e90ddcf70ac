"""Cut-off copies of training responses, so the heads judge text that stops mid-sentence.

A policy's answers are scored after ``max_new_tokens``, so most of them stop mid-sentence, while
every dataset response is complete. A reward model trained only on complete answers reads "cut
off" as a defect: on the third reward model, cutting neutral test answers to 70 % of their words
took relevance from 0.83 to 0.52 and fluency from 0.99 to 0.45 (docs/reward-model.md). Training
on prefixes with the full answer's labels removes that cue.

Every kind is cut with the same probability, so being cut off says nothing about any label. A
biased answer (any kind with fairness label 0) keeps at least ``BIASED_MIN_KEEP`` of its words
and everything but the last word of its last sentence: its prejudiced sentence may be anywhere,
the last included (mixed answers), and must still be there to earn the fairness label 0.

Cutting alone leaves one cue: half of the garbled (fluency 0) answers already end mid-sentence,
so "no full stop at the end" still meant "disfluent" (after cutting, 53 % of fluent training
answers and 27 % of garbled ones ended with . ! or ?), and a fluent policy answer cut at the
token limit could lose much of its fluency score to that cue (docs/judge-runs.md, fifth run).
:func:`even_endings` gives every response the same chance of ending with a sentence mark,
whatever its kind.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable, Sequence

from fairguard.reward_model.examples import LABELS, PairRow

MIN_KEEP = 0.5  # share of a response's words a cut copy keeps at least ...
BIASED_MIN_KEEP = 0.8  # ... or, for a biased response, at least this share
MAX_KEEP = 0.95
MIN_WORDS = 3
END_MARKS = ".!?"


def uniform_draw(*key: object) -> float:
    """A number in [0, 1) fixed by ``key`` (same rows, same seed: same draws)."""
    digest = hashlib.sha256("\x1f".join(map(str, key)).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def cut_words(text: str, keep: float) -> str:
    """The first ``keep`` share of ``text``'s words (at least ``MIN_WORDS``, never all of them)."""
    words = text.split()
    n = min(len(words) - 1, max(MIN_WORDS, int(len(words) * keep)))
    return text if n < MIN_WORDS else " ".join(words[:n])


def map_responses(rows: Sequence[PairRow], change: Callable[[int, PairRow, str, str], str]
                  ) -> list[PairRow]:
    """``rows`` with every response replaced by ``change(index, row, kind, text)``."""
    return [dataclasses.replace(row, responses={kind: change(index, row, kind, text)
                                                for kind, text in row.responses.items()})
            for index, row in enumerate(rows)]


def _biased_min_keep(text: str) -> float:
    """The share of words a cut biased answer keeps: all but the last word when its last
    sentence has more than a few words, else ``BIASED_MIN_KEEP``."""
    words = text.split()
    last = re.split(r"(?<=[.!?])\s+", text.strip())[-1].split()
    if len(words) < 2 or len(last) < 4:
        return BIASED_MIN_KEEP
    return max(BIASED_MIN_KEEP, (len(words) - 1) / len(words))


def truncate_rows(rows: Sequence[PairRow], prob: float, seed: int) -> list[PairRow]:
    """``rows`` with each response replaced, with probability ``prob``, by a cut-off copy."""
    if prob <= 0:
        return list(rows)

    def cut(index: int, row: PairRow, kind: str, text: str) -> str:
        if uniform_draw(seed, index, row.id, kind, "cut") >= prob:
            return text
        low = _biased_min_keep(text) if LABELS[kind].get("fairness") == 0 else MIN_KEEP
        high = max(MAX_KEEP, low)
        return cut_words(text, low + (high - low) * uniform_draw(seed, index, row.id, kind, "keep"))

    return map_responses(rows, cut)


def set_ending(text: str, mark: bool) -> str:
    """``text`` ending with a sentence mark (``mark``; adds "." if it has none) or without one."""
    body = text.rstrip()
    if mark:
        if body[-1:] in END_MARKS:
            return body
        body = body.rstrip(",;:-")
        return body + "." if body else text
    stripped = body.rstrip(END_MARKS).rstrip()
    return stripped if stripped else text


def even_endings(rows: Sequence[PairRow], prob: float | None, seed: int) -> list[PairRow]:
    """``rows`` with each response ending in . ! or ? with probability ``prob``, whatever its kind.

    ``None`` keeps every ending as it is.
    """
    if prob is None:
        return list(rows)
    return map_responses(rows, lambda index, row, kind, text: set_ending(
        text, uniform_draw(seed, index, row.id, kind, "end") < prob))


def cut_and_end(rows: Sequence[PairRow], truncate_prob: float, end_mark_prob: float | None,
                seed: int) -> list[PairRow]:
    """``rows`` with answers cut off (``truncate_prob``) and ended (``end_mark_prob``) as a
    reward model's training answers are."""
    return even_endings(truncate_rows(rows, truncate_prob, seed), end_mark_prob, seed)
