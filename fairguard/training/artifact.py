"""The adapter artifact a GRPO / REINFORCE run writes: the peft adapter, ``fairguard.json``,
``metrics.json`` (before / after evaluation, paired changes), ``metrics.jsonl`` and the plots."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from fairguard.artifacts import METADATA_FILE, write_json, write_jsonl
from fairguard.errors import ConfigError

ARTIFACT_KIND = "grpo-adapter"
METRICS_JSONL = "metrics.jsonl"


def adapter_digest(model: Any) -> str:
    """sha256 over the trainable (adapter) parameters, in name order."""
    digest = hashlib.sha256()
    for name, param in sorted(model.named_parameters()):
        if param.requires_grad:
            digest.update(name.encode())
            digest.update(param.detach().float().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def change(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, float] | None:
    """Per head: the mean score after training minus before."""
    if not before or not after:
        return None
    return {h: after["heads"][h] - before["heads"][h] for h in before["heads"] if h in after["heads"]}


def paired_changes(before: dict[str, Any] | None, after: dict[str, Any] | None
                   ) -> dict[str, Any] | None:
    """Per head: the change with its paired standard error and 95 % interval over the prompts."""
    from fairguard.metrics.paired import paired_change

    old = (before or {}).get("scores")
    new = (after or {}).get("scores")
    if not old or not new:  # no evaluation, or a checkpoint written before scores were kept
        return None
    out: dict[str, Any] = {}
    for head in old:
        if head in new and len(old[head]) == len(new[head]):
            try:
                out[head] = paired_change(old[head], new[head]).to_dict()
            except ConfigError:  # a NaN score: the means in "change" show it; the adapter is kept
                continue
    return out


def write_adapter(folder: Path, peft_model: Any, history: list[dict[str, Any]],
                  before: dict[str, Any] | None, after: dict[str, Any] | None,
                  metadata: dict[str, Any]) -> None:
    """Write the artifact files into ``folder`` (the temporary folder of an atomic write)."""
    from fairguard.training.plot import plot_training

    peft_model.save_pretrained(folder, safe_serialization=True)
    write_jsonl(folder / METRICS_JSONL, history)
    write_json(folder / "metrics.json", {
        "before": before, "after": after, "change": change(before, after),
        "change_paired": paired_changes(before, after), "steps": metadata["steps"],
        "train_time_s": round(sum(r.get("step_time_s", 0.0) for r in history), 2)})
    write_json(folder / METADATA_FILE, {"kind": ARTIFACT_KIND, **metadata})
    plot_training(history, folder)
