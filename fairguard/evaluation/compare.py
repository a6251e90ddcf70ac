"""``fairguard eval compare``: paired change between two quality evaluations of the same prompts.

Reads the ``responses.jsonl`` of two ``fairguard eval quality`` output folders (say the base
model and an adapter), pairs the answers by prompt id, and reports per head the mean change,
its standard error and 95 % interval, overall and per category; and the same per judge (each
``--judge`` both folders were scored by), independent judges first.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from fairguard.artifacts import jsonl_objects
from fairguard.errors import ArtifactError, ConfigError
from fairguard.evaluation.cross_judge import (
    RELATION_LABELS,
    RELATION_ORDER,
    UNKNOWN,
    all_training,
    loud_warning,
)
from fairguard.evaluation.report import change_cell, markdown_table
from fairguard.metrics.evasion import is_evasive
from fairguard.metrics.paired import PairedChange, paired_change

RESPONSES = "responses.jsonl"
TEXT_FIELDS = ("id", "category", "prompt", "response")
JUDGES = "judges"  # a responses.jsonl row's scores per judge: {judge: {head: score}}
logger = logging.getLogger("fairguard")


@dataclass
class CompareConfig:
    """Options of ``fairguard eval compare``."""

    before: str = field(metadata={"help": "The `eval quality` output folder before the change.",
                                  "argument": True, "folder": True})
    after: str = field(metadata={"help": "The `eval quality` output folder after the change.",
                                 "argument": True, "folder": True})
    out: Path | None = field(default=None, metadata={
        "help": "Also write compare.json and compare.md into this folder."})
    overwrite: bool = field(default=False, metadata={
        "help": "Replace an existing --out folder.", "flag": "--overwrite"})


def _cells(change: PairedChange) -> tuple[Any, ...]:
    return (change.before, change.after, change_cell(change.change, change.se),
            f"[{change.ci95[0]:+.3f}, {change.ci95[1]:+.3f}]", f"{change.improved} / {change.worse}")


CHANGE_COLUMNS = ("before", "after", "change ± se", "95 % interval", "prompts up / down")


def _changes_dict(changes: dict[str, dict[str, PairedChange]]) -> dict[str, Any]:
    return {cat: {h: c.to_dict() for h, c in heads.items()} for cat, heads in changes.items()}


@dataclass(frozen=True)
class JudgeComparison:
    """One judge's per-head paired changes; ``relation`` is the less independent of the two
    folders' relations of this judge to the adapter's training judge. ``flagged``: the paired
    change of the share of answers under the judge's shipped threshold (heads with one);
    ``fair_answers``: the judge's mean for the dataset's own fair answers (a yardstick for how
    far answering fairly moves it), where the evaluation recorded it."""

    relation: str
    heads: dict[str, PairedChange]
    by_category: dict[str, dict[str, PairedChange]]
    flagged: dict[str, PairedChange] = field(default_factory=dict)
    fair_answers: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"relation": self.relation, "heads": {h: c.to_dict() for h, c in self.heads.items()},
                "flagged": {h: c.to_dict() for h, c in self.flagged.items()},
                "fair_answers": dict(self.fair_answers),
                "by_category": _changes_dict(self.by_category)}


@dataclass(frozen=True)
class Comparison:
    """Per-head paired changes from ``before`` to ``after`` over the prompts both evaluated, for
    the weighted reward's heads and per judge (independent judges first)."""

    before: str
    after: str
    heads: dict[str, PairedChange]
    by_category: dict[str, dict[str, PairedChange]]
    only_before: int
    only_after: int
    judges: dict[str, JudgeComparison] = field(default_factory=dict)
    repeated_rows: int = 0
    evasive: PairedChange | None = None

    @property
    def n(self) -> int:
        changes = [*self.heads.values(), *(c for j in self.judges.values() for c in j.heads.values())]
        return changes[0].n

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "quality-comparison", "before": self.before, "after": self.after, "n": self.n,
            "judges": {name: judge.to_dict() for name, judge in self.judges.items()},
            "every_judge_is_training_judge": all_training([j.relation for j in self.judges.values()]),
            "heads": {h: c.to_dict() for h, c in self.heads.items()},
            "by_category": _changes_dict(self.by_category),
            "only_before": self.only_before, "only_after": self.only_after,
            "repeated_rows": self.repeated_rows,
            "evasive": self.evasive.to_dict() if self.evasive is not None else None,
        }

    def markdown(self) -> str:
        """The judges' table first (independent judges first), then the weighted reward's
        overall table and its change per category and head, then the change in answers that
        decline or deflect."""
        repeated = (f" ({self.repeated_rows} more rows repeat one of these prompts; each prompt "
                    "counts once, as the mean of its rows)" if self.repeated_rows else "")
        lines = [f"# {self.after} vs {self.before}\n",
                 f"{self.n} prompts evaluated by both{repeated}; change = after - before, paired "
                 "by prompt.\n"]
        if self.judges:
            lines.append("## Judges\n")
            lines.append(markdown_table(("judge", "relation", "head", *CHANGE_COLUMNS, "fair answers"), [
                (name, RELATION_LABELS[judge.relation], h, *_cells(c), judge.fair_answers.get(h))
                for name, judge in self.judges.items() for h, c in judge.heads.items()]))
            flagged = [(name, h, *_cells(c)) for name, judge in self.judges.items()
                       for h, c in judge.flagged.items()]
            if flagged:
                lines.append("Share of answers each judge flags (under its shipped threshold); "
                             "\"fair answers\" above is the judge's mean for the dataset's own fair "
                             "answers to the same prompts.\n")
                lines.append(markdown_table(("judge", "flagged by head", *CHANGE_COLUMNS), flagged))
            warning = loud_warning([j.relation for j in self.judges.values()])
            if warning:
                lines.append(warning)
            if self.heads:
                lines.append("## Weighted reward\n")
        if self.heads:
            lines.append(self._heads_markdown())
        if self.evasive is not None:
            lines.append("\n## Answers that decline or deflect\n")
            lines.append("By the evasion rules (`fairguard.metrics.evasion`), read from both "
                         "folders' responses.\n")
            lines.append(markdown_table(("measure", *CHANGE_COLUMNS),
                                        [("evasive answers", *_cells(self.evasive))]))
        return "\n".join(lines)

    def _heads_markdown(self) -> str:
        """The weighted reward's overall table and its change per category and head."""
        lines = [markdown_table(("head", *CHANGE_COLUMNS),
                                [(h, *_cells(c)) for h, c in self.heads.items()])]
        if len(self.by_category) > 1:
            heads = list(self.heads)
            lines.append("\n## Change by category\n")
            by_cat = [(cat, changes[heads[0]].n, *(change_cell(changes[h].change, changes[h].se)
                                                   for h in heads))
                      for cat, changes in sorted(self.by_category.items())]
            lines.append(markdown_table(("category", "n", *heads), by_cat))
        return "\n".join(lines)


def load_responses(folder: str | Path, name: str = RESPONSES,
                   command: str = "eval quality") -> dict[str, dict[str, Any]]:
    """The rows of ``folder/<name>`` (an evaluation's saved answers) by prompt id."""
    path = Path(folder) / name
    if not path.is_file():
        raise ArtifactError(f"{path} not found; point at the --out folder of a `fairguard "
                            f"{command}` run")
    rows: dict[str, dict[str, Any]] = {}
    for number, row in jsonl_objects(path, fix="re-run the evaluation"):
        if "id" not in row:
            raise ArtifactError(f"{path} line {number} has no prompt id; re-run the evaluation "
                                "with a current fairguard")
        rows[str(row["id"])] = row
    if not rows:
        raise ArtifactError(f"{path} is empty; re-run the evaluation")
    return rows


def load_metrics(folder: str | Path) -> dict[str, Any]:
    """``folder/metrics.json`` of an evaluation ({} when the folder has none)."""
    path = Path(folder) / "metrics.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{path} cannot be read ({exc}); re-run the evaluation") from exc
    return data if isinstance(data, dict) else {}


def _score_heads(row: dict[str, Any]) -> list[str]:
    return [k for k, v in row.items()
            if k not in TEXT_FIELDS and isinstance(v, (int, float)) and not isinstance(v, bool)]


def _recorded_judges(folder: str | Path) -> dict[str, dict[str, Any]]:
    """``metrics.json``'s ``judges`` of an evaluation folder ({} when missing or unreadable)."""
    try:
        judges = load_metrics(folder).get(JUDGES)
    except ArtifactError:
        return {}
    return ({str(k): v for k, v in judges.items() if isinstance(v, dict)}
            if isinstance(judges, dict) else {})


def _numbers(value: Any) -> dict[str, float]:
    """The finite numbers of a ``{head: number}`` mapping."""
    if not isinstance(value, dict):
        return {}
    return {str(k): float(v) for k, v in value.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}


def _judges_of(row: dict[str, Any]) -> dict[str, dict[str, Any]]:
    judges = row.get(JUDGES)
    return {str(k): v for k, v in judges.items() if isinstance(v, dict)} if isinstance(judges, dict) else {}


def _compare_judges(before: str | Path, after: str | Path, old: dict[str, dict[str, Any]],
                    new: dict[str, dict[str, Any]], ids: list[str],
                    changes: Callable[..., dict[str, PairedChange]],
                    categories: dict[str, list[str]]) -> dict[str, JudgeComparison]:
    """Per judge that scored both folders: its paired changes, independent judges first."""
    first_old, first_new = _judges_of(old[ids[0]]), _judges_of(new[ids[0]])
    names = [name for name in first_new if name in first_old]
    for name in sorted(set(first_old).symmetric_difference(first_new)):
        logger.warning("judge %s scored only one of %s and %s; it is left out of the comparison",
                       name, before, after)
    recorded_before, recorded_after = _recorded_judges(before), _recorded_judges(after)
    out: dict[str, JudgeComparison] = {}
    for name in names:
        heads = [h for h in first_old[name] if h in first_new[name]]
        if not heads:
            continue
        info_before, info_after = recorded_before.get(name, {}), recorded_after.get(name, {})
        relation = max((str(info.get("relation")) if info.get("relation") in RELATION_ORDER
                        else UNKNOWN for info in (info_before, info_after)),
                       key=RELATION_ORDER.index)
        thresholds = _numbers(info_before.get("thresholds"))
        other = _numbers(info_after.get("thresholds"))
        moved = sorted(h for h in thresholds if h in other and abs(thresholds[h] - other[h]) > 1e-9)
        if moved:
            logger.warning("judge %s records other thresholds in %s and %s (%s); its flagged "
                           "shares are not compared", name, before, after, ", ".join(moved))
        flag_heads = [h for h in heads if h in thresholds and h in other and h not in moved]
        fair = ((info_before.get("references") or {}).get("fair") or {}).get("means")
        out[name] = JudgeComparison(
            relation, changes(ids, heads, name),
            {cat: changes(members, heads, name) for cat, members in categories.items()},
            changes(ids, flag_heads, name, thresholds), _numbers(fair))
    order = sorted(out, key=lambda name: RELATION_ORDER.index(out[name].relation))
    return {name: out[name] for name in order}


def compare_evaluations(before: str | Path, after: str | Path) -> Comparison:
    """Pair the two evaluations' answers by prompt id and compare every head both scored, for
    the weighted reward and per judge; rows that share a prompt text (folders of older
    versions, which evaluated every row of a split) count once, as their mean."""
    old, new = load_responses(before), load_responses(after)
    ids = [i for i in old if i in new]
    if not ids:
        raise ConfigError(f"{before} and {after} share no prompt ids; evaluate both on the same "
                          "--data, --split and --limit")
    for i in ids:
        if old[i].get("prompt") != new[i].get("prompt"):
            raise ConfigError(f"prompt {i!r} differs between {before} and {after}; they were "
                              "evaluated on different datasets")
    shared: dict[str, list[str]] = {}
    for i in ids:
        shared.setdefault(str(old[i].get("prompt")), []).append(i)
    rows_of = {members[0]: members for members in shared.values()}
    firsts = list(rows_of)
    first_new = new[firsts[0]]
    heads = [h for h in _score_heads(old[firsts[0]]) if h in first_new]

    def changes(subset: list[str], names: list[str] = heads, judge: str | None = None,
                flag_below: dict[str, float] | None = None) -> dict[str, PairedChange]:
        """Paired changes over the prompts ``subset`` (first ids) of each head's score, or
        (``flag_below``: thresholds) of whether the answer is flagged (1) or not (0); rows that
        share a prompt count once, as their mean."""
        def value(rows: dict[str, dict[str, Any]], i: str, h: str, folder: str | Path) -> float:
            scores = [_value(rows[j], h, folder, judge) for j in rows_of[i]]
            if flag_below is not None:
                scores = [float(score < flag_below[h]) for score in scores]
            return sum(scores) / len(scores)

        return {h: paired_change([value(old, i, h, before) for i in subset],
                                 [value(new, i, h, after) for i in subset]) for h in names}

    categories: dict[str, list[str]] = {}
    for i in firsts:
        categories.setdefault(str(old[i].get("category") or "all"), []).append(i)
    judges = _compare_judges(before, after, old, new, firsts, changes, categories)
    if not heads and not judges:
        raise ConfigError(f"{before} and {after} have no score head in common")

    def evasive(rows: dict[str, dict[str, Any]]) -> list[float]:
        return [sum(is_evasive(str(rows[j].get("response", ""))) for j in rows_of[i]) / len(rows_of[i])
                for i in firsts]

    return Comparison(before=str(before), after=str(after), heads=changes(firsts),
                      by_category={cat: changes(members) for cat, members in categories.items()}
                      if heads else {},
                      only_before=len(old) - len(ids), only_after=len(new) - len(ids),
                      judges=judges, repeated_rows=len(ids) - len(firsts),
                      evasive=paired_change(evasive(old), evasive(new)))


def _value(row: dict[str, Any], head: str, folder: str | Path, judge: str | None = None) -> float:
    scores = row if judge is None else _judges_of(row).get(judge, {})
    value = scores.get(head)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        whose = f"judge {judge}'s " if judge is not None else ""
        raise ArtifactError(f"{folder}: prompt {row.get('id')!r} has no {whose}{head!r} score; "
                            "re-run the evaluation")
    return float(value)


def write_comparison(comparison: Comparison, out: str | Path, overwrite: bool = False) -> Path:
    """Write ``compare.json`` and ``compare.md`` into ``out`` (atomically)."""
    from fairguard.artifacts import atomic_output_dir, write_json

    with atomic_output_dir(out, overwrite) as tmp:
        write_json(tmp / "compare.json", comparison.to_dict())
        (tmp / "compare.md").write_text(comparison.markdown(), encoding="utf-8")
    return Path(out)


def run_compare(config: CompareConfig) -> Comparison:
    """Compare ``config.before`` with ``config.after``; write the comparison into ``config.out``
    when one is given."""
    comparison = compare_evaluations(config.before, config.after)
    if config.out:
        write_comparison(comparison, config.out, overwrite=config.overwrite)
    return comparison


__all__ = ["CompareConfig", "Comparison", "JudgeComparison", "compare_evaluations", "load_metrics",
           "load_responses", "run_compare", "write_comparison"]
