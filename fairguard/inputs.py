"""Validation of texts handed to rewards, filters and the guard."""

from __future__ import annotations

from typing import Sequence

from fairguard.errors import InputError

DEFAULT_MAX_CHARS = 20_000


def check_texts(texts: Sequence[str], what: str, *, allow_empty: bool = False,
                max_chars: int = DEFAULT_MAX_CHARS) -> list[str]:
    """Return ``texts`` as a list after checking types, emptiness and length."""
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise InputError(f"{what} must be a list of strings, got {type(texts).__name__}")
    out = list(texts)
    for i, text in enumerate(out):
        if not isinstance(text, str):
            raise InputError(f"{what}[{i}] must be a string, got {type(text).__name__}")
        if not allow_empty and not text.strip():
            raise InputError(f"{what}[{i}] is empty; give non-empty text")
        if len(text) > max_chars:
            raise InputError(
                f"{what}[{i}] has {len(text):,} characters, more than the limit of {max_chars:,}; "
                "truncate it or raise max_chars"
            )
    return out


def check_pairs(prompts: Sequence[str], completions: Sequence[str], *,
                max_chars: int = DEFAULT_MAX_CHARS) -> tuple[list[str], list[str]]:
    """Check prompts and completions as aligned lists (completions may be empty strings)."""
    p = check_texts(prompts, "prompts", max_chars=max_chars)
    c = check_texts(completions, "completions", allow_empty=True, max_chars=max_chars)
    if len(p) != len(c):
        raise InputError(f"got {len(p)} prompts but {len(c)} completions; pass one completion per prompt")
    return p, c
