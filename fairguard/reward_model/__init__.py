"""The multi-head reward model (fairness, relevance, fluency) over any HF encoder."""

from __future__ import annotations

from typing import Any

from fairguard.reward_model.tokenize import DEFAULT_MAX_LENGTH, tokenize_pairs

__all__ = ["DEFAULT_MAX_LENGTH", "tokenize_pairs", "load_reward_model", "TorchRewardScorer",
           "train_reward_model", "RewardTrainConfig"]

_LAZY = {
    "load_reward_model": "fairguard.reward_model.model",
    "TorchRewardScorer": "fairguard.reward_model.inference",
    "train_reward_model": "fairguard.reward_model.train",
    "RewardTrainConfig": "fairguard.reward_model.config",
}


def __getattr__(name: str) -> Any:
    """Import the heavier parts (torch, transformers) only when they are used."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'fairguard.reward_model' has no attribute {name!r}")
