"""The multi-head reward model (fairness, relevance, fluency) over any HF encoder."""

from __future__ import annotations

from fairguard.lazy import lazy_attributes
from fairguard.reward_model.tokenize import DEFAULT_MAX_LENGTH, tokenize_pairs

__all__ = ["DEFAULT_MAX_LENGTH", "tokenize_pairs", "load_reward_model", "TorchRewardScorer",
           "train_reward_model", "RewardTrainConfig"]

# the heavier parts (torch, transformers) load only when they are used
__getattr__ = lazy_attributes(__name__, {
    "load_reward_model": "fairguard.reward_model.model",
    "TorchRewardScorer": "fairguard.reward_model.inference",
    "train_reward_model": "fairguard.reward_model.train",
    "RewardTrainConfig": "fairguard.reward_model.config",
})
