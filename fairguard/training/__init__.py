"""GRPO and REINFORCE training of LoRA adapters against weighted reward plugins.

``GRPOConfig`` (config.py) describes a run; ``train(config, out)`` (trainer.py) runs it and
writes a peft adapter folder with ``fairguard.json``, ``metrics.jsonl``, ``metrics.json`` and
PNG plots. Heavy modules (torch, peft, accelerate) load on first use.
"""

from __future__ import annotations

from fairguard.lazy import lazy_attributes
from fairguard.training.config import GRPOConfig

__all__ = ["GRPOConfig", "Trainer", "train"]

__getattr__ = lazy_attributes(__name__, {"Trainer": "fairguard.training.trainer",
                                         "train": "fairguard.training.trainer"})
