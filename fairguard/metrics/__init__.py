"""Bias and quality metrics: UnQover (delta, epsilon, B, C, mu, eta), BBQ-style bias scores,
GenBit-style gendered language, evasion, multiple-choice answer matching,
and the fairness / relevance / fluency evaluation triple."""

from fairguard.metrics.unqover import (
    SubjectScore,
    UnQoverMetrics,
    attributive_error,
    bias_intensity,
    comparative_bias,
    positional_error,
    subject_bias,
    unqover_metrics,
)

__all__ = [
    "SubjectScore",
    "UnQoverMetrics",
    "attributive_error",
    "bias_intensity",
    "comparative_bias",
    "positional_error",
    "subject_bias",
    "unqover_metrics",
]
