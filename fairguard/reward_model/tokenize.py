"""The one tokenisation of (prompt, response) pairs shared by training, torch and ONNX scoring."""

from __future__ import annotations

from typing import Any, Sequence

DEFAULT_MAX_LENGTH = 256


def tokenize_pairs(tokenizer: Any, prompts: Sequence[str], responses: Sequence[str],
                   max_length: int = DEFAULT_MAX_LENGTH, return_tensors: str | None = "pt") -> Any:
    """Encode pairs as ``[CLS] prompt [SEP] response [SEP]``, padded to the longest, truncated
    (longest first) to ``max_length`` tokens."""
    return tokenizer(
        list(prompts), list(responses), truncation=True, max_length=max_length,
        padding=True, return_tensors=return_tensors,
    )
