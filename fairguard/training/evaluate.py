"""Before/after evaluation of a policy: mean reward heads of greedy answers to held-out prompts.

Uses ``fairguard.evaluation.evaluate_quality`` (the shared seed-000 style evaluation) when it is
installed, else an equivalent local loop (greedy answers, mean of every reward head).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from fairguard.scoring import TOTAL, WeightedRewards
from fairguard.training.rollout import sample_completions


def generate_greedy(model: Any, tokenizer: Any, prompts: Sequence[str], max_new_tokens: int,
                    batch_size: int = 16) -> list[str]:
    """One greedy completion per prompt, batched."""
    out: list[str] = []
    for i in range(0, len(prompts), batch_size):
        rollout = sample_completions(model, tokenizer, prompts[i:i + batch_size], 1,
                                     max_new_tokens, do_sample=False)
        out.extend(rollout.completions)
    return out


def _shared_evaluation(model: Any, tokenizer: Any, prompts: list[str], rewards: WeightedRewards,
                       max_new_tokens: int) -> tuple[list[str], dict[str, Any]] | None:
    try:
        from fairguard.evaluation.generation import GenerationConfig
        from fairguard.evaluation.quality import evaluate_quality
    except ImportError:
        return None
    result = evaluate_quality(model, tokenizer, prompts, rewards,
                              GenerationConfig(max_new_tokens=max_new_tokens, batch_size=16),
                              progress=False)
    return list(result.responses), {h: list(v) for h, v in result.summary.scores.items()}


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
    shared = None if generate else _shared_evaluation(model, tokenizer, prompts, rewards, max_new_tokens)
    if generate is not None:
        completions = generate(prompts, max_new_tokens)
        scores = {h: list(v) for h, v in rewards.score(prompts, completions).items()}
        evaluator = "fairguard.training.evaluate (diffusion sampler, temperature 0)"
    elif shared is not None:
        completions, scores = shared
        evaluator = "fairguard.evaluation.evaluate_quality"
    else:
        completions = generate_greedy(model, tokenizer, prompts, max_new_tokens)
        scores = {h: list(v) for h, v in rewards.score(prompts, completions).items()}
        evaluator = "fairguard.training.evaluate"
    return {
        "n": len(prompts),
        "heads": {h: float(np.mean(v)) for h, v in scores.items() if h != TOTAL},
        "total": float(np.mean(scores[TOTAL])),
        "evaluator": evaluator,
        "scores": {h: [float(x) for x in v] for h, v in scores.items()},
        "examples": [{"prompt": p, "completion": c}
                     for p, c in list(zip(prompts, completions))[:examples]],
    }
