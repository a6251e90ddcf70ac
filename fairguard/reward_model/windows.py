"""Scoring answers of any length: sentence windows that each fit the reward model, combined per head.

The reward model reads ``max_length`` tokens of ``[CLS] prompt [SEP] response [SEP]``. A longer
response is cut into windows of consecutive sentences that fit together with the prompt (the
prompt keeps its end and takes at most about a third of the tokens); consecutive windows share
one sentence, so every sentence boundary is read in context. All windows of all pairs are
scored in one batched call, then each head combines its windows by its rule in
:data:`COMBINE`:

- ``fairness``: the minimum (a text is as fair as its worst part),
- ``relevance``: the maximum (an answer is relevant when some passage addresses the prompt;
  later passages read without the earlier ones would otherwise look off topic),
- ``fluency`` and any other head: the mean weighted by each window's response tokens.

A pair that fits in ``max_length`` is one window, the pair itself, tokenised as before, so its
scores do not change.

A :class:`WindowCache` remembers the scores of the windows of long responses, so scoring a text
again after it grew (a streamed answer checked at every sentence) scores only the windows that
changed: windows are packed from the start of the text, so all but the last one stay the same.
"""

from __future__ import annotations

import bisect
import re
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from fairguard.errors import ConfigError

# How each head combines its windows' scores ("mean": weighted by each window's response tokens);
# heads not listed use DEFAULT_COMBINE.
COMBINE: dict[str, str] = {"fairness": "min", "relevance": "max", "fluency": "mean"}
DEFAULT_COMBINE = "mean"
PROMPT_SHARE = 1 / 3  # the most of the token budget the prompt gets in a multi-window response
WINDOW_CACHE = 4096  # windows whose scores a scorer remembers by default (0: none)

# A sentence ends at . ! ? or … (with closing quotes/brackets) before whitespace, after CJK
# sentence marks, and at every line break (so bullet and numbered lists split per item).
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)|[。！？]+[\"'”’」』)]*|\n")
# Words whose final period does not end a sentence.
_ABBREVIATIONS = frozenset({"e.g", "i.e", "vs", "mr", "mrs", "ms", "dr", "prof", "cf", "approx"})

ScorePairs = Callable[[list[str], list[str]], np.ndarray]


def combine_rules(heads: Sequence[str]) -> dict[str, str]:
    """``{head: "min" | "max" | "mean"}``: how each head combines its windows."""
    return {head: COMBINE.get(head, DEFAULT_COMBINE) for head in heads}


def _is_abbreviation(text: str, mark_start: int) -> bool:
    """Whether the period at ``mark_start`` closes an abbreviation, an initial ("J. Smith") or
    the number of a list item ("2. Check the references")."""
    if text[mark_start] != "." or text[mark_start + 1:mark_start + 2] == ".":
        return False
    word = re.search(r"[\w.]*$", text[:mark_start]).group(0)  # type: ignore[union-attr]
    if word.isdigit():
        line_start = text.rfind("\n", 0, mark_start - len(word)) + 1
        return not text[line_start:mark_start - len(word)].strip()
    return word.lower() in _ABBREVIATIONS or (len(word) == 1 and word.isupper() and word != "I")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` character spans of ``text``'s sentences, stripped of surrounding space."""
    spans: list[tuple[int, int]] = []
    start = 0

    def add(a: int, b: int) -> None:
        piece = text[a:b]
        left = len(piece) - len(piece.lstrip())
        right = len(piece.rstrip())
        if right > left:
            spans.append((a + left, a + right))

    for match in _SENTENCE_END.finditer(text):
        if match.group(0) != "\n" and _is_abbreviation(text, match.start()):
            continue
        add(start, match.end())
        start = match.end()
    add(start, len(text))
    return spans


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` (list items and lines count as sentences), stripped."""
    return [text[a:b] for a, b in sentence_spans(text)]


_COUNTERS: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()
_COUNTERS_LOCK = threading.Lock()


def plain_rust_tokenizer(tokenizer: Any) -> Any:
    """A private copy of a fast tokenizer's Rust tokenizer, without truncation or padding.

    Calling the shared tokenizer with other truncation/padding settings than the scoring call
    would rewrite them on its Rust object, which fails ("Already borrowed") while another
    thread tokenises; the copy is only ever read.
    """
    with _COUNTERS_LOCK:
        counter = _COUNTERS.get(tokenizer)
        if counter is None:
            from tokenizers import Tokenizer

            counter = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
            counter.no_truncation()
            counter.no_padding()
            _COUNTERS[tokenizer] = counter
    return counter


def _token_starts(tokenizer: Any, texts: list[str]) -> list[list[int]]:
    """For each text, the character offset where each of its tokens starts (no special tokens)."""
    if not texts:
        return []
    if getattr(tokenizer, "is_fast", False):
        encodings = plain_rust_tokenizer(tokenizer).encode_batch(texts, add_special_tokens=False)
        return [[start for start, _ in enc.offsets] for enc in encodings]
    # Slow tokenizers have no offsets: count the tokens of every whitespace-separated word.
    counts: dict[str, int] = {}
    out = []
    for text in texts:
        starts: list[int] = []
        for word in re.finditer(r"\S+", text):
            n = counts.get(word.group(0))
            if n is None:
                n = counts[word.group(0)] = len(tokenizer.tokenize(word.group(0)))
            starts.extend([word.start()] * n)
        out.append(starts)
    return out


def _count(starts: list[int], a: int, b: int) -> int:
    """Tokens starting in ``[a, b)``."""
    return bisect.bisect_left(starts, b) - bisect.bisect_left(starts, a)


def _pieces(text: str, starts: list[int], cap: int) -> list[tuple[int, int, int]]:
    """``text`` cut into ``(start, end, tokens)`` pieces that partition it: its sentences, and a
    sentence of more than ``cap`` tokens cut between words (between tokens inside a word longer
    than ``cap``) into parts of at most ``cap`` tokens."""
    spans = sentence_spans(text)
    bounds = [0] + [b for _, b in spans[:-1]] + [len(text)]  # partition: each piece owns its gap
    pieces: list[tuple[int, int, int]] = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        lo, hi = bisect.bisect_left(starts, a), bisect.bisect_left(starts, b)
        while hi - lo > cap:
            cut = lo + cap  # the latest token in reach that starts a word, else a hard cut
            for k in range(lo + cap, lo, -1):
                if text[starts[k]].isspace() or (starts[k] > 0 and text[starts[k] - 1].isspace()):
                    cut = k
                    break
            pieces.append((a, starts[cut], cut - lo))
            a, lo = starts[cut], cut
        pieces.append((a, b, hi - lo))
    return pieces


def _pack(pieces: list[tuple[int, int, int]], budget: int) -> list[tuple[int, int]]:
    """Greedy runs ``(first, stop)`` of consecutive pieces of at most ``budget`` tokens, each run
    starting with the last piece of the one before (unless that run is a single piece)."""
    runs = []
    i = 0
    while True:
        j, total = i, 0
        while j < len(pieces) and (j == i or total + pieces[j][2] <= budget):
            total += pieces[j][2]
            j += 1
        runs.append((i, j))
        if j >= len(pieces):
            return runs
        i = j - 1 if j - 1 > i else j


@dataclass(frozen=True)
class Windows:
    """The windows of a batch of pairs: window ``k`` is ``(prompts[k], responses[k])`` and
    belongs to pair ``owner[k]``; a pair's windows are consecutive and in text order."""

    prompts: list[str]
    responses: list[str]
    owner: np.ndarray  # int, one per window
    tokens: np.ndarray  # the window's response tokens (the weights of a "mean" head)
    pairs: int

    def __len__(self) -> int:
        return len(self.prompts)

    def counts(self) -> np.ndarray:
        """Windows per pair."""
        return np.bincount(self.owner, minlength=self.pairs)


def split_windows(tokenizer: Any, prompts: Sequence[str], responses: Sequence[str],
                  max_length: int) -> Windows:
    """Cut every pair into windows that fit ``max_length`` tokens with their prompt.

    A pair that fits is one window, the pair unchanged. A response that fits next to at most
    a third of the budget's worth of prompt is one window after the prompt (keeping its end)
    is cut to the room left. Longer responses are packed sentence by sentence, with the prompt
    cut to about a third of the budget and one sentence shared by consecutive windows.
    """
    prompts, responses = list(prompts), list(responses)
    specials = tokenizer.num_special_tokens_to_add(pair=True)
    room = max_length - specials
    cap = int(room * PROMPT_SHARE)
    p_starts = _token_starts(tokenizer, prompts)
    r_starts = _token_starts(tokenizer, responses)
    out_p: list[str] = []
    out_r: list[str] = []
    owner: list[int] = []
    tokens: list[int] = []

    def keep_end(i: int, n: int) -> str:
        """Prompt ``i`` cut to its last ``n`` tokens."""
        starts = p_starts[i]
        return prompts[i] if n >= len(starts) else prompts[i][starts[len(starts) - n]:]

    for i, (prompt, response) in enumerate(zip(prompts, responses)):
        n_p, n_r = len(p_starts[i]), len(r_starts[i])
        if n_p + n_r <= room or room - min(n_p, cap) < 2:
            out_p.append(prompt)  # fits (or no room to window): scored as the pair itself
            out_r.append(response)
            owner.append(i)
            tokens.append(max(1, min(n_r, max(room, 1))))
            continue
        if n_r <= room - min(n_p, cap):
            out_p.append(keep_end(i, room - n_r))
            out_r.append(response)
            owner.append(i)
            tokens.append(max(1, n_r))
            continue
        prompt_kept = keep_end(i, min(n_p, cap))
        budget = room - min(n_p, cap)
        pieces = _pieces(response, r_starts[i], max(1, budget // 2))
        for first, stop in _pack(pieces, budget):
            a, b = pieces[first][0], pieces[stop - 1][1]
            out_p.append(prompt_kept)
            out_r.append(response[a:b].strip())
            owner.append(i)
            tokens.append(max(1, sum(p[2] for p in pieces[first:stop])))
    return Windows(out_p, out_r, np.asarray(owner, dtype=np.int64),
                   np.asarray(tokens, dtype=np.float64), len(prompts))


def combine_windows(probs: np.ndarray, windows: Windows, heads: Sequence[str]) -> dict[str, np.ndarray]:
    """``{head: one float64 score per pair}`` from per-window scores ``probs [windows, heads]``,
    each head combined by :func:`combine_rules`."""
    probs = np.asarray(probs, dtype=np.float64).reshape(len(windows), len(heads))
    if windows.pairs == 0:
        return {head: np.zeros(0, dtype=np.float64) for head in heads}
    first = np.concatenate([[0], np.cumsum(windows.counts())[:-1]])
    weights = windows.tokens
    out = {}
    for k, (head, rule) in enumerate(combine_rules(heads).items()):
        values = probs[:, k]
        if rule == "min":
            out[head] = np.minimum.reduceat(values, first)
        elif rule == "max":
            out[head] = np.maximum.reduceat(values, first)
        else:
            out[head] = np.add.reduceat(values * weights, first) / np.add.reduceat(weights, first)
    return out


class WindowCache:
    """The scores of the last ``size`` distinct windows a scorer read (least recently used
    forgotten first); thread-safe. ``hits`` and ``misses`` count the windows looked up."""

    def __init__(self, size: int):
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ConfigError(f"a window cache holds a positive number of windows, got {size!r}")
        self.size = size
        self.hits = 0
        self.misses = 0
        self._rows: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._rows)

    def clear(self) -> None:
        """Forget every window (the counters stay)."""
        with self._lock:
            self._rows.clear()

    def score(self, score_pairs: ScorePairs, prompts: list[str], responses: list[str],
              remember: Sequence[bool] | None = None) -> np.ndarray:
        """``score_pairs(prompts, responses)``, calling it once on the pairs not remembered (each
        distinct one once) and remembering them; pairs whose ``remember`` is False are scored
        every time and not kept."""
        keys = list(zip(prompts, responses))
        if not keys:
            return np.asarray(score_pairs([], []))
        keep = [True] * len(keys) if remember is None else [bool(r) for r in remember]
        rows: list[np.ndarray | None] = [None] * len(keys)
        with self._lock:
            for k, key in enumerate(keys):
                if keep[k] and key in self._rows:
                    self._rows.move_to_end(key)
                    rows[k] = self._rows[key]
        missing = list(dict.fromkeys(key for key, row, kept in zip(keys, rows, keep)
                                     if row is None and kept))
        fresh = [k for k in range(len(keys)) if not keep[k]]
        todo = missing + [keys[k] for k in fresh]
        found: dict[tuple[str, str], np.ndarray] = {}
        if todo:
            scored = np.asarray(score_pairs([p for p, _ in todo], [r for _, r in todo]))
            found = {key: scored[i].copy() for i, key in enumerate(missing)}
            for i, k in enumerate(fresh):
                rows[k] = scored[len(missing) + i]
        with self._lock:
            self.hits += sum(keep) - len(missing)
            self.misses += len(missing)
            for key in missing:
                self._rows[key] = found[key]
                self._rows.move_to_end(key)
            while len(self._rows) > self.size:
                self._rows.popitem(last=False)
        return np.stack([row if row is not None else found[key] for key, row in zip(keys, rows)])


def make_window_cache(size: int) -> WindowCache | None:
    """A scorer's window cache of ``size`` windows (an integer >= 0); None for 0."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ConfigError(f"window_cache must be an integer >= 0 (windows whose scores are kept; "
                          f"0: none), got {size!r}")
    return WindowCache(size) if size else None


def score_windowed(score_pairs: ScorePairs, tokenizer: Any, prompts: Sequence[str],
                   responses: Sequence[str], heads: Sequence[str], max_length: int,
                   cache: WindowCache | None = None) -> dict[str, np.ndarray]:
    """Score pairs of any length: ``score_pairs(prompts, responses) -> [n, heads]`` probabilities
    is called once on all windows of all pairs, then each head combines its windows. With a
    ``cache``, the windows of pairs read in several windows are looked up there first and only
    those it does not hold are scored (a pair read whole is always scored).

    Safe to call from several threads on one tokenizer: tokens are counted on a private copy.
    """
    windows = split_windows(tokenizer, prompts, responses, max_length)
    if len(windows) == 0:
        return {head: np.zeros(0, dtype=np.float64) for head in heads}
    if cache is None:
        probs = score_pairs(windows.prompts, windows.responses)
    else:
        several = windows.counts()[windows.owner] > 1
        probs = cache.score(score_pairs, windows.prompts, windows.responses, several.tolist())
    return combine_windows(probs, windows, heads)


__all__ = ["COMBINE", "DEFAULT_COMBINE", "PROMPT_SHARE", "WINDOW_CACHE", "WindowCache", "Windows",
           "combine_rules", "combine_windows", "make_window_cache", "score_windowed", "sentence_spans",
           "split_sentences", "split_windows"]
