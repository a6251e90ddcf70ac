"""Evaluation runners: generate with a policy LM and score with rewards (the fairness /
relevance / fluency triple of multi-reward GRPO), held-out before/after evaluation of a trained
policy, and BBQ-style multiple choice by option log-likelihood. They write ``metrics.json`` and a
markdown table into an output folder; the trainers reuse the library functions."""

from fairguard.evaluation.quality import (
    QualityEvalConfig,
    QualityEvaluation,
    evaluate_quality,
    run_quality_eval,
    score_responses,
)
from fairguard.evaluation.rescore import rescore_evaluation
from fairguard.generation import (
    DecodingConfig,
    format_prompts,
    generate_responses,
    load_policy,
)

__all__ = [
    "DecodingConfig",
    "QualityEvalConfig",
    "QualityEvaluation",
    "evaluate_quality",
    "format_prompts",
    "generate_responses",
    "load_policy",
    "rescore_evaluation",
    "run_quality_eval",
    "score_responses",
]
