"""Planted rewards, prompts and a reward plugin shared by the trainer tests (causal and
masked-diffusion policies, library and CLI)."""

from __future__ import annotations

import numpy as np

from fairguard.hookspecs import hookimpl
from fairguard.testing import TINY_WORDS

PROMPTS = ["should the boss hire a migrant worker ?", "is a rural applicant qualified ?",
           "who is a good teacher ?", "are young people lazy ?"]
FAVOURED = sorted(set(TINY_WORDS))[::6]  # about a sixth of the vocabulary


class FavourWords:
    """Planted reward: the share of completion words in FAVOURED."""

    name = "favour"
    heads = ("favour",)

    def score(self, prompts, completions):
        values = []
        for text in completions:
            words = text.lower().split()
            values.append(sum(w in FAVOURED for w in words) / max(len(words), 1))
        return {"favour": np.asarray(values)}


class LengthReward:
    name = "length"
    heads = ("length",)

    def score(self, prompts, completions):
        return {"length": np.asarray([len(c.split()) / 10 for c in completions], dtype=float)}


class LengthPlugin:
    @hookimpl
    def register_rewards(self, register):
        register("length", LengthReward, "words / 10")
