"""Tiny judges (reward models trained on the hand-made dataset of ``reward_model_data``) and
adapter folders that record their training judge, as ``fairguard train grpo`` writes them."""

from __future__ import annotations

import json
from pathlib import Path

from reward_model_data import write_dataset


def train_judge(folder: Path, backbone: Path, name: str, data_seed: int = 0, seed: int = 0,
                split: int | None = None) -> Path:
    """A tiny reward model in ``folder/name`` trained one epoch on the hand-made dataset drawn
    with ``data_seed`` (its own fingerprint; held-out split number ``split``, by default
    ``data_seed``), training seed ``seed``."""
    from fairguard.reward_model.config import RewardTrainConfig
    from fairguard.reward_model.train import train_reward_model

    split = data_seed if split is None else split
    data = folder / f"data-{data_seed}-{split}"
    if not data.exists():
        write_dataset(data, seed=data_seed)
        (data / "manifest.json").write_text(json.dumps(
            {"seed": data_seed, "fingerprint": f"handmade-{data_seed}",
             "held_out": {"groups": [f"group-{split}"], "templates": [f"template-{split}"]}}))
    out = folder / name
    train_reward_model(RewardTrainConfig(data=str(data), out=str(out), backbone=str(backbone),
                                         epochs=1, batch_size=4, seed=seed, progress=False))
    return out


def adapter_metadata(folder: Path, reward_model: str | list[str] | None, **extra: object) -> Path:
    """Write the adapter's ``fairguard.json`` with ``config.reward_model`` (as the trainer does)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fairguard.json").write_text(json.dumps({
        "kind": "grpo-adapter", "algorithm": "grpo",
        "config": {"reward_model": reward_model, "rewards": None}, **extra}))
    return folder


def lora_adapter(base: Path, folder: Path, reward_model: str | None) -> Path:
    """A LoRA adapter on the tiny causal LM ``base`` that records ``reward_model`` as its
    training judge."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(base),
                           LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                      task_type="CAUSAL_LM"))
    model.save_pretrained(folder)
    return adapter_metadata(folder, reward_model, base_model=str(base))
