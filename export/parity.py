"""Comparing an exported model's logits with the torch model's, on the same tokenised batches."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np


def _sorted_batches(tokenizer: Any, prompts: Sequence[str], responses: Sequence[str],
                    max_length: int, batch_size: int) -> Any:
    """``(rows, arrays)`` batches of the pairs sorted by length and padded per batch, as the
    ONNX scorer batches them (:class:`~fairguard.export.batching.PairBatcher`)."""
    from fairguard.export.batching import PairBatcher

    return PairBatcher(tokenizer, max_length).batches(prompts, responses, batch_size)


def _in_input_order(parts: list[tuple[np.ndarray, np.ndarray]], n: int) -> np.ndarray:
    """The per-batch ``(rows, logits)`` put back into one ``[n, heads]`` array in input order."""
    if not parts:
        return np.zeros((n, 0), dtype=np.float32)
    out = np.empty((n, parts[0][1].shape[-1]), dtype=np.float32)
    for rows, logits in parts:
        out[rows] = logits
    return out


def torch_logits(model: Any, tokenizer: Any, prompts: Sequence[str], responses: Sequence[str],
                 max_length: int, batch_size: int = 16, progress: Any = None) -> np.ndarray:
    """Logits ``[n, heads]`` of the torch model (eval mode, no grad) in input order, scored in
    batches of pairs of similar length."""
    import torch

    names = set(getattr(tokenizer, "model_input_names", ("input_ids", "attention_mask")))
    parts = []
    with torch.inference_mode():
        for rows, arrays in _sorted_batches(tokenizer, prompts, responses, max_length, batch_size):
            enc = {k: torch.from_numpy(v) for k, v in arrays.items() if k in names}
            parts.append((rows, model(**enc).logits.float().numpy()))
            if progress is not None:
                progress.update(len(rows))
    return _in_input_order(parts, len(prompts))


def onnx_logits(session: Any, tokenizer: Any, prompts: Sequence[str], responses: Sequence[str],
                max_length: int, batch_size: int = 16, progress: Any = None) -> np.ndarray:
    """Logits ``[n, heads]`` of an onnxruntime session, batched as :func:`torch_logits`."""
    from fairguard.export.session import session_feed

    parts = []
    for rows, arrays in _sorted_batches(tokenizer, prompts, responses, max_length, batch_size):
        logits = session.run(None, session_feed(session, arrays))[0]
        parts.append((rows, np.asarray(logits, dtype=np.float32)))
        if progress is not None:
            progress.update(len(rows))
    return _in_input_order(parts, len(prompts))


def logit_threshold(threshold: float) -> float:
    """The logit at which ``sigmoid(logit) == threshold``."""
    return math.log(threshold / (1.0 - threshold))


def compare(reference: np.ndarray, candidate: np.ndarray, heads: list[str],
            thresholds: dict[str, float]) -> dict[str, Any]:
    """Max/mean |logit diff| and |score diff|, and how often head decisions agree.

    A head's decision is ``sigmoid(logit) >= threshold``; agreement is the fraction of pairs on
    which ``candidate`` decides as ``reference`` does, per head and over all (pair, head) cells.
    """
    diff = np.abs(reference.astype(np.float64) - candidate.astype(np.float64))
    ref_scores = 1.0 / (1.0 + np.exp(-reference.astype(np.float64)))
    cand_scores = 1.0 / (1.0 + np.exp(-candidate.astype(np.float64)))
    cuts = np.array([logit_threshold(thresholds[h]) for h in heads])
    agree = (reference >= cuts) == (candidate >= cuts)
    return {
        "pairs": int(reference.shape[0]),
        "max_abs_logit_diff": float(diff.max()) if diff.size else 0.0,
        "mean_abs_logit_diff": float(diff.mean()) if diff.size else 0.0,
        "max_abs_score_diff": float(np.abs(ref_scores - cand_scores).max()) if diff.size else 0.0,
        "per_head_max_abs_logit_diff": {h: float(diff[:, i].max()) if diff.size else 0.0
                                        for i, h in enumerate(heads)},
        "decision_agreement": {h: float(agree[:, i].mean()) if agree.size else 1.0
                               for i, h in enumerate(heads)},
        "decision_agreement_all": float(agree.mean()) if agree.size else 1.0,
        "pairs_with_all_heads_agreeing": float(agree.all(axis=1).mean()) if agree.size else 1.0,
    }


def near_thresholds(logits: np.ndarray, cuts: np.ndarray, margins: np.ndarray) -> np.ndarray:
    """Rows ``[n]`` of ``logits [n, heads]`` that lie within ``margins`` of some head's threshold
    logit ``cuts``: the pairs the boundary re-check scores again in fp32."""
    return (np.abs(logits - cuts) < margins).any(axis=1)


def recheck_report(reference: np.ndarray, candidate: np.ndarray, heads: list[str],
                   thresholds: dict[str, float], margins: Sequence[float]) -> dict[str, Any]:
    """Decision agreement of ``candidate`` with ``reference`` after the boundary re-check: rows
    of ``candidate`` near a threshold (:func:`near_thresholds`) take ``reference``'s logits."""
    cuts = np.array([logit_threshold(thresholds[h]) for h in heads], dtype=np.float32)
    near = near_thresholds(candidate, cuts, np.asarray(margins, dtype=np.float32))
    rechecked = np.where(near[:, None], reference, candidate)
    agree = (reference >= cuts) == (rechecked >= cuts)
    return {"margins": dict(zip(heads, (float(m) for m in margins))),
            "rescored_share": float(near.mean()) if near.size else 0.0,
            "decision_agreement": {h: float(agree[:, i].mean()) if agree.size else 1.0
                                   for i, h in enumerate(heads)}}
