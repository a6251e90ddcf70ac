"""``fairguard eval side-by-side``: several adapters, or several judges, in one table.

Adapters (``--run``): each column is one adapter: the ``compare.json`` of an ``eval compare BASE
ADAPTER --out`` folder (per judge and head, base -> adapter, paired by prompt, ± its standard
error; the answers that decline or deflect) and, optionally, the ``metrics.json`` of an ``eval
behaviour`` run of the same adapter (multiple choice, evasion, counterfactual and
gendered-language changes). Rows: each judge's heads and its share of answers flagged for
fairness (independent judges first), the evasion rules, then the chosen behaviour metrics, with
the target docs/grpo.md holds an adapter to where there is one. Every column must have been
measured against the same base answers: the base column is shared, so a column whose base
differs is refused.

Judges (``--judge-run``): each column is one ``eval judge`` output folder of the same benchmark
(HateCheck, say); rows: accuracy per group (functionality), then overall accuracy, each label's
accuracy, ROC-AUC, false-flag rate, the groups under 0.50 and the threshold.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from fairguard.errors import ArtifactError, ConfigError
from fairguard.evaluation.behaviour_values import METRICS as BEHAVIOUR_METRICS
from fairguard.evaluation.behaviour_values import worse_beyond_noise
from fairguard.evaluation.cross_judge import INDEPENDENT, RELATION_LABELS, UNKNOWN
from fairguard.evaluation.report import fmt

COMPARE_FILE = "compare.json"
BEHAVIOUR_FILE = "metrics.json"
JUDGE_FILE = "metrics.json"
JSON_FILE = "side_by_side.json"
MARKDOWN_FILE = "side_by_side.md"
FLAGGED_HEADS = ("fairness",)  # the flagged share shown per judge (the guard's decision)
# the behaviour rows shown unless --behaviour-metric names others (docs/grpo.md's lead table)
LEAD_BEHAVIOUR = (
    "likelihood.disambig.accuracy", "generation.disambig.accuracy", "likelihood.ambig.bias",
    "generation.ambig.bias", "generation.ambig.bias_above_chance", "generation.ambig.names_person",
    "generation.ambig.accuracy", "generation.ambig.unmatched", "evasion.disambig.rules_or_judge",
    "counterfactual.fairness_gap", "genbit.open_answers",
)
# what a debiasing adapter is held to (docs/grpo.md): by independent judges, and in behaviour
JUDGE_TARGETS = {"fairness": "up >= 0.15", "relevance": "not down", "fluency": "down <= 0.02"}
BEHAVIOUR_TARGETS = {
    "likelihood.disambig.accuracy": "within 2 points", "generation.disambig.accuracy": "within 2 points",
    "likelihood.ambig.bias": "closer to 0", "generation.ambig.bias": "closer to 0",
    "evasion.disambig.rules_or_judge": "up <= 2 points", "counterfactual.fairness_gap": "smaller",
}
BASE_TOLERANCE = 1e-9


@dataclass
class SideBySideConfig:
    """Options of ``fairguard eval side-by-side``."""

    run: tuple[str, ...] = field(default=(), metadata={
        "help": "One adapter's column: LABEL=COMPARE or LABEL=COMPARE,BEHAVIOUR, an `eval compare "
                "--out` folder and an `eval behaviour` output folder of the same adapter against "
                "the same base; repeatable, in column order (YAML: a list).", "multiple": True})
    judge_run: tuple[str, ...] = field(default=(), metadata={
        "help": "One judge's column: LABEL=DIR, an `eval judge --out` folder; every column of the "
                "same benchmark; repeatable, in column order (YAML: a list).", "multiple": True})
    behaviour_metric: tuple[str, ...] = field(default=LEAD_BEHAVIOUR, metadata={
        "help": "Behaviour metric keys to show as rows, in order, or 'all'; repeatable (YAML: a "
                "list).", "multiple": True,
        "default_text": "the eleven of docs/grpo.md's lead table"})
    out: Path | None = field(default=None, metadata={
        "help": f"Also write {JSON_FILE} and {MARKDOWN_FILE} into this folder."})
    overwrite: bool = field(default=False, metadata={
        "help": "Replace an existing --out folder.", "flag": "--overwrite"})

    def __post_init__(self) -> None:
        if not self.run and not self.judge_run:
            raise ConfigError("give at least one --run LABEL=COMPARE[,BEHAVIOUR] (adapters) or "
                              "--judge-run LABEL=DIR (judges)")
        keys = tuple(self.behaviour_metric)
        unknown = [k for k in keys if k != "all" and k not in BEHAVIOUR_METRICS]
        if unknown:
            raise ConfigError(f"unknown behaviour metric(s) {', '.join(unknown)}; known: all, "
                              + ", ".join(BEHAVIOUR_METRICS))


@dataclass(frozen=True)
class Column:
    """One adapter: its label, its ``eval compare`` folder and its ``eval behaviour`` folder."""

    label: str
    compare: Path
    behaviour: Path | None = None


def parse_run(spec: str) -> Column:
    """``LABEL=COMPARE`` or ``LABEL=COMPARE,BEHAVIOUR`` as a :class:`Column` (the label ends at
    the first ``=``, so it may hold commas)."""
    label, sep, paths = spec.partition("=")
    parts = [p.strip() for p in paths.split(",")] if sep else []
    if not label.strip() or not parts or not all(parts) or len(parts) > 2:
        raise ConfigError(f"--run {spec!r}: write LABEL=COMPARE or LABEL=COMPARE,BEHAVIOUR "
                          "(an `eval compare --out` folder, then an `eval behaviour` folder)")
    return Column(label.strip(), Path(parts[0]), Path(parts[1]) if len(parts) == 2 else None)


def parse_judge_run(spec: str) -> tuple[str, Path]:
    """``LABEL=DIR`` (an ``eval judge`` output folder) as ``(label, folder)``."""
    label, sep, path = spec.partition("=")
    if not label.strip() or not sep or not path.strip():
        raise ConfigError(f"--judge-run {spec!r}: write LABEL=DIR, DIR an `eval judge --out` folder")
    return label.strip(), Path(path.strip())


def _read(folder: Path, name: str, command: str) -> dict[str, Any]:
    path = folder / name
    if not path.is_file():
        raise ArtifactError(f"{folder} has no {name}; point at the --out folder of `fairguard "
                            f"{command}`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{path} cannot be read ({exc}); run `fairguard {command}` again") from exc
    if not isinstance(data, dict):
        raise ArtifactError(f"{path} is not a JSON object; run `fairguard {command}` again")
    return data


def _change(value: Any) -> dict[str, float] | None:
    """A paired change's before / after / change / se, or None where it is missing or not a number."""
    if not isinstance(value, Mapping):
        return None
    numbers = {k: value.get(k) for k in ("before", "after", "change", "se")}
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in numbers.values()):
        return None
    return {k: float(v) for k, v in numbers.items()}  # type: ignore[arg-type]


@dataclass
class _Row:
    group: str
    metric: str
    unit: str  # "value" or "share"
    target: str = ""
    cells: list[dict[str, float] | None] = field(default_factory=list)


def _judge_rows(compares: Sequence[Mapping[str, Any]]) -> list[_Row]:
    """Per judge (in the first column's order, then any other), its heads and flagged shares;
    the weighted reward's heads where no judge scored the answers."""
    names: list[str] = []
    for c in compares:
        names += [n for n in (c.get("judges") or {}) if n not in names]
    rows: list[_Row] = []
    for name in names:
        judges = [(c.get("judges") or {}).get(name) or {} for c in compares]
        relation = str(next((j["relation"] for j in judges if j.get("relation")), UNKNOWN))
        group = f"{name} ({RELATION_LABELS.get(relation, relation)})"
        heads = [h for j in judges for h in (j.get("heads") or {})]
        for head in dict.fromkeys(heads):
            target = JUDGE_TARGETS.get(head, "") if relation == INDEPENDENT else ""
            rows.append(_Row(group, head, "value", target,
                             [_change((j.get("heads") or {}).get(head)) for j in judges]))
        for head in FLAGGED_HEADS:
            cells = [_change((j.get("flagged") or {}).get(head)) for j in judges]
            if any(cells):
                rows.append(_Row(group, f"answers flagged for {head}", "share", "", cells))
    if not names:
        heads = [h for c in compares for h in (c.get("heads") or {})]
        rows += [_Row("rewards (`eval quality --reward`)", head, "value", "",
                      [_change((c.get("heads") or {}).get(head)) for c in compares])
                 for head in dict.fromkeys(heads)]
    evasive = [_change(c.get("evasive")) for c in compares]
    if any(evasive):
        rows.append(_Row("evasion rules (`eval compare`)", "answers that decline or deflect",
                         "share", "", evasive))
    return rows


def _behaviour_rows(behaviours: Sequence[Mapping[str, Any] | None], keys: Sequence[str]) -> list[_Row]:
    chosen = list(BEHAVIOUR_METRICS) if "all" in keys else list(keys)
    rows = []
    for key in chosen:
        cells = [_change(((b or {}).get("changes") or {}).get(key)) for b in behaviours]
        if any(cells):
            section, label, better = BEHAVIOUR_METRICS[key]
            rows.append(_Row("behaviour", f"{section}: {label} ({better})", "value",
                             BEHAVIOUR_TARGETS.get(key, ""), cells))
    return rows


def _base(row: _Row, columns: Sequence[Column]) -> float | None:
    """The row's shared base value; a column whose base differs is refused."""
    present = [(col, cell) for col, cell in zip(columns, row.cells) if cell is not None]
    if not present:
        return None
    first_col, first = present[0]
    for col, cell in present[1:]:
        if abs(cell["before"] - first["before"]) > BASE_TOLERANCE:
            raise ArtifactError(
                f"{row.group}, {row.metric}: column {col.label!r} has base {cell['before']:.6g} and "
                f"{first_col.label!r} {first['before']:.6g}; every column must be compared against "
                "the same base answers (the same BEFORE folder of `eval compare`, the same "
                "--base-answers of `eval behaviour`)")
    return first["before"]


def adapter_table(columns: Sequence[Column], behaviour_metrics: Sequence[str] = LEAD_BEHAVIOUR
                  ) -> dict[str, Any]:
    """The adapters' table as JSON: ``columns`` (label and folders), ``rows`` (group, metric,
    unit, base, target, one cell per column: after, change, se, or None) and
    ``worse_beyond_noise`` (per column with a behaviour folder, the behaviour metrics worse
    beyond noise)."""
    if not columns:
        raise ConfigError("give at least one column (--run LABEL=COMPARE[,BEHAVIOUR])")
    compares = [_read(c.compare, COMPARE_FILE, "eval compare BEFORE AFTER --out DIR") for c in columns]
    behaviours = [_read(c.behaviour, BEHAVIOUR_FILE, "eval behaviour") if c.behaviour else None
                  for c in columns]
    rows = _judge_rows(compares) + _behaviour_rows(behaviours, behaviour_metrics)
    if not rows:
        raise ArtifactError("the folders hold no paired changes; point --run at `eval compare "
                            "--out` and `eval behaviour` output folders")
    table_rows = []
    for row in rows:
        base = _base(row, columns)
        table_rows.append({"group": row.group, "metric": row.metric, "unit": row.unit, "base": base,
                           "target": row.target,
                           "cells": [None if c is None else {k: c[k] for k in ("after", "change", "se")}
                                     for c in row.cells]})
    worse = {col.label: worse_beyond_noise(b.get("changes") or {})
             for col, b in zip(columns, behaviours) if b is not None}
    return {"columns": [{"label": c.label, "compare": str(c.compare),
                         "behaviour": str(c.behaviour) if c.behaviour else None,
                         "n_prompts": cmp.get("n")} for c, cmp in zip(columns, compares)],
            "rows": table_rows, "worse_beyond_noise": worse}


def _cell(unit: str, cell: Mapping[str, float] | None) -> str:
    if cell is None:
        return "–"
    if unit == "share":
        return (f"{100 * cell['after']:.1f} % ({100 * cell['change']:+.1f} ± "
                f"{100 * cell['se']:.1f} points)")
    return f"{cell['after']:.3f} ({cell['change']:+.3f} ± {cell['se']:.3f})"


def _base_cell(unit: str, base: float | None) -> str:
    if base is None:
        return "–"
    return f"{100 * base:.1f} %" if unit == "share" else fmt(base)


def _plural(word: str) -> str:
    return word[:-1] + "ies" if word.endswith("y") else word + "s"


def judge_table(columns: Sequence[tuple[str, Path]]) -> dict[str, Any]:
    """The judges' table as JSON: ``benchmark``, ``group_by``, ``labels``, ``columns`` (label,
    folder, model), ``rows`` (group, cases, one accuracy per column or None) and ``summary``
    (metric, cases, one value per column)."""
    if not columns:
        raise ConfigError("give at least one column (--judge-run LABEL=DIR)")
    runs = [_read(folder, JUDGE_FILE, "eval judge") for _, folder in columns]
    first_label, first = columns[0][0], runs[0]
    for (label, folder), m in zip(columns, runs):
        if m.get("kind") != "judge-eval":
            raise ArtifactError(f"{folder}/{JUDGE_FILE} is not an `eval judge` result; point "
                                "--judge-run at the --out folder of `fairguard eval judge`")
        for key in ("sha256", "group_by"):
            if m.get(key) != first.get(key):
                raise ArtifactError(f"column {label!r} has {key} {m.get(key)!r} and {first_label!r} "
                                    f"{first.get(key)!r}; every --judge-run must score the same "
                                    "benchmark, grouped the same way")
    groups = list(dict.fromkeys(g for m in runs for g in (m.get("by_group") or {})))
    cells = [[((m.get("by_group") or {}).get(g) or {}) for m in runs] for g in groups]
    rows = [{"group": g, "cases": next((c.get("n") for c in row if c.get("n") is not None), None),
             "cells": [c.get("accuracy") for c in row]} for g, row in zip(groups, cells)]
    labels = first.get("labels") or {"biased": "biased", "fair": "fair"}
    overall = [m.get("overall") or {} for m in runs]
    summary = [
        {"metric": "all", "cases": first.get("n"), "cells": [m.get("accuracy") for m in runs]},
        {"metric": f"{labels['biased']} flagged", "cases": overall[0].get("n_biased"),
         "cells": [o.get("accuracy_biased") for o in overall]},
        {"metric": f"{labels['fair']} passed", "cases": overall[0].get("n_fair"),
         "cells": [o.get("accuracy_fair") for o in overall]},
        {"metric": "ROC-AUC", "cases": None, "cells": [m.get("roc_auc") for m in runs]},
        {"metric": "false-flag rate", "cases": None, "cells": [m.get("false_flag_rate") for m in runs]},
        {"metric": "threshold", "cases": None, "cells": [m.get("threshold") for m in runs]},
    ]
    if groups:
        summary.insert(3, {"metric": f"{_plural(str(first.get('group_by') or 'group'))} under 0.50",
                           "cases": len(groups),
                           "cells": [sum(1 for g in (m.get("by_group") or {}).values()
                                         if isinstance(g.get("accuracy"), (int, float))
                                         and g["accuracy"] < 0.5) for m in runs]})
    return {"benchmark": first.get("benchmark"), "group_by": first.get("group_by"), "labels": labels,
            "columns": [{"label": label, "folder": str(folder), "model": m.get("model")}
                        for (label, folder), m in zip(columns, runs)],
            "rows": rows, "summary": summary}


def side_by_side(columns: Sequence[Column] = (), behaviour_metrics: Sequence[str] = LEAD_BEHAVIOUR,
                 judges: Sequence[tuple[str, Path]] = ()) -> dict[str, Any]:
    """Both tables as JSON: ``adapters`` (:func:`adapter_table`, None without adapter columns)
    and ``judges`` (:func:`judge_table`, None without judge columns)."""
    if not columns and not judges:
        raise ConfigError("give at least one --run LABEL=COMPARE[,BEHAVIOUR] or --judge-run LABEL=DIR")
    return {"kind": "side-by-side",
            "adapters": adapter_table(columns, behaviour_metrics) if columns else None,
            "judges": judge_table(judges) if judges else None}


def judge_markdown(table: Mapping[str, Any]) -> str:
    """The judges' table in markdown: accuracy per group, then the summary rows."""
    labels = [c["label"].replace("|", "\\|") for c in table["columns"]]
    lines = [f"| {table.get('group_by') or 'group'} | cases | " + " | ".join(labels) + " |",
             "|---|---|" + "---|" * len(labels)]
    lines += [f"| `{r['group']}` | {r['cases']} | " + " | ".join(fmt(c) for c in r["cells"]) + " |"
              for r in table["rows"]]
    for r in table["summary"]:
        cells = [f"**{fmt(c)}**" if r["metric"] == "all" else fmt(c) for c in r["cells"]]
        lines.append(f"| {'**all**' if r['metric'] == 'all' else r['metric']} | {fmt(r['cases'])} | "
                     + " | ".join(cells) + " |")
    lines += ["", f"Accuracy at each judge's threshold on `{table.get('benchmark')}`. Columns: "
              + "; ".join(f"{c['label']}: `{c['folder']}` (model `{c['model']}`)"
                          for c in table["columns"]) + "."]
    return "\n".join(lines) + "\n"


def side_by_side_markdown(table: Mapping[str, Any]) -> str:
    """The adapters' table, then the judges' table, in markdown."""
    parts = []
    if table.get("adapters"):
        parts.append(adapter_markdown(table["adapters"]))
    if table.get("judges"):
        parts.append(judge_markdown(table["judges"]))
    return "\n".join(parts)


def adapter_markdown(table: Mapping[str, Any]) -> str:
    """The adapters' table in markdown: judge / measure, metric, base, one "after (change ± se)"
    column per adapter, target; then the behaviour metrics each adapter made worse beyond noise."""
    labels = [c["label"].replace("|", "\\|") for c in table["columns"]]
    lines = ["| judge / measure | metric | base | " + " | ".join(labels) + " | target |",
             "|---|---|---|" + "---|" * len(labels) + "---|"]
    for row in table["rows"]:
        cells = [_cell(row["unit"], c) for c in row["cells"]]
        lines.append(f"| {row['group']} | {row['metric']} | {_base_cell(row['unit'], row['base'])} | "
                     + " | ".join(cells) + f" | {row['target']} |")
    lines += ["", "Each cell: after (change ± its standard error), change = adapter - base, paired by "
              "prompt (judges, evasion rules) or by question (behaviour); shares in percent and "
              "percentage points."]
    labels_of = {key: f"{s}: {label}" for key, (s, label, _) in BEHAVIOUR_METRICS.items()}
    for label, keys in table["worse_beyond_noise"].items():
        if keys:
            lines.append(f"- **{label}**, worse beyond noise (the whole 95 % interval on the worse "
                         "side of 0): " + "; ".join(labels_of[k] for k in keys) + ".")
    lines += ["", "Columns: " + "; ".join(
        f"{c['label']}: `{c['compare']}`" + (f", `{c['behaviour']}`" if c["behaviour"] else "")
        for c in table["columns"]) + "."]
    return "\n".join(lines) + "\n"


def run_side_by_side(config: SideBySideConfig) -> dict[str, Any]:
    """Build the tables of ``config.run`` and ``config.judge_run``; write them into
    ``config.out`` when one is given."""
    table = side_by_side([parse_run(spec) for spec in config.run], config.behaviour_metric,
                         [parse_judge_run(spec) for spec in config.judge_run])
    if config.out:
        from fairguard.artifacts import atomic_output_dir, write_json

        with atomic_output_dir(config.out, config.overwrite) as tmp:
            write_json(tmp / JSON_FILE, table)
            (tmp / MARKDOWN_FILE).write_text(side_by_side_markdown(table), encoding="utf-8")
    return table


__all__ = ["Column", "LEAD_BEHAVIOUR", "SideBySideConfig", "adapter_markdown", "adapter_table",
           "judge_markdown", "judge_table", "parse_judge_run", "parse_run", "run_side_by_side",
           "side_by_side", "side_by_side_markdown"]
