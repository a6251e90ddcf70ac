"""``fairguard eval compare``: paired change between two quality evaluations of the same prompts.

Reads the ``responses.jsonl`` of two ``fairguard eval quality`` output folders (say the base
model and an adapter), pairs the answers by prompt id, and reports per head the mean change,
its standard error and 95 % interval, overall and per category.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fairguard.artifacts import jsonl_objects
from fairguard.errors import ArtifactError, ConfigError
from fairguard.evaluation.report import markdown_table
from fairguard.metrics.paired import PairedChange, paired_change

RESPONSES = "responses.jsonl"
TEXT_FIELDS = ("id", "category", "prompt", "response")


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


@dataclass(frozen=True)
class Comparison:
    """Per-head paired changes from ``before`` to ``after`` over the prompts both evaluated."""

    before: str
    after: str
    heads: dict[str, PairedChange]
    by_category: dict[str, dict[str, PairedChange]]
    only_before: int
    only_after: int

    @property
    def n(self) -> int:
        return next(iter(self.heads.values())).n

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "quality-comparison", "before": self.before, "after": self.after, "n": self.n,
            "heads": {h: c.to_dict() for h, c in self.heads.items()},
            "by_category": {cat: {h: c.to_dict() for h, c in heads.items()}
                            for cat, heads in self.by_category.items()},
            "only_before": self.only_before, "only_after": self.only_after,
        }

    def markdown(self) -> str:
        """The overall table, then change per category and head."""
        lines = [f"# {self.after} vs {self.before}\n",
                 f"{self.n} prompts evaluated by both; change = after - before, paired by prompt.\n"]
        rows = [(h, c.before, c.after, f"{c.change:+.3f} ± {c.se:.3f}",
                 f"[{c.ci95[0]:+.3f}, {c.ci95[1]:+.3f}]", f"{c.improved} / {c.worse}")
                for h, c in self.heads.items()]
        lines.append(markdown_table(("head", "before", "after", "change ± se", "95 % interval",
                                     "prompts up / down"), rows))
        if len(self.by_category) > 1:
            heads = list(self.heads)
            lines.append("\n## Change by category\n")
            by_cat = [(cat, changes[heads[0]].n, *(f"{changes[h].change:+.3f} ± {changes[h].se:.3f}"
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


def _score_heads(row: dict[str, Any]) -> list[str]:
    return [k for k, v in row.items()
            if k not in TEXT_FIELDS and isinstance(v, (int, float)) and not isinstance(v, bool)]


def compare_evaluations(before: str | Path, after: str | Path) -> Comparison:
    """Pair the two evaluations' answers by prompt id and compare every head both scored."""
    old, new = load_responses(before), load_responses(after)
    ids = [i for i in old if i in new]
    if not ids:
        raise ConfigError(f"{before} and {after} share no prompt ids; evaluate both on the same "
                          "--data, --split and --limit")
    for i in ids:
        if old[i].get("prompt") != new[i].get("prompt"):
            raise ConfigError(f"prompt {i!r} differs between {before} and {after}; they were "
                              "evaluated on different datasets")
    first_new = new[ids[0]]
    heads = [h for h in _score_heads(old[ids[0]]) if h in first_new]
    if not heads:
        raise ConfigError(f"{before} and {after} have no score head in common")

    def changes(subset: list[str]) -> dict[str, PairedChange]:
        return {h: paired_change([_value(old[i], h, before) for i in subset],
                                 [_value(new[i], h, after) for i in subset]) for h in heads}

    categories: dict[str, list[str]] = {}
    for i in ids:
        categories.setdefault(str(old[i].get("category") or "all"), []).append(i)
    return Comparison(before=str(before), after=str(after), heads=changes(ids),
                      by_category={cat: changes(members) for cat, members in categories.items()},
                      only_before=len(old) - len(ids), only_after=len(new) - len(ids))


def _value(row: dict[str, Any], head: str, folder: str | Path) -> float:
    value = row.get(head)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ArtifactError(f"{folder}: prompt {row.get('id')!r} has no {head!r} score; re-run the "
                            "evaluation")
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


__all__ = ["CompareConfig", "Comparison", "compare_evaluations", "load_responses", "run_compare",
           "write_comparison"]
