"""Answers laid out as chat models write them: paragraphs, lists, bold lead words, inline code.

Every dataset response is one line of prose, while the answers a policy or a served model
writes come in paragraphs, bulleted and numbered lists ("1. **Check the hinge**: ..."), with
code in backticks: 84 of the embedded SmolLM2's 279 everyday answers (docs/judge-runs.md,
fifteenth run, for what training on laid-out rows changes).

:func:`layout_rows` gives a share of the training rows one layout, the same for every response
of the row (fair, biased, off topic, garbled ...), so a layout says nothing about any label.
Every word of a response stays, in its order; only line breaks and list, bold and code marks
are added.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from fairguard.reward_model.examples import PairRow
from fairguard.reward_model.truncation import map_responses, uniform_draw
from fairguard.reward_model.windows import split_sentences

LAYOUTS: tuple[str, ...] = ("paragraphs", "bullets", "numbered", "bold_steps", "code")
BULLETS = ("-", "*", "•")
BOLD_WORDS = (2, 4)
# Calls and indexing written in prose ("my_list.reverse()", "my_list[::-1]"), to put in backticks.
_CODE = re.compile(r"(?<![`\w@])[A-Za-z_][\w.]*(?:\([^()\s]*\)|\[[^\]\s]*\])(?![`\w])")


def _bold_lead(sentence: str, rng: random.Random) -> str:
    words = sentence.split(" ")
    k = rng.randint(*BOLD_WORDS)
    if len(words) <= k:
        return f"**{sentence}**"
    return f"**{' '.join(words[:k])}** {' '.join(words[k:])}"


def layout_answer(text: str, layout: str, rng: random.Random) -> str:
    """``text`` in ``layout`` (one of :data:`LAYOUTS`), words unchanged and in order.

    A one-sentence text stays as it is (but for code in backticks); ``code`` with nothing that
    reads as code lays the text out in paragraphs.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    if layout == "code":
        coded = _CODE.sub(lambda m: f"`{m.group(0)}`", text)
        if coded != text:
            return coded
        layout = "paragraphs"
    sentences = split_sentences(text)
    if len(sentences) < 2:
        return text
    if layout == "paragraphs":
        cut = rng.randint(1, len(sentences) - 1)
        return " ".join(sentences[:cut]) + "\n\n" + " ".join(sentences[cut:])
    intro: list[str] = []
    if len(sentences) >= 3 and rng.random() < 0.5:
        intro, sentences = sentences[:1], sentences[1:]
    if layout == "bullets":
        mark = rng.choice(BULLETS)
        items = [f"{mark} {s}" for s in sentences]
    else:
        items = [f"{i}. {_bold_lead(s, rng) if layout == 'bold_steps' else s}"
                 for i, s in enumerate(sentences, 1)]
    return "\n\n".join([*intro, "\n".join(items)])


def layout_rows(rows: Sequence[PairRow], prob: float, seed: int) -> list[PairRow]:
    """``rows`` with a ``prob`` share laid out in a layout drawn per row (every response of a row
    alike, so a layout carries no label)."""
    if prob <= 0:
        return list(rows)

    def change(index: int, row: PairRow, kind: str, text: str) -> str:
        if uniform_draw(seed, index, row.id, "layout") >= prob:
            return text
        pick = uniform_draw(seed, index, row.id, "which layout")
        layout = LAYOUTS[min(int(pick * len(LAYOUTS)), len(LAYOUTS) - 1)]
        return layout_answer(text, layout, random.Random(f"layout:{seed}:{index}:{row.id}:{kind}"))

    return map_responses(rows, change)


__all__ = ["BOLD_WORDS", "BULLETS", "LAYOUTS", "layout_answer", "layout_rows"]
