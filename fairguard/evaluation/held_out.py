"""Held-out evaluation of a policy before and after training: the mean reward heads of its
greedy answers to held-out prompts (the trainer's ``metrics.json``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from fairguard.evaluation.quality import evaluate_quality
from fairguard.generation import DecodingConfig
from fairguard.scoring import TOTAL, WeightedRewards


def generate_greedy(model: Any, tokenizer: Any, prompts: Sequence[str], max_new_tokens: int,
                    batch_size: int = 16) -> list[str]:
    """One greedy completion per prompt, batched, with the trainer's rollout sampler."""
    from fairguard.training.rollout import sample_completions

    out: list[str] = []
    for i in range(0, len(prompts), batch_size):
        rollout = sample_completions(model, tokenizer, prompts[i:i + batch_size], 1,
                                     max_new_tokens, do_sample=False)
        out.extend(rollout.completions)
    return out


def evaluate_policy(model: Any, tokenizer: Any, prompts: Sequence[str], rewards: WeightedRewards,
                    max_new_tokens: int, examples: int = 3,
                    generate: Callable[[Sequence[str], int], list[str]] | None = None
                    ) -> dict[str, Any]:
    """``{"n", "heads": {head: mean}, "total", "scores", "examples"}`` over greedy answers to
    ``prompts``; ``scores`` holds every head's per-prompt values (for paired before/after changes).

    ``generate(prompts, max_new_tokens)`` replaces ``model.generate`` (a masked-diffusion
    policy's sampler at temperature 0).
    """
    prompts = list(prompts)
    if generate is not None:
        completions = generate(prompts, max_new_tokens)
        scores = {h: list(v) for h, v in rewards.score(prompts, completions).items()}
        evaluator = "fairguard.evaluation.held_out (diffusion sampler, temperature 0)"
    else:
        result = evaluate_quality(model, tokenizer, prompts, rewards,
                                  DecodingConfig(max_new_tokens=max_new_tokens, batch_size=16),
                                  progress=False)
        completions = list(result.responses)
        scores = {h: list(v) for h, v in result.summary.scores.items()}
        evaluator = "fairguard.evaluation.evaluate_quality"
    return {
        "n": len(prompts),
        "heads": {h: float(np.mean(v)) for h, v in scores.items() if h != TOTAL},
        "total": float(np.mean(scores[TOTAL])),
        "evaluator": evaluator,
        "scores": {h: [float(x) for x in v] for h, v in scores.items()},
        "examples": [{"prompt": p, "completion": c}
                     for p, c in list(zip(prompts, completions))[:examples]],
    }
