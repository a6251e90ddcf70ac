"""Loading and checking the reward-model folder an export starts from."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fairguard.errors import ArtifactError


@dataclass
class RewardSource:
    """A loaded reward model: torch model (eval), tokenizer, metadata and head order."""

    folder: Path
    model: Any
    tokenizer: Any
    metadata: dict[str, Any]
    heads: list[str]  # in logit-column order (config id2label)
    thresholds: dict[str, float]
    max_length: int


def check_heads(folder: Path) -> tuple[dict[str, Any], list[str]]:
    """``(metadata, heads)`` of a reward-model folder, heads in logit-column order.

    Uses the reward model's own validation (kind, heads list, config ``id2label`` agreeing)."""
    from fairguard.reward_model.model import read_reward_metadata

    metadata, heads = read_reward_metadata(folder)
    return metadata, list(heads)


def thresholds_of(metadata: dict[str, Any], heads: list[str]) -> dict[str, float]:
    """Per-head decision thresholds on the sigmoid score (0.5 where none is recorded)."""
    given = metadata.get("thresholds") or {}
    out = {}
    for head in heads:
        value = given.get(head, 0.5) if isinstance(given, dict) else 0.5
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
            raise ArtifactError(f"fairguard.json threshold for {head!r} is {value!r}; expected a "
                                "number between 0 and 1")
        out[head] = float(value)
    return out


def max_length_of(metadata: dict[str, Any]) -> int:
    """The tokenisation length the model was trained with (the shared default if unrecorded)."""
    from fairguard.reward_model import DEFAULT_MAX_LENGTH

    value = metadata.get("max_length", DEFAULT_MAX_LENGTH)
    if isinstance(value, bool) or not isinstance(value, int) or value < 8:
        raise ArtifactError(f"fairguard.json max_length is {value!r}; expected an integer >= 8")
    return value


def load_reward_source(folder: str | os.PathLike[str]) -> RewardSource:
    """Load a reward-model folder (HF sequence classifier + ``fairguard.json``) for export."""
    from fairguard.reward_model.model import load_reward_model

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ArtifactError(f"{folder} is a file; give the folder written by "
                            "`fairguard train reward`")
    loaded = load_reward_model(folder, device="cpu")
    heads = list(loaded.heads)
    metadata = loaded.metadata
    return RewardSource(folder, loaded.model, loaded.tokenizer, metadata, heads,
                        thresholds_of(metadata, heads), max_length_of(metadata))
