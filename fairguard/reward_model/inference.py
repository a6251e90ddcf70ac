"""Scoring (prompt, response) pairs with a reward model in torch: batched, no_grad, sigmoid; and
:func:`run_score`, the scores and low-score flags behind ``fairguard score`` (either backend)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from fairguard.errors import ConfigError
from fairguard.inputs import check_pairs
from fairguard.reward_model.tokenize import tokenize_pairs
from fairguard.reward_model.windows import WINDOW_CACHE, combine_rules, make_window_cache, score_windowed

if TYPE_CHECKING:
    from fairguard.reward_model.config import ScoreConfig


def resolve_device(device: str | None) -> str:
    """``None``/"auto" -> "cuda" when available, else "cpu"; anything else is checked."""
    import torch

    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    device = str(device)
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} asked for but CUDA is not available; use device='cpu'")
    if device != "cpu" and not device.startswith("cuda"):
        raise ConfigError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    return device


def predict_probs(model: Any, tokenizer: Any, prompts: Sequence[str], responses: Sequence[str],
                  max_length: int, batch_size: int = 32, device: str | None = None,
                  progress: bool = False, desc: str = "scoring") -> np.ndarray:
    """Sigmoid scores, shape ``(len(prompts), num_heads)``; pairs are batched by length. ``device``
    defaults to the model's."""
    import torch
    from tqdm.auto import tqdm

    if device is None:
        device = str(next(model.parameters()).device)
    n = len(prompts)
    num_heads = model.config.num_labels
    out = np.zeros((n, num_heads), dtype=np.float64)
    if n == 0:
        return out
    order = sorted(range(n), key=lambda i: len(prompts[i]) + len(responses[i]))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            starts = range(0, n, batch_size)
            for start in tqdm(starts, desc=desc, disable=not progress, leave=False):
                idx = order[start:start + batch_size]
                enc = tokenize_pairs(tokenizer, [prompts[i] for i in idx],
                                     [responses[i] for i in idx], max_length)
                enc = {k: v.to(device) for k, v in enc.items()}
                logits = model(**enc).logits.float()
                out[idx] = torch.sigmoid(logits).cpu().numpy().astype(np.float64)
    finally:
        model.train(was_training)
    return out


class TorchRewardScorer:
    """A trained reward-model folder scored in torch: ``score(prompts, responses) -> {head: array}``.

    Responses longer than the model reads at once are scored in windows combined per head
    (:mod:`fairguard.reward_model.windows`); ``windows=False`` reads only the first
    ``max_length`` tokens of each pair (for comparisons). Disguised words (``h4te``,
    ``h a t e``, ``h*te``) are read in their plain spelling
    (:mod:`fairguard.reward_model.disguise`); ``reveal=False`` reads them as written. The scores
    of the last ``window_cache`` windows read are kept and not computed again (0: none).
    """

    backend = "torch"

    def __init__(self, folder: str | os.PathLike[str], device: str | None = None,
                 batch_size: int = 32, max_length: int | None = None, windows: bool = True,
                 reveal: bool = True, window_cache: int = WINDOW_CACHE):
        from fairguard.reward_model.disguise import Undisguiser
        from fairguard.reward_model.model import load_reward_model

        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
        if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, int)
                                       or max_length < 1):
            raise ConfigError(f"max_length must be a positive integer, got {max_length!r}")
        self.device = resolve_device(device)
        loaded = load_reward_model(folder, device=self.device)
        self.model = loaded.model
        self.tokenizer = loaded.tokenizer
        self.metadata = loaded.metadata
        self.heads: tuple[str, ...] = loaded.heads
        self.thresholds = loaded.thresholds
        if max_length is not None and max_length > loaded.max_length:
            raise ConfigError(f"{max_length} tokens a window is more than the {loaded.max_length} tokens "
                              f"{folder} was trained to read; give at most that")
        self.max_length = max_length or loaded.max_length
        self.batch_size = batch_size
        self.folder = loaded.folder
        self.windows = bool(windows)
        self.window_cache = make_window_cache(window_cache)
        self.combine = combine_rules(self.heads)  # how windows combine, per head
        self.undisguiser = Undisguiser(self.tokenizer) if reveal else None

    def score_pairs(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        """Sigmoid scores ``[n, heads]`` of each pair's first ``max_length`` tokens (no checks)."""
        return predict_probs(self.model, self.tokenizer, prompts, responses, self.max_length,
                             self.batch_size, self.device)

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> dict[str, np.ndarray]:
        """Return ``{head: float64 array of sigmoid scores in [0, 1]}``, one value per pair."""
        prompts, responses = check_pairs(prompts, responses)
        if self.undisguiser is not None:
            prompts, responses = self.undisguiser.reveal_pairs(prompts, responses)
        if self.windows:
            return score_windowed(self.score_pairs, self.tokenizer, prompts, responses,
                                  self.heads, self.max_length, self.window_cache)
        probs = self.score_pairs(prompts, responses)
        return {head: probs[:, i].copy() for i, head in enumerate(self.heads)}


def run_score(config: ScoreConfig) -> dict[str, Any]:
    """Score ``config.responses`` to ``config.prompt`` with the reward model ``config.model``:
    ``{"prompt", "heads", "results"}``, a result per response with its rounded head scores and
    ``flags``, the heads scoring below their threshold (0.5 where the model records none)."""
    from fairguard.registry import get_reward

    reward = get_reward("reward-model", path=config.model, backend=config.backend)
    responses = list(config.responses)
    scores = reward.score([config.prompt] * len(responses), responses)
    thresholds = getattr(reward, "thresholds", {}) or {}
    rows = []
    for i, response in enumerate(responses):
        row: dict[str, Any] = {"response": response}
        row.update({head: round(float(scores[head][i]), 4) for head in reward.heads})
        row["flags"] = [head for head in reward.heads
                        if float(scores[head][i]) < float(thresholds.get(head, 0.5))]
        rows.append(row)
    return {"prompt": config.prompt, "heads": list(reward.heads), "results": rows}
