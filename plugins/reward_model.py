"""Built-in reward ``reward-model``: a trained multi-head reward model folder (torch or ONNX),
or an ensemble of several.

Returns one score per head (``fairness``, ``relevance``, ``fluency`` by default), each the
sigmoid of the head's logit in [0, 1], higher = better. With several folders each head is the
mean (or the minimum) of the members' scores: a policy trained against an ensemble has less to
gain from one judge's blind spots (Coste et al., 2024, "Reward Model Ensembles Help Mitigate
Overoptimization"). A folder written by ``fairguard train ensemble`` is such a list with
thresholds calibrated for its combined scores (:mod:`fairguard.reward_model.ensemble`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from fairguard.artifacts import reward_model_folders
from fairguard.errors import ConfigError
from fairguard.export.batching import BATCH_TOKENS
from fairguard.hookspecs import hookimpl
from fairguard.reward_model.ensemble import COMBINE_RULES, combine_scores, read_ensemble
from fairguard.reward_model.windows import WINDOW_CACHE

log = logging.getLogger("fairguard")

BACKENDS = ("auto", "torch", "onnx")
ENSEMBLES = COMBINE_RULES  # how the members' scores of one head combine: mean, min
ONNX_FILES = ("model.onnx", "model_int8.onnx")  # fp32 / int8 exports by `fairguard export onnx`
MIN_WINDOW_TOKENS = 16  # room for a piece of the prompt and a few words of the answer


def choose_backend(folder: Path, backend: str) -> str:
    """``auto`` -> ``onnx`` when the folder holds an ONNX export, else ``torch``."""
    if backend not in BACKENDS:
        raise ConfigError(f"reward-model backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "auto":
        return "onnx" if any((folder / name).is_file() for name in ONNX_FILES) else "torch"
    return backend


def _onnx_scorer(folder: Path, batch_size: int, device: str | None, threads: int | None,
                 recheck: bool | None = None, batch_tokens: int | None = None,
                 window_tokens: int | None = None, window_cache: int = WINDOW_CACHE) -> Any:
    if device not in (None, "cpu"):
        raise ConfigError(f"the onnx backend runs on the CPU; drop device={device!r} or use backend='torch'")
    from fairguard.export.onnx_scorer import OnnxRewardScorer

    kwargs: dict[str, Any] = {"batch_size": batch_size, "recheck": recheck, "max_length": window_tokens,
                              "window_cache": window_cache}
    if threads is not None:
        kwargs["threads"] = threads
    if batch_tokens is not None:  # 0: no limit; None: the scorer's default
        kwargs["batch_tokens"] = batch_tokens or None
    return OnnxRewardScorer(folder, **kwargs)


class RewardModelReward:
    """The ``reward-model`` reward: scores pairs with a trained reward-model folder."""

    name = "reward-model"

    def __init__(self, path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
                 backend: str = "auto", batch_size: int = 32, device: str | None = None,
                 threads: int | None = None, ensemble: str = "mean", recheck: bool | None = None,
                 batch_tokens: int | None = None, window_tokens: int | None = None,
                 window_cache: int = WINDOW_CACHE):
        folders = _folders(path)
        calibrated = read_ensemble(folders[0]) if len(folders) == 1 else None
        if calibrated is not None:  # a `fairguard train ensemble` folder: its members, rule, thresholds
            if ensemble != calibrated.combine:
                log.info("%s combines its members by %s, as its thresholds were calibrated; "
                         "ensemble=%s applies to a list of folders", folders[0],
                         calibrated.combine, ensemble)
            folders, ensemble = list(calibrated.members), calibrated.combine
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"reward-model batch_size must be a positive integer, got {batch_size!r}")
        if batch_tokens is not None and (isinstance(batch_tokens, bool)
                                         or not isinstance(batch_tokens, int) or batch_tokens < 0):
            raise ConfigError("reward-model batch_tokens must be a non-negative integer (0: no "
                              f"limit), got {batch_tokens!r}")
        if window_tokens is not None and (isinstance(window_tokens, bool) or not isinstance(window_tokens, int)
                                          or window_tokens < MIN_WINDOW_TOKENS):
            raise ConfigError(f"reward-model window_tokens must be an integer >= {MIN_WINDOW_TOKENS} "
                              f"(tokens of prompt and response per window), got {window_tokens!r}")
        if ensemble not in ENSEMBLES:
            raise ConfigError(f"reward-model ensemble must be one of {', '.join(ENSEMBLES)}, got {ensemble!r}")
        backends = [choose_backend(folder, backend) for folder in folders]
        if threads is not None and any(b != "onnx" for b in backends):
            raise ConfigError("reward-model threads applies to the onnx backend only; the torch "
                              "backend uses torch's own thread setting")
        if recheck is not None and any(b != "onnx" for b in backends):
            raise ConfigError("reward-model recheck applies to int8 ONNX exports only (their "
                              "pairs near a threshold scored again in fp32)")
        if batch_tokens is not None and any(b != "onnx" for b in backends):
            raise ConfigError("reward-model batch_tokens applies to the onnx backend only; the "
                              "torch backend batches by batch_size (its throughput barely "
                              "depends on the batch size)")
        self.paths = folders
        self.path = folders[0]
        self.ensemble = ensemble
        self.backend = backends[0]
        self.scorers = [_scorer(folder, b, batch_size, device, threads, recheck, batch_tokens,
                                window_tokens, window_cache) for folder, b in zip(folders, backends)]
        self.scorer = self.scorers[0]
        self.heads: tuple[str, ...] = tuple(self.scorer.heads)
        for folder, scorer in zip(folders[1:], self.scorers[1:]):
            if tuple(scorer.heads) != self.heads:
                raise ConfigError(f"reward-model ensemble: {folder} has heads {list(scorer.heads)}, "
                                  f"{folders[0]} has {list(self.heads)}; ensemble folders must "
                                  "have the same heads")
        # calibrated per model: a list's combined score has no calibrated threshold
        self.thresholds: dict[str, float] = (
            dict(calibrated.thresholds) if calibrated is not None
            else dict(getattr(self.scorer, "thresholds", {}) or {}) if len(folders) == 1 else {})
        self.ensemble_folder = calibrated.folder if calibrated is not None else None

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> dict[str, np.ndarray]:
        """Return ``{head: float64 array}`` with one score per (prompt, completion) pair."""
        outs = [scorer.score(prompts, completions) for scorer in self.scorers]
        return {head: combine_scores([out[head] for out in outs], self.ensemble)
                for head in self.heads}


def _folders(path: Any) -> list[Path]:
    """The reward-model folder(s) that ``path`` names: one folder, or a list for an ensemble."""
    hint = "a folder written by `fairguard train reward` (or `fairguard export onnx`)"
    if path is None or (isinstance(path, str) and not path.strip()):
        raise ConfigError(f"reward-model needs path=FOLDER, {hint}")
    paths = list(path) if isinstance(path, (list, tuple)) else [path]
    if not paths:
        raise ConfigError(f"reward-model needs path=FOLDER, {hint}")
    folders = reward_model_folders(paths, "reward-model path")
    if len(folders) > 1:
        for folder in folders:
            if read_ensemble(folder) is not None:
                raise ConfigError(f"reward-model path {folder} is an ensemble folder (`fairguard "
                                  "train ensemble`); give it alone, or list its members' folders")
    return folders


def _scorer(folder: Path, backend: str, batch_size: int, device: str | None,
            threads: int | None, recheck: bool | None = None,
            batch_tokens: int | None = None, window_tokens: int | None = None,
            window_cache: int = WINDOW_CACHE) -> Any:
    """The scorer of one reward-model folder on its chosen ``backend`` (``torch`` or ``onnx``);
    ``window_tokens``: the tokens each window of a long answer holds (default: the model's
    ``max_length``); ``window_cache``: how many windows' scores it keeps (0: none)."""
    if backend == "onnx":
        return _onnx_scorer(folder, batch_size, device, threads, recheck, batch_tokens, window_tokens,
                            window_cache)
    from fairguard.reward_model.inference import TorchRewardScorer

    return TorchRewardScorer(folder, device=device, batch_size=batch_size, max_length=window_tokens,
                             window_cache=window_cache)


@hookimpl
def register_rewards(register: Callable[..., None]) -> None:
    register(
        "reward-model",
        RewardModelReward,
        "trained multi-head reward model (fairness, relevance, fluency); options: path (a folder, "
        "a `fairguard train ensemble` folder, or a list: an ensemble), ensemble=mean|min (a list), "
        "backend=auto|torch|onnx, batch_size, device (torch), threads (onnx), recheck (int8 "
        "onnx: pairs near a threshold again in fp32; on where the export records margins), "
        f"batch_tokens (onnx: padded tokens per batch at most, default {BATCH_TOKENS}, 0 = no limit), "
        "window_tokens (tokens per window of a long answer, at most the model's max_length, its "
        "default; fewer dilute one biased sentence less and cost more windows), "
        f"window_cache (windows whose scores are kept, so a growing answer scored again costs "
        f"only its new windows; default {WINDOW_CACHE}, 0 = none)",
    )
