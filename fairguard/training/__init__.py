"""GRPO and REINFORCE training of LoRA adapters against weighted reward plugins.

``GRPOConfig`` (config.py) describes a run; ``train(config, out)`` (trainer.py) runs it and
writes a peft adapter folder with ``fairguard.json``, ``metrics.jsonl``, ``metrics.json`` and
PNG plots. Heavy modules (torch, peft, accelerate) load on first use.
"""

from __future__ import annotations

from typing import Any

from fairguard.training.config import GRPOConfig

__all__ = ["GRPOConfig", "Trainer", "train"]


def __getattr__(name: str) -> Any:
    if name in ("Trainer", "train"):
        from fairguard.training import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module 'fairguard.training' has no attribute {name!r}")
