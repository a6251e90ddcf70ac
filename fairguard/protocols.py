"""Public protocols that reward and filter plugins satisfy."""

from __future__ import annotations

from typing import Any, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np


@runtime_checkable
class Reward(Protocol):
    """Scores (prompt, completion) pairs.

    ``heads`` names the arrays that :meth:`score` returns; a simple reward has one head equal
    to its name, a multi-head reward model returns several (``fairness``, ``relevance``, ...).
    Higher is better for every head.
    """

    name: str
    heads: tuple[str, ...]

    def score(
        self, prompts: Sequence[str], completions: Sequence[str]
    ) -> Mapping[str, np.ndarray]:
        """Return ``{head: float array of len(prompts)}`` for every head in ``heads``."""
        ...


@runtime_checkable
class Filter(Protocol):
    """Transforms generation at serving time.

    A filter offers a logits processor (applied while the LM generates), a text rewrite
    (applied to finished completions), or both; the one it does not offer returns ``None``.
    """

    name: str

    def logits_processor(self, tokenizer: Any) -> Any | None:
        """Return a ``transformers.LogitsProcessor`` for this tokenizer, or ``None``."""
        ...

    def rewrite(
        self, prompts: Sequence[str], completions: Sequence[str]
    ) -> list[str] | None:
        """Return rewritten completions (same length), or ``None`` if it does not rewrite."""
        ...


class BaseFilter:
    """Convenience base class: offers neither a logits processor nor a rewrite."""

    name: str = "filter"

    def logits_processor(self, tokenizer: Any) -> Any | None:
        return None

    def rewrite(
        self, prompts: Sequence[str], completions: Sequence[str]
    ) -> list[str] | None:
        return None
