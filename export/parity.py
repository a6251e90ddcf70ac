"""Comparing an exported model's logits with the torch model's, on the same tokenised batches."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from fairguard.reward_model import tokenize_pairs


def _batches(n: int, batch_size: int) -> list[slice]:
    return [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


def torch_logits(model: Any, tokenizer: Any, prompts: Sequence[str], responses: Sequence[str],
                 max_length: int, batch_size: int = 16, progress: Any = None) -> np.ndarray:
    """Logits ``[n, heads]`` of the torch model (eval mode, no grad), batch by batch."""
    import torch

    out = []
    with torch.inference_mode():
        for part in _batches(len(prompts), batch_size):
            enc = tokenize_pairs(tokenizer, prompts[part], responses[part], max_length)
            out.append(model(**enc).logits.float().numpy())
            if progress is not None:
                progress.update(part.stop - part.start)
    return np.concatenate(out, axis=0)


def onnx_logits(session: Any, tokenizer: Any, prompts: Sequence[str], responses: Sequence[str],
                max_length: int, batch_size: int = 16, progress: Any = None) -> np.ndarray:
    """Logits ``[n, heads]`` of an onnxruntime session, batched as :func:`torch_logits`."""
    from fairguard.export.session import session_feed

    out = []
    for part in _batches(len(prompts), batch_size):
        enc = tokenize_pairs(tokenizer, prompts[part], responses[part], max_length,
                             return_tensors="np")
        out.append(np.asarray(session.run(None, session_feed(session, enc))[0], dtype=np.float32))
        if progress is not None:
            progress.update(part.stop - part.start)
    return np.concatenate(out, axis=0)


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
