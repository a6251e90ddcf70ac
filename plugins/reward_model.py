"""Built-in reward ``reward-model``: a trained multi-head reward model folder (torch or ONNX).

Returns one score per head (``fairness``, ``relevance``, ``fluency`` by default), each the
sigmoid of the head's logit in [0, 1], higher = better.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from fairguard.errors import ConfigError
from fairguard.hookspecs import hookimpl

BACKENDS = ("auto", "torch", "onnx")
ONNX_FILES = ("model.onnx", "model_int8.onnx")  # fp32 / int8 exports by `fairguard export onnx`


def choose_backend(folder: Path, backend: str) -> str:
    """``auto`` -> ``onnx`` when the folder holds an ONNX export, else ``torch``."""
    if backend not in BACKENDS:
        raise ConfigError(f"reward-model backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "auto":
        return "onnx" if any((folder / name).is_file() for name in ONNX_FILES) else "torch"
    return backend


def _onnx_scorer(folder: Path, batch_size: int, device: str | None, threads: int | None) -> Any:
    if device not in (None, "cpu"):
        raise ConfigError(f"the onnx backend runs on the CPU; drop device={device!r} or use backend='torch'")
    from fairguard.export.onnx_scorer import OnnxRewardScorer

    kwargs: dict[str, Any] = {"batch_size": batch_size}
    if threads is not None:
        kwargs["threads"] = threads
    return OnnxRewardScorer(folder, **kwargs)


class RewardModelReward:
    """The ``reward-model`` reward: scores pairs with a trained reward-model folder."""

    name = "reward-model"

    def __init__(self, path: str | os.PathLike[str] | None = None, backend: str = "auto",
                 batch_size: int = 32, device: str | None = None, threads: int | None = None):
        if path is None or (isinstance(path, str) and not path.strip()):
            raise ConfigError("reward-model needs path=FOLDER, a folder written by "
                              "`fairguard train reward` (or `fairguard export onnx`)")
        if not isinstance(path, (str, os.PathLike)):
            raise ConfigError(f"reward-model path must be a folder path, got {type(path).__name__}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"reward-model batch_size must be a positive integer, got {batch_size!r}")
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise ConfigError(f"reward-model path {folder} is not a folder; train one with "
                              "`fairguard train reward --data DATA --out DIR`")
        self.path = folder
        self.backend = choose_backend(folder, backend)
        if self.backend == "onnx":
            self.scorer = _onnx_scorer(folder, batch_size, device, threads)
        else:
            if threads is not None:
                raise ConfigError("reward-model threads applies to the onnx backend only; the torch "
                                  "backend uses torch's own thread setting")
            from fairguard.reward_model.inference import TorchRewardScorer

            self.scorer = TorchRewardScorer(folder, device=device, batch_size=batch_size)
        self.heads: tuple[str, ...] = tuple(self.scorer.heads)
        self.thresholds: dict[str, float] = dict(getattr(self.scorer, "thresholds", {}) or {})

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> dict[str, np.ndarray]:
        """Return ``{head: float64 array}`` with one score per (prompt, completion) pair."""
        out = self.scorer.score(prompts, completions)
        return {head: np.asarray(out[head], dtype=np.float64) for head in self.heads}


@hookimpl
def register_rewards(register: Callable[..., None]) -> None:
    register(
        "reward-model",
        RewardModelReward,
        "trained multi-head reward model (fairness, relevance, fluency); options: path, "
        "backend=auto|torch|onnx, batch_size, device (torch), threads (onnx)",
    )
