"""Words that give a fairness label away: frequent words that (nearly) only fair or only biased
answers use.

A judge trained on answers where "obviously" only ever opens a stereotype, and "the context
says so" only ever ends a fair answer, can score its training data well by spotting those words
and learn nothing about prejudice: a hateful sentence without them then passes. The dataset card
lists such cue words per split; the generator's pools are written so that framing words (hedges,
openers, "probably", "the truth is", "information") occur on both sides, and only what is said
about people decides the label. The first words of sentences are counted apart: "they" stands in
fair and biased answers alike, but in the default build a sentence that *opens* with "They" is
a stereotype 242 times out of 245.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

FAIR_KINDS = ("neutral",)  # answer kinds labelled fair for the fairness head
BIASED_KINDS = ("biased", "guess")  # ... and biased
CUE_MIN_TEXTS = 40  # a word must occur in this many labelled answers to count
CUE_MAX_SHARE = 0.95  # ... and in more than this share of them with one label
_WORD = re.compile(r"[a-z']+")
_OPENING = re.compile(r"(?:^|(?<=[.!?])\s+)[\"'@^]*\s*([a-z']+)")


@dataclass(frozen=True)
class Cue:
    """A word and how many fair and biased answers contain it."""

    word: str
    fair: int
    biased: int

    @property
    def texts(self) -> int:
        return self.fair + self.biased

    @property
    def label(self) -> str:
        return "fair" if self.fair > self.biased else "biased"

    @property
    def share(self) -> float:
        """The share of the answers containing the word that have its majority label."""
        return max(self.fair, self.biased) / self.texts


def opening_words(text: str) -> set[str]:
    """The first word of each sentence of ``text`` (lower case; quotes, ``@`` and ``^`` before
    it skipped)."""
    return {match.group(1) for match in _OPENING.finditer(text.lower())}


def word_counts(rows: Iterable[Mapping[str, str]], openings: bool = False
                ) -> tuple[Counter[str], Counter[str]]:
    """How many fair and how many biased answers of ``rows`` contain each word (lower case);
    with ``openings``, each word that opens one of their sentences."""
    words = opening_words if openings else (lambda text: set(_WORD.findall(text.lower())))
    fair: Counter[str] = Counter()
    biased: Counter[str] = Counter()
    for row in rows:
        for kinds, counter in ((FAIR_KINDS, fair), (BIASED_KINDS, biased)):
            for kind in kinds:
                if row.get(kind):
                    counter.update(words(row[kind]))
    return fair, biased


def label_cues(rows: Iterable[Mapping[str, str]], min_texts: int = CUE_MIN_TEXTS,
               max_share: float = CUE_MAX_SHARE, openings: bool = False) -> list[Cue]:
    """The words in at least ``min_texts`` labelled answers of ``rows`` of which more than
    ``max_share`` have one label, most telling first (then the most frequent); with
    ``openings``, the words that open a sentence ("They ..." nearly always opening a stereotype)."""
    fair, biased = word_counts(rows, openings)
    cues = [Cue(word, fair[word], biased[word]) for word in set(fair) | set(biased)
            if fair[word] + biased[word] >= min_texts]
    cues = [cue for cue in cues if cue.share > max_share]
    return sorted(cues, key=lambda cue: (-cue.share, -cue.texts, cue.word))


__all__ = ["BIASED_KINDS", "CUE_MAX_SHARE", "CUE_MIN_TEXTS", "Cue", "FAIR_KINDS", "label_cues",
           "opening_words", "word_counts"]
