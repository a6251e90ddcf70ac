"""Re-judging an evaluation's saved responses with other rewards, without generating again.

A retrained reward model changes every number of an ``eval quality`` folder, but not the
responses: ``fairguard eval rescore`` scores the folder's ``responses.jsonl`` anew and writes an
output folder of the same shape (so ``eval compare`` pairs it with others judged the same way).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fairguard.artifacts import write_jsonl
from fairguard.errors import ArtifactError, ConfigError
from fairguard.evaluation.compare import TEXT_FIELDS, load_responses
from fairguard.evaluation.quality import (
    category_summaries,
    quality_markdown,
    score_responses,
)
from fairguard.evaluation.report import write_report


def _source_metrics(folder: Path) -> dict[str, Any]:
    path = folder / "metrics.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{path} cannot be read ({exc}); re-run the evaluation") from exc
    return data if isinstance(data, dict) else {}


def rescore_evaluation(source: str | Path, out: str | Path, reward_model: str | None = None,
                       reward: str | None = None, overwrite: bool = False) -> dict[str, Any]:
    """Score ``source``'s responses with the given rewards; write metrics.json, metrics.md and
    responses.jsonl into ``out``; returns the metrics."""
    from fairguard.artifacts import atomic_output_dir
    from fairguard.scoring import build_rewards

    if reward_model is None and not reward:
        raise ConfigError("give --reward-model and/or --reward to score the responses with")
    source = Path(source)
    if Path(out).resolve() == source.resolve():
        raise ConfigError(f"--out {out} is the folder being re-scored; write to another folder")
    if Path(out).exists() and not overwrite:
        raise ArtifactError(f"{out} already exists; choose another --out or pass --overwrite")
    rows = list(load_responses(source).values())
    for row in rows:
        if not isinstance(row.get("prompt"), str) or not isinstance(row.get("response"), str):
            raise ArtifactError(f"{source}/responses.jsonl row {row.get('id')!r} has no prompt or "
                                "response text; re-run the evaluation")
    rewards = build_rewards(reward, reward_model=reward_model)
    prompts = [row["prompt"] for row in rows]
    responses = [row["response"] for row in rows]
    summary = score_responses(prompts, responses, rewards)
    before = _source_metrics(source)
    by_category = category_summaries([str(row.get("category", "all")) for row in rows], summary)
    metrics = {
        "kind": "quality-eval",
        "rescored_from": str(source.resolve()),
        **{key: before.get(key) for key in ("model", "adapter", "data", "split", "generation",
                                            "refine_layer")},
        "n": summary.n,
        "means": summary.means,
        "stds": summary.stds,
        "by_category": by_category,
        "rewards": {"reward_model": reward_model, "weights": rewards.weights,
                    "heads": list(rewards.heads)},
    }
    records = []
    for i, row in enumerate(rows):
        record = {key: row[key] for key in TEXT_FIELDS if key in row}
        record.update({head: values[i] for head, values in summary.scores.items()})
        records.append(record)
    title = f"Responses of {source} re-scored"
    with atomic_output_dir(out, overwrite) as tmp:
        write_report(tmp, metrics, quality_markdown(title, summary, by_category))
        write_jsonl(tmp / "responses.jsonl", records)
    return metrics


__all__ = ["rescore_evaluation"]
