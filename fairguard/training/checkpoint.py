"""Atomic periodic checkpoints of a training run (adapter, optimizer, scheduler, RNG, step).

A run's working folder ``<out>.run/`` holds ``checkpoints/step-NNNNNN/`` folders, a ``latest``
pointer file and ``metrics.jsonl``. A checkpoint is written into a temporary folder and renamed
into place; the pointer is replaced atomically afterwards, so a kill at any moment leaves the
last complete checkpoint readable.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from fairguard.artifacts import write_json
from fairguard.errors import ArtifactError

CHECKPOINTS = "checkpoints"
LATEST = "latest"
ADAPTER = "adapter"
STATE = "state.json"


def run_dir(out: str | os.PathLike[str]) -> Path:
    """The working folder of the run that will produce ``out``."""
    out = Path(out)
    return out.parent / f"{out.name}.run"


def rng_state() -> dict[str, Any]:
    """Python, numpy and torch RNG states (tensors and plain values only)."""
    kind, keys, pos, has_gauss, cached = cast(tuple[Any, ...], np.random.get_state(legacy=True))
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured."""
    random.setstate(state["python"])
    npy = state["numpy"]
    np.random.set_state((npy["kind"], npy["keys"].numpy().astype(np.uint32), npy["pos"],
                         npy["has_gauss"], npy["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(directory: str | os.PathLike[str], step: int, model: Any, optimizer: Any,
                    scheduler: Any, state: dict[str, Any], keep: int = 2) -> Path:
    """Write checkpoint ``step`` atomically under ``directory/checkpoints``; keep the last ``keep``."""
    root = Path(directory) / CHECKPOINTS
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step:06d}"
    tmp = root / f".tmp-step-{step:06d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    model.save_pretrained(tmp / ADAPTER, safe_serialization=True)
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
    torch.save(rng_state(), tmp / "rng.pt")
    write_json(tmp / STATE, {**state, "step": step})
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    pointer = Path(directory) / f".{LATEST}.tmp"
    pointer.write_text(final.name + "\n")
    os.replace(pointer, Path(directory) / LATEST)
    done = sorted(p for p in root.glob("step-*") if p.is_dir())
    for old in done[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(directory: str | os.PathLike[str]) -> Path | None:
    """The newest complete checkpoint folder, or None."""
    directory = Path(directory)
    pointer = directory / LATEST
    if not pointer.is_file():
        return None
    path = directory / CHECKPOINTS / pointer.read_text().strip()
    if not (path / STATE).is_file():
        raise ArtifactError(f"checkpoint {path} named by {pointer} is missing or incomplete; "
                            "start over with --overwrite")
    return path


def read_state(checkpoint: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``state.json`` of a checkpoint (step, config, evaluation before training, ...)."""
    path = Path(checkpoint) / STATE
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{path} is unreadable ({exc}); start over with --overwrite") from exc


def load_checkpoint(checkpoint: str | os.PathLike[str], model: Any, optimizer: Any,
                    scheduler: Any) -> dict[str, Any]:
    """Load adapter weights, optimizer, scheduler and RNG states; return the saved state."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    checkpoint = Path(checkpoint)
    state = read_state(checkpoint)
    try:
        weights = load_file(str(checkpoint / ADAPTER / "adapter_model.safetensors"))
        set_peft_model_state_dict(model, weights)
        optimizer.load_state_dict(torch.load(checkpoint / "optimizer.pt", weights_only=True))
        scheduler.load_state_dict(torch.load(checkpoint / "scheduler.pt", weights_only=True))
        set_rng_state(torch.load(checkpoint / "rng.pt", weights_only=True))
    except (OSError, RuntimeError, KeyError, ValueError) as exc:
        raise ArtifactError(f"checkpoint {checkpoint} could not be loaded ({type(exc).__name__}: "
                            f"{exc}); start over with --overwrite") from exc
    return state
