"""Re-judging an evaluation's saved responses with other rewards, without generating again.

A retrained reward model changes every number of an ``eval quality`` folder, but not the
responses: ``fairguard eval rescore`` scores the folder's ``responses.jsonl`` anew and writes an
output folder of the same shape (so ``eval compare`` pairs it with others judged the same way).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fairguard.artifacts import write_jsonl
from fairguard.errors import ArtifactError, ConfigError, FairguardError
from fairguard.evaluation.compare import TEXT_FIELDS, load_metrics, load_responses
from fairguard.evaluation.cross_judge import (
    JUDGE_HELP,
    Reference,
    check_judges,
    judges_metrics,
    load_judges,
    reference_answers,
    row_scores,
    training_judge,
    weighted_reward_note,
)
from fairguard.evaluation.quality import (
    category_summaries,
    load_eval_prompts,
    no_scores,
    quality_markdown,
    score_responses,
    score_with_judges,
)
from fairguard.evaluation.report import write_report

logger = logging.getLogger("fairguard")


def _check_rescore(source: str | Path, out: str | Path, reward_model: str | None,
                   reward: str | None, judges: tuple[str, ...]) -> None:
    if reward_model is None and not reward and not judges:
        raise ConfigError("give --judge, --reward-model and/or --reward to score the responses with")
    if Path(out).resolve() == Path(source).resolve():
        raise ConfigError(f"--out {out} is the folder being re-scored; write to another folder")


@dataclass(kw_only=True)
class RescoreConfig:
    """Options of ``fairguard eval rescore``."""

    source: str = field(metadata={"help": "The `eval quality` output folder whose responses are scored.",
                                  "argument": True, "folder": True})
    reward_model: str | None = field(default=None, metadata={
        "help": "Reward-model folder (fairness/relevance/fluency heads)."})
    reward: str | None = field(default=None, metadata={
        "help": "Rewards and weights, e.g. fairness=1,relevance=0.5,gender-bias=0.3."})
    judge: tuple[str, ...] = field(default=(), metadata={"help": JUDGE_HELP, "multiple": True})
    out: str = field(metadata={"help": "Output folder (metrics.json, metrics.md, responses.jsonl)."})
    overwrite: bool = field(default=False, metadata={
        "help": "Replace an existing --out folder.", "flag": "--overwrite"})

    def __post_init__(self) -> None:
        self.judge = check_judges(self.judge)
        _check_rescore(self.source, self.out, self.reward_model, self.reward, self.judge)


def rescore_evaluation(source: str | Path, out: str | Path, reward_model: str | None = None,
                       reward: str | None = None, overwrite: bool = False,
                       judges: tuple[str, ...] | list[str] = ()) -> dict[str, Any]:
    """Score ``source``'s responses with the given rewards and each judge (reward-model folders
    reported separately, checked against the adapter that ``source`` evaluated); write
    metrics.json, metrics.md and responses.jsonl into ``out``; returns the metrics."""
    from fairguard.artifacts import atomic_output_dir
    from fairguard.scoring import build_rewards

    judges = check_judges(judges)
    _check_rescore(source, out, reward_model, reward, judges)
    source = Path(source)
    if Path(out).exists() and not overwrite:
        raise ArtifactError(f"{out} already exists; choose another --out or pass --overwrite")
    rows = list(load_responses(source).values())
    for row in rows:
        if not isinstance(row.get("prompt"), str) or not isinstance(row.get("response"), str):
            raise ArtifactError(f"{source}/responses.jsonl row {row.get('id')!r} has no prompt or "
                                "response text; re-run the evaluation")
    rewards = build_rewards(reward, reward_model=reward_model) if reward_model or reward else None
    loaded = load_judges(judges)
    prompts = [row["prompt"] for row in rows]
    responses = [row["response"] for row in rows]
    summary = (score_responses(prompts, responses, rewards) if rewards is not None
               else no_scores(len(rows)))
    before = load_metrics(source)
    adapter = before.get("adapter")
    trained = training_judge(adapter if isinstance(adapter, str) else None)
    categories = [str(row.get("category", "all")) for row in rows]
    judged = score_with_judges(judges, loaded, prompts, responses, categories, trained,
                               _references(before, rows) if judges else [])
    relation, note = weighted_reward_note(reward_model, trained)
    by_category = category_summaries(categories, summary)
    metrics = {
        "kind": "quality-eval",
        "rescored_from": str(source.resolve()),
        **{key: before.get(key) for key in ("model", "adapter", "data", "split", "generation",
                                            "refine_layer")},
        "n": summary.n,
        "means": summary.means,
        "stds": summary.stds,
        "by_category": by_category,
        "rewards": ({"reward_model": reward_model, "weights": rewards.weights,
                     "heads": list(rewards.heads), "relation": relation.kind if relation else None}
                    if rewards is not None else None),
        **judges_metrics(judged, trained),
    }
    records = []
    for i, row in enumerate(rows):
        record = {key: row[key] for key in TEXT_FIELDS if key in row}
        record.update({head: values[i] for head, values in summary.scores.items()})
        if judged:
            record["judges"] = row_scores(judged, i)
        records.append(record)
    title = f"Responses of {source} re-scored"
    with atomic_output_dir(out, overwrite) as tmp:
        write_report(tmp, metrics, quality_markdown(title, summary, by_category, judged, note))
        write_jsonl(tmp / "responses.jsonl", records)
    return metrics


def _references(metrics: dict[str, Any], rows: list[dict[str, Any]]) -> list[Reference]:
    """The dataset's own answers to the re-scored prompts, from the dataset folder and split
    the source evaluation records; none (logged) where that folder is gone or its prompts
    differ."""
    data, split = metrics.get("data"), metrics.get("split")
    if not isinstance(data, str) or not isinstance(split, str) or not Path(data).is_dir():
        logger.info("the source's dataset folder %r is not here: no reference answers", data)
        return []
    try:
        by_id = {str(getattr(row, "id", "")): row for row in load_eval_prompts(data, split)}
    except FairguardError as exc:
        logger.info("reference answers left out: %s", exc)
        return []
    found = [by_id.get(str(row.get("id"))) for row in rows]
    matched = [r for r, row in zip(found, rows) if r is not None and r.prompt == row["prompt"]]
    if len(matched) != len(rows):
        logger.info("%s no longer holds the evaluated prompts: no reference answers", data)
        return []
    return reference_answers(matched)


def run_rescore(config: RescoreConfig) -> dict[str, Any]:
    """:func:`rescore_evaluation` with the options of ``config``."""
    return rescore_evaluation(config.source, config.out, config.reward_model, config.reward,
                              overwrite=config.overwrite, judges=config.judge)


__all__ = ["RescoreConfig", "rescore_evaluation", "run_rescore"]
