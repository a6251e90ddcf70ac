"""Disfluent corruptions of a fluent answer (the fluency negatives).

Each corruption applies two or three different operations, drawn from: shuffling clauses,
shuffling words locally, dropping words, repeating words, typos, broken grammar (wrong
function words and verb forms) and cutting the text off mid-sentence with a fragment.
"""

from __future__ import annotations

import random
import re

_FUNCTION_SWAPS = {
    "the": ("a", "them", "then"), "a": ("the", "an", "of"), "an": ("a", "the"),
    "is": ("be", "are", "being"), "are": ("is", "be", "was"), "was": ("were", "be"),
    "to": ("for", "at", "too"), "of": ("at", "for", "off"), "in": ("on", "at", "into"),
    "they": ("them", "their", "he"), "them": ("they", "their"), "their": ("they", "there"),
    "and": ("but", "or", "an"), "would": ("will", "wood"), "not": ("no", "none"),
    "you": ("your", "yours"), "your": ("you", "you're"), "have": ("has", "having"),
    "has": ("have", "had"), "with": ("within", "without"), "for": ("four", "to"),
}


def _words(text: str) -> list[str]:
    return text.split()


def shuffle_clauses(text: str, rng: random.Random) -> str:
    parts = [p.strip() for p in re.split(r"[,.;:!?]", text) if p.strip()]
    if len(parts) < 2:
        return local_shuffle(text, rng)
    rng.shuffle(parts)
    seps = [", ", " ", ". ", "; ", " and "]
    out = parts[0]
    for p in parts[1:]:
        out += rng.choice(seps) + p
    return out


def local_shuffle(text: str, rng: random.Random) -> str:
    words = _words(text)
    for i in range(0, len(words) - 2, 3):
        if rng.random() < 0.6:
            window = words[i:i + 3]
            rng.shuffle(window)
            words[i:i + 3] = window
    return " ".join(words)


def drop_words(text: str, rng: random.Random) -> str:
    words = _words(text)
    rate = rng.uniform(0.2, 0.35)
    kept = [w for w in words if rng.random() > rate]
    return " ".join(kept if len(kept) >= 3 else words[::2])


def repeat_words(text: str, rng: random.Random) -> str:
    out: list[str] = []
    for w in _words(text):
        out.append(w)
        if rng.random() < 0.15:
            out.extend([w] * rng.choice((1, 1, 2)))
    if len(out) == len(_words(text)) and out:
        i = rng.randrange(len(out))
        out.insert(i, out[i])
    return " ".join(out)


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 3:
        return word + word[-1:]
    i = rng.randrange(len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:  # swap
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == 1:  # delete
        return word[:i] + word[i + 1:]
    if kind == 2:  # double
        return word[:i] + word[i] + word[i:]
    return word[:i] + rng.choice("aeioustnrl") + word[i + 1:]  # substitute


def typos(text: str, rng: random.Random) -> str:
    words = _words(text)
    hit = False
    for i, w in enumerate(words):
        if rng.random() < 0.25:
            words[i] = _typo(w, rng)
            hit = True
    if not hit and words:
        i = rng.randrange(len(words))
        words[i] = _typo(words[i], rng)
    return " ".join(words)


def broken_grammar(text: str, rng: random.Random) -> str:
    words = _words(text)
    changed = False
    for i, w in enumerate(words):
        key = w.lower()
        if key in _FUNCTION_SWAPS and rng.random() < 0.5:
            words[i] = rng.choice(_FUNCTION_SWAPS[key])
            changed = True
        elif len(w) > 4 and w.isalpha() and w.islower() and rng.random() < 0.12:
            words[i] = w + rng.choice(("ed", "ing", "s"))
            changed = True
    if not changed:
        return drop_words(text, rng)
    return " ".join(words)


def fragment(text: str, rng: random.Random) -> str:
    words = _words(text)
    cut = max(3, int(len(words) * rng.uniform(0.45, 0.75)))
    tail = rng.choice(("and the", "because of", "but which", "so that the", "when", "of the"))
    return " ".join(words[:cut]).rstrip(".,;") + " " + tail


OPERATIONS = (shuffle_clauses, local_shuffle, drop_words, repeat_words, typos, broken_grammar,
              fragment)


def corrupt(text: str, rng: random.Random) -> str:
    """A disfluent version of ``text`` (always different from it)."""
    ops = rng.sample(OPERATIONS, rng.choice((2, 2, 3)))
    # clause shuffling and fragments work on whole text: do them first
    ops.sort(key=lambda op: 0 if op in (shuffle_clauses, fragment) else 1)
    out = text
    for op in ops:
        out = op(out, rng)
    if rng.random() < 0.5:
        out = out.lower()
    elif not out.endswith((".", "!", "?")) and rng.random() < 0.5:
        out += "."
    if out == text:
        out = typos(repeat_words(text, rng), rng)
    return out
