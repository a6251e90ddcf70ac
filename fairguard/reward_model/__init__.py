"""The multi-head reward model (fairness, relevance, fluency) over any HF encoder."""

from fairguard.reward_model.tokenize import DEFAULT_MAX_LENGTH, tokenize_pairs

__all__ = ["DEFAULT_MAX_LENGTH", "tokenize_pairs"]
