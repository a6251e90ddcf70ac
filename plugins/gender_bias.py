"""Built-in reward ``gender-bias``: GenBit-style gendered-language skew, no model needed."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from fairguard.errors import ConfigError
from fairguard.hookspecs import hookimpl
from fairguard.inputs import check_pairs
from fairguard.metrics.genbit import gender_bias_reward


class GenderBiasReward:
    """Reward ``exp(-genbit_score(completion))`` per completion, in (0, 1]; higher = less skewed."""

    name = "gender-bias"
    heads = ("gender-bias",)

    def __init__(self, window: int = 10):
        if not isinstance(window, int) or window < 1:
            raise ConfigError(f"gender-bias window must be a positive integer, got {window!r}")
        self.window = window

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> dict[str, np.ndarray]:
        _, completions = check_pairs(prompts, completions)
        values = [gender_bias_reward(text, self.window) for text in completions]
        return {"gender-bias": np.asarray(values, dtype=np.float64)}


@hookimpl
def register_rewards(register: Callable[..., None]) -> None:
    register(
        "gender-bias",
        GenderBiasReward,
        "GenBit-style gendered-wording skew of the completion; 1 = balanced or neutral wording",
    )
