"""Knowledge distillation for ``fairguard train reward --teacher``: a judge learns from another
judge's scores as well as from the labels (Hinton et al., 2015), so that a small, fast encoder
can take on what a larger one reads in the same training pairs.

Each training pair is scored once by the teacher (a reward-model folder or its ONNX export,
read as the guard reads it) before the first step. A head's training target is then
``teacher_weight x teacher score + (1 - teacher_weight) x label`` where the pair has a label for
that head, and the teacher's score alone where it has none (pairs that the dataset labels for
fairness only also learn the teacher's relevance and fluency). The same-prompt ranking term
still reads the labels' order.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from fairguard.errors import ArtifactError, ConfigError

log = logging.getLogger(__name__)


def check_teacher(path: str, heads: Sequence[str]) -> None:
    """Refuse a ``--teacher`` that is not a reward-model folder or lacks one of ``heads``."""
    from fairguard.reward_model.model import read_reward_metadata

    try:  # a trained folder and its ONNX export carry the same metadata
        _, have = read_reward_metadata(Path(path).expanduser())
    except ArtifactError as exc:
        raise ConfigError(f"--teacher {path}: {exc}") from exc
    missing = [h for h in heads if h not in have]
    if missing:
        raise ConfigError(f"--teacher {path} has heads {list(have)}, not {missing}; give a judge "
                          "with every head of this run (--heads)")


def teacher_scores(path: str, prompts: Sequence[str], responses: Sequence[str],
                   heads: Sequence[str], batch_size: int = 64, progress: bool = True
                   ) -> np.ndarray:
    """The teacher's ``(pairs, heads)`` scores in [0, 1]."""
    from fairguard.evaluation.judge import score_cases
    from fairguard.registry import get_reward
    from fairguard.scoring import REWARD_MODEL

    reward = get_reward(REWARD_MODEL, path=str(Path(path).expanduser()), batch_size=batch_size)
    out = score_cases(reward, prompts, responses, chunk=batch_size * 4, progress=progress,
                      desc="teacher")
    scores = np.stack([np.asarray(out[h], dtype=np.float64) for h in heads], axis=1)
    if not np.isfinite(scores).all():
        raise ConfigError(f"--teacher {path} gave non-finite scores; check the teacher with "
                          "`fairguard score`")
    return np.clip(scores, 0.0, 1.0)


def blend_targets(labels: np.ndarray, teacher: np.ndarray, weight: float) -> np.ndarray:
    """Training targets: the teacher's share ``weight`` where a label exists, the teacher's
    score where it is NaN."""
    labels = np.asarray(labels, dtype=np.float64)
    blended = weight * teacher + (1.0 - weight) * labels
    return np.where(np.isnan(labels), teacher, blended)


def distilled_targets(config: Any, examples: Any, heads: Sequence[str]
                      ) -> tuple[np.ndarray, dict[str, Any]]:
    """``examples``' targets with ``config.teacher``'s scores blended in, and a report of how
    often the teacher agreed with the labels."""
    start = time.perf_counter()
    teacher = teacher_scores(config.teacher, examples.prompts, examples.responses, heads,
                             config.eval_batch_size, config.progress)
    labels = np.asarray(examples.labels, dtype=np.float64)
    agreement = {}
    for h, head in enumerate(heads):
        known = ~np.isnan(labels[:, h])
        agreement[head] = {
            "labelled_pairs": int(known.sum()),
            "unlabelled_pairs": int((~known).sum()),
            "agreement": (float(((teacher[known, h] >= 0.5) == (labels[known, h] >= 0.5)).mean())
                          if known.any() else None),
            "mean_teacher_score_unlabelled": (float(teacher[~known, h].mean())
                                              if (~known).any() else None)}
    seconds = round(time.perf_counter() - start, 1)
    log.info("teacher %s scored %d training pairs in %.0f s; agreement with the labels: %s",
             config.teacher, len(labels), seconds,
             ", ".join(f"{h} {a['agreement']:.3f}" for h, a in agreement.items()
                       if a["agreement"] is not None))
    report = {"teacher": str(config.teacher), "weight": float(config.teacher_weight),
              "seconds": seconds, "heads": agreement}
    return blend_targets(labels, teacher, float(config.teacher_weight)), report
