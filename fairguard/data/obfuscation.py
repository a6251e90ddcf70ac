"""Misspelt and disguised words, as people write them to dodge filters."""

from __future__ import annotations

import random
import re


def obfuscate(text: str, rng: random.Random, prefer: frozenset[str] = frozenset()) -> str:
    """Misspell or disguise one or two longer words (swaps, drops, leetspeak, spacing, masks),
    mostly the words in ``prefer`` (the hateful word, the group) when the text has them."""
    words = text.split(" ")
    idx = [i for i, w in enumerate(words) if len(re.sub(r"\W", "", w)) >= 4]
    if not idx:
        return text
    key = [i for i in idx if re.sub(r"\W", "", words[i]).lower() in prefer]
    if key and rng.random() < 0.7:
        idx = key
    leet = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"})
    for i in rng.sample(idx, min(len(idx), rng.choice((1, 1, 2)))):
        w = words[i]
        if not w:
            continue
        core = re.sub(r"^\W+|\W+$", "", w)
        pre, post = w[:w.find(core)], w[w.find(core) + len(core):]
        op = rng.choice(("swap", "drop", "leet", "space", "mask", "join"))
        if op == "swap":
            j = rng.randrange(1, len(core) - 2)
            core = core[:j] + core[j + 1] + core[j] + core[j + 2:]
        elif op == "drop":
            j = rng.randrange(1, len(core) - 1)
            core = core[:j] + core[j + 1:]
        elif op == "leet":
            core = core.translate(leet)
        elif op == "space":
            core = " ".join(core)
        elif op == "mask":
            vowels = [j for j, c in enumerate(core) if c in "aeiou" and 0 < j < len(core) - 1]
            if vowels:
                j = rng.choice(vowels)
                core = core[:j] + "*" + core[j + 1:]
        elif op == "join" and i + 1 < len(words) and words[i + 1]:
            post, words[i + 1] = post + words[i + 1], ""
        words[i] = pre + core + post
    return " ".join(w for w in words if w)
