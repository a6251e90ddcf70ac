"""Disguised words made plain before the judge reads them.

People who want hateful text past a filter write its key words in disguise: digits and symbols
for letters (``h4te``, ``p3r$0n``), letters spaced apart (``h a t e``, ``h.a.t.e``) or a vowel
masked (``h*te``). A subword tokenizer breaks such a word into pieces the model has rarely seen
together, and the judge misses what a reader sees at once. :class:`Undisguiser` rewrites a word
only when the plain spelling is one the judge's own tokenizer knows better (fewer pieces, at most
:data:`MAX_PIECES` or one per three letters), so ordinary text (``5th``, ``mp3``, ``covid19``,
names) passes unchanged.
"""

from __future__ import annotations

import itertools
import re
from typing import Any, Callable, Sequence

LEET = {"0": "o", "1": "il", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
VOWELS = "aeiou"
MIN_LETTERS = 4  # shorter words are left alone: too many plain words are one mapping away
MAX_PIECES = 2  # a revealed word must be (nearly) whole in the tokenizer's vocabulary
MAX_VARIANTS = 64
UNREADABLE = 1_000  # the piece count of a word with an unknown token in it

_WORD = re.compile(r"[A-Za-z0-9@$!*]*[A-Za-z][A-Za-z0-9@$!*]*")
_SPACED = re.compile(r"(?<![\w.\-])[A-Za-z](?P<sep>[ .\-_])[A-Za-z](?:(?P=sep)[A-Za-z]){2,}(?![\w\-])")
_HAS_SIGN = re.compile(r"[0-9@$!*]")
# A word's disguise marks only count inside it: "@name", "$5", "great!" and "*bold*" are not disguises.
_EDGE = re.compile(r"^[@$!*]+|[@$!*]+$")


def _piece_counter(tokenizer: Any) -> Callable[[str], int]:
    unk = getattr(tokenizer, "unk_token_id", None)
    if getattr(tokenizer, "is_fast", False):
        from fairguard.reward_model.windows import plain_rust_tokenizer

        rust = plain_rust_tokenizer(tokenizer)

        def count(word: str) -> int:
            ids = rust.encode(word, add_special_tokens=False).ids
            return UNREADABLE if unk is not None and unk in ids else len(ids)
        return count

    def count_slow(word: str) -> int:
        ids = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(word))
        return UNREADABLE if unk is not None and unk in ids else len(ids)
    return count_slow


class Undisguiser:
    """Reveal disguised words for one tokenizer; ``reveal(text) -> text``."""

    def __init__(self, tokenizer: Any, max_pieces: int = MAX_PIECES):
        self._count = _piece_counter(tokenizer)
        self.max_pieces = max_pieces
        self._pieces: dict[str, int] = {}
        self._words: dict[str, str] = {}

    def pieces(self, word: str) -> int:
        """How many tokens the tokenizer makes of ``word``; a word it cannot read
        (an unknown token among them) counts as :data:`UNREADABLE` (cached)."""
        n = self._pieces.get(word)
        if n is None:
            n = self._count(word)
            if len(self._pieces) < 100_000:
                self._pieces[word] = n
        return n

    def _best(self, original: str, candidates: Sequence[str]) -> str:
        """The candidate with the fewest pieces when it beats ``original`` and is nearly whole:
        at most ``max_pieces`` pieces, or one per 3 letters in longer words (``dishonest``)."""
        best, best_n = original, self.pieces(original)
        for candidate in candidates:
            n = self.pieces(candidate)
            if n < best_n and n <= max(self.max_pieces, len(candidate) // 3):
                best, best_n = candidate, n
        return best

    def _reveal_word(self, word: str) -> str:
        inner = _EDGE.sub("", word)
        if len(inner) < MIN_LETTERS or not _HAS_SIGN.search(inner):
            return word
        cached = self._words.get(word)
        if cached is not None:
            return cached
        options = [LEET.get(c, VOWELS if c == "*" else c) for c in inner]
        variants = ["".join(v) for v in itertools.islice(itertools.product(*options), MAX_VARIANTS)]
        plain = [v for v in variants if v.isalpha()]
        best = self._best(inner, plain)
        revealed = word.replace(inner, best, 1) if best != inner else word
        if len(self._words) < 100_000:
            self._words[word] = revealed
        return revealed

    def _join(self, match: re.Match[str]) -> str:
        spaced = match.group(0)
        joined = spaced.replace(match.group("sep"), "")
        return joined if self._best(spaced, [joined]) == joined else spaced

    def reveal(self, text: str) -> str:
        """``text`` with each disguised word in its plain spelling (unchanged when none is)."""
        if not _HAS_SIGN.search(text) and not _SPACED.search(text):
            return text
        text = _SPACED.sub(self._join, text)
        return _WORD.sub(lambda m: self._reveal_word(m.group(0)), text)

    def reveal_all(self, texts: Sequence[str]) -> list[str]:
        """:meth:`reveal` of each text."""
        return [self.reveal(t) for t in texts]

    def reveal_pairs(self, prompts: Sequence[str], responses: Sequence[str]
                     ) -> tuple[list[str], list[str]]:
        """:meth:`reveal` of both sides of each (prompt, response) pair."""
        return self.reveal_all(prompts), self.reveal_all(responses)
