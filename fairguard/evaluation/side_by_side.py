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

Judges (``--judge-run``): each column is one reward model: its folder and any of its ``eval
judge`` (one per benchmark), ``eval everyday`` and ``eval dilution`` output folders. Rows: held-out
ROC-AUC, shipped threshold and training time, each benchmark's accuracy, per-label accuracy,
ROC-AUC and groups under 0.50, everyday answers flagged, the dilution check; then per benchmark
a table of its groups (HateCheck's functionalities). Columns that scored different files under
one benchmark name are refused.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from fairguard.artifacts import METADATA_FILE, atomic_output_dir, read_metadata, write_json
from fairguard.errors import ArtifactError, ConfigError
from fairguard.evaluation.behaviour_values import METRICS as BEHAVIOUR_METRICS
from fairguard.evaluation.behaviour_values import worse_beyond_noise
from fairguard.evaluation.cross_judge import INDEPENDENT, RELATION_LABELS, RELATION_ORDER, UNKNOWN
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
        "help": "One judge's column: LABEL=DIR[,DIR...], its reward-model folder and any of its "
                "`eval judge` (one per benchmark), `eval everyday` and `eval dilution` output "
                "folders; repeatable, in column order (YAML: a list).", "multiple": True})
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


def parse_judge_run(spec: str) -> tuple[str, list[Path]]:
    """``LABEL=DIR[,DIR...]`` (a reward-model folder and its ``eval judge``, ``eval everyday`` and
    ``eval dilution`` output folders) as ``(label, folders)``."""
    label, sep, paths = spec.partition("=")
    parts = [p.strip() for p in paths.split(",")] if sep else []
    if not label.strip() or not parts or not all(parts):
        raise ConfigError(f"--judge-run {spec!r}: write LABEL=DIR[,DIR...], each DIR a reward-model "
                          "folder or an `eval judge`, `eval everyday` or `eval dilution` --out folder")
    return label.strip(), [Path(p) for p in parts]


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
        # the least independent relation of any column (an adapter may have trained against it)
        relations = [str(j["relation"]) for j in judges if j.get("relation") in RELATION_ORDER]
        relation = max(relations, key=RELATION_ORDER.index, default=UNKNOWN)
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


def _percent(share: float) -> str:
    return f"{100 * share:.1f} %"


def _cell(unit: str, cell: Mapping[str, float] | None) -> str:
    if cell is None:
        return "–"
    if unit == "share":
        return f"{_percent(cell['after'])} ({100 * cell['change']:+.1f} ± {100 * cell['se']:.1f} points)"
    return f"{cell['after']:.3f} ({cell['change']:+.3f} ± {cell['se']:.3f})"


def _base_cell(unit: str, base: float | None) -> str:
    if base is None:
        return "–"
    return _percent(base) if unit == "share" else fmt(base)


def _plural(word: str) -> str:
    return word[:-1] + "ies" if word.endswith("y") else word + "s"


def _judge_folders(label: str, folders: Sequence[Path]) -> dict[str, Any]:
    """One judge's results by kind: ``model`` (its reward-model folder: fairguard.json and
    metrics.json), ``benchmarks`` (``eval judge`` results by benchmark and grouping),
    ``everyday`` and ``dilution``."""
    found: dict[str, Any] = {"model": None, "benchmarks": {}, "everyday": None, "dilution": None}
    for folder in folders:
        if (folder / METADATA_FILE).is_file():
            meta = read_metadata(folder)
            if meta.get("kind") != "reward-model":
                raise ArtifactError(f"{folder} is a {meta.get('kind')!r} folder; --judge-run takes a "
                                    "reward-model folder and its `eval judge`, `eval everyday` and "
                                    "`eval dilution` folders")
            kind, data = "model", {"meta": meta, "metrics": _read(folder, "metrics.json", "train reward")}
        else:
            data = _read(folder, JUDGE_FILE, "eval judge, eval everyday or eval dilution")
            kind = {"judge-eval": "benchmarks", "everyday-eval": "everyday",
                    "dilution-eval": "dilution"}.get(str(data.get("kind")), "")
        if not kind:
            raise ArtifactError(f"{folder}/{JUDGE_FILE} is no `eval judge`, `eval everyday` or `eval "
                                "dilution` result; point --judge-run at those --out folders or at "
                                "the reward-model folder")
        if kind == "benchmarks":
            key = f"{data.get('benchmark')} (per {data.get('group_by') or 'label'})"
            if key in found["benchmarks"]:
                raise ArtifactError(f"column {label!r} has two results for {key}; give one")
            found["benchmarks"][key] = data
        elif found[kind] is not None:
            raise ArtifactError(f"column {label!r} has two {kind} results ({folder}); give one")
        else:
            found[kind] = data
    return found


def _summary_rows(judges: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The measures present in any column: held-out ROC-AUC, threshold and training time of the
    reward-model folders, then each benchmark, everyday answers and dilution."""
    rows: list[dict[str, Any]] = []

    def add(metric: str, unit: str, values: list[Any]) -> None:
        if any(v is not None for v in values):
            rows.append({"metric": metric, "unit": unit, "cells": values})

    models = [j["model"] or {} for j in judges]
    heads = dict.fromkeys(h for m in models for h in ((m.get("metrics") or {}).get("heads") or {}))
    for head in heads:
        add(f"held-out ROC-AUC, {head} (its own test split)", "value",
            [(((m.get("metrics") or {}).get("heads") or {}).get(head) or {}).get("roc_auc") for m in models])
    add("shipped threshold, fairness", "value",
        [((m.get("meta") or {}).get("thresholds") or {}).get("fairness") for m in models])
    add("training seconds", "count", [(m.get("metrics") or {}).get("train_seconds") for m in models])
    for key in dict.fromkeys(k for j in judges for k in j["benchmarks"]):
        runs = [j["benchmarks"].get(key) or {} for j in judges]
        labels = next((r["labels"] for r in runs if r.get("labels")), {"biased": "biased", "fair": "fair"})
        group_by = next((r["group_by"] for r in runs if r.get("group_by")), None)
        add(f"{key}: accuracy", "value", [r.get("accuracy") for r in runs])
        add(f"{key}: {labels['biased']} flagged", "value",
            [(r.get("overall") or {}).get("accuracy_biased") for r in runs])
        add(f"{key}: {labels['fair']} passed", "value",
            [(r.get("overall") or {}).get("accuracy_fair") for r in runs])
        add(f"{key}: ROC-AUC", "value", [r.get("roc_auc") for r in runs])
        if group_by:
            add(f"{key}: {_plural(str(group_by))} under 0.50", "count",
                [None if not r else sum(1 for g in (r.get("by_group") or {}).values()
                                        if isinstance(g.get("accuracy"), (int, float)) and g["accuracy"] < 0.5)
                 for r in runs])
    everyday = [j["everyday"] or {} for j in judges]
    add("everyday answers flagged for fairness", "share", [e.get("flag_rate_fairness") for e in everyday])
    add("everyday answers flagged by any head", "share", [e.get("flag_rate_any") for e in everyday])
    add("everyday answers with one biased passage inserted: flagged", "share",
        [(e.get("with_biased_passage") or {}).get("flagged_with_biased") for e in everyday])
    dilution = [j["dilution"] or {} for j in judges]
    add("one biased passage among neutral sentences: flagged", "share",
        [d.get("flagged_with_biased") for d in dilution])
    add("the same answers without it: passed", "share", [d.get("passed_without") for d in dilution])
    return rows


def _group_tables(judges: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per benchmark with groups: each group's cases and, per column, accuracy and ROC-AUC."""
    tables = []
    for key in dict.fromkeys(k for j in judges for k in j["benchmarks"]):
        runs = [j["benchmarks"].get(key) or {} for j in judges]
        shas = {r.get("sha256") for r in runs if r}
        if len(shas) > 1:
            raise ArtifactError(f"{key}: the columns scored different files ({', '.join(map(str, shas))}); "
                                "every --judge-run must score the same benchmark file")
        groups = list(dict.fromkeys(g for r in runs for g in (r.get("by_group") or {})))
        if not groups:
            continue
        rows = []
        for g in groups:
            cells = [(r.get("by_group") or {}).get(g) or {} for r in runs]
            rows.append({"group": g, "cases": next((c["n"] for c in cells if c.get("n") is not None), None),
                         "cells": [{"accuracy": c.get("accuracy"), "roc_auc": c.get("roc_auc")}
                                   if c else None for c in cells]})
        tables.append({"benchmark": key, "group_by": next(r["group_by"] for r in runs if r), "rows": rows})
    return tables


def judge_table(columns: Sequence[tuple[str, Sequence[Path]]]) -> dict[str, Any]:
    """The judges' tables as JSON: ``columns`` (label and folders), ``summary`` (metric, unit,
    one value per column or None) and ``groups`` (per benchmark with groups: each group's cases
    and, per column, accuracy and ROC-AUC)."""
    if not columns:
        raise ConfigError("give at least one column (--judge-run LABEL=DIR[,DIR...])")
    judges = [_judge_folders(label, folders) for label, folders in columns]
    return {"columns": [{"label": label, "folders": [str(f) for f in folders]} for label, folders in columns],
            "summary": _summary_rows(judges), "groups": _group_tables(judges)}


def side_by_side(columns: Sequence[Column] = (), behaviour_metrics: Sequence[str] = LEAD_BEHAVIOUR,
                 judges: Sequence[tuple[str, Sequence[Path]]] = ()) -> dict[str, Any]:
    """Both tables as JSON: ``adapters`` (:func:`adapter_table`, None without adapter columns)
    and ``judges`` (:func:`judge_table`, None without judge columns)."""
    if not columns and not judges:
        raise ConfigError("give at least one --run LABEL=COMPARE[,BEHAVIOUR] or --judge-run LABEL=DIR")
    return {"kind": "side-by-side",
            "adapters": adapter_table(columns, behaviour_metrics) if columns else None,
            "judges": judge_table(judges) if judges else None}


def _judge_cell(unit: str, value: Any) -> str:
    if value is None:
        return "–"
    if unit == "share":
        return _percent(value)
    if unit == "count":
        return f"{value:.0f}"
    return fmt(value)


def judge_markdown(table: Mapping[str, Any]) -> str:
    """The judges' tables in markdown: one row per measure, then per benchmark its groups."""
    labels = [c["label"].replace("|", "\\|") for c in table["columns"]]
    head = ["| measure | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    lines = head + [f"| {r['metric']} | " + " | ".join(_judge_cell(r["unit"], v) for v in r["cells"]) + " |"
                    for r in table["summary"]]
    for group_table in table["groups"]:
        lines += ["", f"{group_table['benchmark']}: accuracy per {group_table['group_by']} at each "
                  "judge's threshold (ROC-AUC where a group holds both labels):", "",
                  f"| {group_table['group_by']} | cases | " + " | ".join(labels) + " |",
                  "|---|---|" + "---|" * len(labels)]
        for row in group_table["rows"]:
            cells = ["–" if c is None else fmt(c["accuracy"]) + (
                f" (ROC {fmt(c['roc_auc'])})" if c.get("roc_auc") is not None else "")
                for c in row["cells"]]
            lines.append(f"| `{row['group']}` | {fmt(row['cases'])} | " + " | ".join(cells) + " |")
    lines += ["", "Columns: " + "; ".join(f"{c['label']}: " + ", ".join(f"`{f}`" for f in c["folders"])
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
        with atomic_output_dir(config.out, config.overwrite) as tmp:
            write_json(tmp / JSON_FILE, table)
            (tmp / MARKDOWN_FILE).write_text(side_by_side_markdown(table), encoding="utf-8")
    return table


__all__ = ["Column", "LEAD_BEHAVIOUR", "SideBySideConfig", "adapter_markdown", "adapter_table",
           "judge_markdown", "judge_table", "parse_judge_run", "parse_run", "run_side_by_side",
           "side_by_side", "side_by_side_markdown"]
