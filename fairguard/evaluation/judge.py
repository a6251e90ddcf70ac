"""``fairguard eval judge``: the reward model as a classifier of labelled real-world text.

Each case (a labelled (prompt, text) pair, ``fairguard.data.labelled``) is scored by the
``reward-model`` reward plugin, the same scorer the guard uses (torch or ONNX folder); a case
is *flagged* when its fairness score is below the threshold (the one shipped in the model's
``fairguard.json`` unless ``threshold`` is given). Reported: accuracy of the flags against the
labels overall, per label, per group (``functionality`` / ``category`` / any column) and per
target group; ROC-AUC of ``1 - fairness`` against the biased label; the false-flag rate on fair
cases and the mean fairness per class.

``benchmark="hatecheck"`` is the HateCheck functional test suite (Röttger et al., ACL 2021;
CC-BY-4.0), each case framed as the answer to ``"What do you think about {target_ident}?"``.
It is an evaluation set: never train or tune on it.

A ``fairguard data build`` folder as the benchmark judges its split's fair and biased answers
(test by default: held-out groups, templates and forms), grouped by the form each answer took.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from fairguard.artifacts import write_jsonl
from fairguard.data.labelled import (
    LabelledColumns,
    LabelledSet,
    is_dataset_folder,
    load_dataset_cases,
    load_labelled,
)
from fairguard.errors import ArtifactError, ConfigError, DataError
from fairguard.evaluation.report import fmt, markdown_table, text_cell, write_report
from fairguard.scoring import window_tokens_field

log = logging.getLogger(__name__)

HATECHECK = "hatecheck"
HATECHECK_ENV = "FAIRGUARD_HATECHECK"
HATECHECK_FILE = "test_suite_cases.csv"
HATECHECK_RELATIVE = Path("..", "shared", "benchmarks", "hatecheck", HATECHECK_FILE)
HATECHECK_COLUMNS = {"text": "test_case", "label": "label_gold", "target": "target_ident"}
HATECHECK_SOURCE = ("https://github.com/paul-rottger/hatecheck-data (file test_suite_cases.csv, "
                    "CC-BY-4.0)")
GROUP_COLUMNS = ("functionality", "category")  # the default group column: the first present
NO_TARGET = "(none)"  # the per-target row of cases with an empty target cell
REPORT_FILE = "report.md"
PLOT_FILE = "judge.png"
CASES_FILE = "cases.jsonl"


def repository_root() -> Path:
    """The folder above the ``fairguard`` package (the repository root in a checkout)."""
    return Path(__file__).resolve().parents[2]


def resolve_hatecheck(bases: Sequence[str | os.PathLike[str]] | None = None) -> Path:
    """The HateCheck CSV: ``$FAIRGUARD_HATECHECK`` (file or folder), else
    ``../shared/benchmarks/hatecheck/test_suite_cases.csv`` from each of ``bases`` (default:
    the current folder, then the repository root)."""
    hint = (f"download {HATECHECK_FILE} from {HATECHECK_SOURCE} and set {HATECHECK_ENV} to the "
            "file (or its folder), or pass --benchmark FILE")
    env = os.environ.get(HATECHECK_ENV, "").strip()
    if env:
        path = Path(env).expanduser()
        if path.is_dir():
            path = path / HATECHECK_FILE
        if not path.is_file():
            raise DataError(f"{HATECHECK_ENV}={env} but {path} is not a file; {hint}")
        return path
    tried = []
    for base in (Path.cwd(), repository_root()) if bases is None else bases:
        path = (Path(base) / HATECHECK_RELATIVE).resolve()
        if path.is_file():
            return path
        tried.append(str(path))
    raise DataError(f"HateCheck not found (looked at {' and '.join(dict.fromkeys(tried))}); {hint}")


@dataclass(frozen=True)
class JudgeEvalConfig:
    """Options of ``fairguard eval judge``; ``None`` column options keep the defaults
    (``text``/``prompt``/``response``/``label``, or HateCheck's columns for ``hatecheck``)."""

    benchmark: str = field(metadata={
        "help": "hatecheck (the HateCheck test suite, see $FAIRGUARD_HATECHECK), a labelled "
                ".csv/.jsonl file (text,label or prompt,response,label), a hub dataset id, or a "
                "`fairguard data build` folder (its fair and biased answers, grouped by form)."})
    model: tuple[str, ...] = field(metadata={
        "help": "Reward-model folder (torch, an ONNX export, or a `fairguard train ensemble` "
                "folder with its calibrated thresholds); repeat it to judge with the mean of "
                "several (give --threshold).",
        "multiple": True})
    out: str = field(metadata={
        "help": "Output folder (metrics.json, report.md, judge.png, cases.jsonl)."})
    threshold: float | None = field(default=None, metadata={
        "help": "Flag a case when fairness is below this.",
        "default_text": "the model's fairguard.json threshold"})
    calibrate: float | None = field(default=None, metadata={
        "help": "Choose the fairness threshold on these cases instead, for this false-flag rate "
                "on their fair cases (e.g. 0.02); the report gives its bootstrap interval. Not "
                "with --threshold, nor on hatecheck (an evaluation set).",
        "default_text": "no: the threshold is --threshold or the model's"})
    save_threshold: bool = field(default=False, metadata={
        "help": "With --calibrate: write the chosen threshold into the model folder's "
                "fairguard.json (fairness; the previous one kept in its record)."})
    group_by: str | None = field(default=None, metadata={
        "help": "Column of the per-group table.",
        "default_text": "functionality, else category"})
    text_column: str | None = field(default=None, metadata={
        "help": "Text column.",
        "default_text": "text; test_case for hatecheck"})
    prompt_column: str | None = field(default=None, metadata={
        "help": "Prompt column of prompt,response,label files.",
        "default_text": "prompt"})
    response_column: str | None = field(default=None, metadata={
        "help": "Response column of prompt,response,label files.",
        "default_text": "response"})
    label_column: str | None = field(default=None, metadata={
        "help": "Label column.",
        "default_text": "label; label_gold for hatecheck"})
    target_column: str | None = field(default=None, metadata={
        "help": "Target-group column: text-only cases answer 'What do you think about {target}?'.",
        "default_text": "target_ident when present"})
    default_prompt: str | None = field(default=None, metadata={
        "help": "Prompt of text-only cases with no target.",
        "default_text": "'What do you think?'"})
    split: str | None = field(default=None, metadata={
        "help": "Split of a hub dataset or a dataset folder.",
        "default_text": "its only split, else test; test for a dataset folder"})
    limit: int | None = field(default=None, metadata={"help": "Judge only the first N cases."})
    backend: str = field(default="auto", metadata={
        "help": "Reward-model backend (auto: onnx when the folder holds an export).",
        "choices": ("auto", "torch", "onnx")})
    batch_size: int = field(default=32, metadata={"help": "Cases per forward pass."})
    window_tokens: int | None = window_tokens_field()
    device: str | None = field(default=None, metadata={
        "help": "Torch device of the reward model.",
        "default_text": "cuda when available, else cpu"})
    overwrite: bool = field(default=False, metadata={"help": "Replace an existing --out folder."})

    def __post_init__(self) -> None:
        models = (self.model,) if isinstance(self.model, (str, os.PathLike)) else tuple(self.model or ())
        if not models or not all(str(m).strip() for m in models):
            raise ConfigError("--model is missing; give a reward-model folder (repeat it for an ensemble)")
        object.__setattr__(self, "model", tuple(map(str, models)))
        if not str(self.benchmark).strip():
            raise ConfigError("--benchmark is empty; give hatecheck or a labelled .csv/.jsonl file")
        if self.threshold is not None and not (math.isfinite(self.threshold)
                                               and 0 <= self.threshold <= 1):
            raise ConfigError(f"threshold must be in [0, 1], got {self.threshold}")
        if self.calibrate is not None:
            if not (math.isfinite(self.calibrate) and 0 < self.calibrate < 1):
                raise ConfigError(f"calibrate is a false-flag rate in (0, 1), e.g. 0.02; got "
                                  f"{self.calibrate}")
            if self.threshold is not None:
                raise ConfigError("give --threshold or --calibrate, not both")
            if self.benchmark == HATECHECK:
                raise ConfigError("HateCheck is an evaluation set: calibrate on your own labelled "
                                  "data (a .csv/.jsonl file or a `fairguard data build` folder "
                                  "with --split val) and evaluate on HateCheck")
        if self.save_threshold and (self.calibrate is None or len(models) != 1):
            raise ConfigError("--save-threshold writes the threshold --calibrate chose into one "
                              "model folder: give --calibrate RATE and a single --model")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"limit must be a positive integer, got {self.limit}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {self.batch_size}")
        self.columns()  # checks the column options

    def columns(self) -> LabelledColumns:
        """Column names and framing prompts of the benchmark file."""
        given = dict(HATECHECK_COLUMNS) if self.benchmark == HATECHECK else {}
        given.update({k: v for k, v in {
            "text": self.text_column, "prompt": self.prompt_column,
            "response": self.response_column, "label": self.label_column,
            "target": self.target_column, "default_prompt": self.default_prompt,
        }.items() if v is not None})
        return LabelledColumns(**given)


def load_benchmark(config: JudgeEvalConfig) -> LabelledSet:
    """The labelled cases of ``config.benchmark`` (HateCheck, a file, a hub dataset id or a
    ``fairguard data build`` folder)."""
    if config.benchmark != HATECHECK and is_dataset_folder(config.benchmark):
        data = load_dataset_cases(config.benchmark, config.split or "test")
    else:
        source: str | Path = resolve_hatecheck() if config.benchmark == HATECHECK else config.benchmark
        data = load_labelled(source, config.columns(), split=config.split)
    if config.limit is not None and config.limit < len(data.examples):
        data = LabelledSet(data.source, data.sha256, data.mode, data.examples[:config.limit],
                           data.target_column)
    return data


def classification_summary(biased: np.ndarray, fairness: np.ndarray, threshold: float) -> dict[str, Any]:
    """Flags (``fairness < threshold``) against labels (``biased``), for one set of cases."""
    from fairguard.reward_model.metrics import roc_auc

    biased = np.asarray(biased, dtype=bool)
    fairness = np.asarray(fairness, dtype=np.float64)
    flagged = fairness < threshold
    fair = ~biased

    def mean(values: np.ndarray) -> float | None:
        return float(np.mean(values)) if values.size else None

    return {
        "n": int(biased.size),
        "n_biased": int(biased.sum()),
        "n_fair": int(fair.sum()),
        "accuracy": mean(flagged == biased),
        "accuracy_biased": mean(flagged[biased]),  # biased cases flagged (recall)
        "accuracy_fair": mean(~flagged[fair]),  # fair cases passed
        "false_flag_rate": mean(flagged[fair]),
        "flag_rate": mean(flagged),
        "roc_auc": roc_auc(biased.astype(int), 1.0 - fairness),
        "mean_fairness": mean(fairness),
        "mean_fairness_biased": mean(fairness[biased]),
        "mean_fairness_fair": mean(fairness[fair]),
    }


def grouped_summaries(keys: Sequence[str | None], biased: np.ndarray, fairness: np.ndarray,
                      threshold: float) -> dict[str, dict[str, Any]]:
    """:func:`classification_summary` per key, in order of first appearance (``None`` skipped)."""
    index: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        if key is not None:
            index.setdefault(key, []).append(i)
    return {key: classification_summary(biased[rows], fairness[rows], threshold)
            for key, rows in index.items()}


def _group_column(data: LabelledSet, requested: str | None) -> str | None:
    present = {k for ex in data.examples for k in ex.metadata}
    if requested is not None:
        if requested not in present:
            raise DataError(f"{data.source} has no column {requested!r} to group by; its other "
                            f"columns: {', '.join(sorted(map(str, present))) or 'none'}")
        return requested
    return next((name for name in GROUP_COLUMNS if name in present), None)


def _label_names(data: LabelledSet, biased: bool) -> str:
    names = dict.fromkeys(ex.raw_label for ex in data.examples if ex.biased == biased)
    return ", ".join(names) or "–"


def judge_markdown(metrics: dict[str, Any], data: LabelledSet) -> str:
    """``report.md``: the set-up, then overall, per-label, per-group and per-target tables."""
    overall = metrics["overall"]
    lines = [
        f"# The judge on {metrics['benchmark']}",
        "",
        (f"Model `{metrics['model']}` ({metrics['backend']})" if isinstance(metrics["model"], str)
         else "The ensemble (mean fairness) of " + ", ".join(f"`{m}`" for m in metrics["model"]))
        + "; a case is flagged when fairness < "
        f"{fmt(metrics['threshold'])} ({metrics['threshold_from']}). {overall['n']} cases "
        f"({overall['n_biased']} biased, {overall['n_fair']} fair) from `{metrics['source']}`.",
        "",
        *_calibration_lines(metrics.get("calibration")),
        markdown_table(["metric", "value"], [
            ["accuracy", overall["accuracy"]],
            ["ROC-AUC (1 - fairness vs biased)", overall["roc_auc"]],
            ["false-flag rate (fair cases flagged)", overall["false_flag_rate"]],
            ["flag rate", overall["flag_rate"]],
        ]),
        "## Per label",
        "",
        markdown_table(["label", "labels in the file", "n", "accuracy", "mean fairness"], [
            ["biased", text_cell(_label_names(data, True)), overall["n_biased"],
             overall["accuracy_biased"], overall["mean_fairness_biased"]],
            ["fair", text_cell(_label_names(data, False)), overall["n_fair"],
             overall["accuracy_fair"], overall["mean_fairness_fair"]],
        ]),
    ]
    headers = ["n", "biased", "fair", "accuracy", "flag rate", "mean fairness", "ROC-AUC"]

    def rows(summaries: dict[str, dict[str, Any]]) -> list[list[Any]]:
        return [[text_cell(name), s["n"], s["n_biased"], s["n_fair"], s["accuracy"], s["flag_rate"],
                 s["mean_fairness"], s["roc_auc"]] for name, s in summaries.items()]

    if metrics["by_group"]:
        lines += [f"## Per {metrics['group_by']}", "",
                  markdown_table([metrics["group_by"], *headers], rows(metrics["by_group"]))]
    if metrics["by_target"]:
        lines += [f"## Per target group ({metrics['target_column']})", "",
                  markdown_table(["target", *headers], rows(metrics["by_target"]))]
    return "\n".join(lines)


def _calibration_lines(calibration: dict[str, Any] | None) -> list[str]:
    """The report's sentence on a threshold chosen with ``calibrate`` (none without it)."""
    if not calibration:
        return []
    lo, hi = calibration["threshold_interval"]
    return [f"The threshold flags {calibration['rate']:.1%} of these fair cases "
            f"({calibration['n_good']} of them): {fmt(calibration['threshold'])}, "
            f"{calibration['interval']}: {fmt(lo)}-{fmt(hi)}; the model's own was "
            f"{fmt(calibration['previous_threshold'])}. Chosen and measured on the same cases, "
            "the accuracy below is optimistic: chosen on one half of the cases and applied to "
            f"the other (both ways round), a threshold flags "
            f"{fmt(calibration['other_half']['false_flag_rate'])} of the fair cases and catches "
            f"{fmt(calibration['other_half']['catch_rate'])} of the biased ones.", ""]


def plot_judge(metrics: dict[str, Any], fairness: np.ndarray, biased: np.ndarray,
               path: str | os.PathLike[str]) -> None:
    """PNG: fairness histograms per class with the threshold, and accuracy per group."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = metrics["by_group"] or metrics["by_target"]
    height = max(4.0, 0.28 * len(groups) + 1.5)
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, height),
                                      gridspec_kw={"width_ratios": [1, 1.4]})
    bins = np.linspace(0, 1, 21)
    left.hist(fairness[biased], bins=bins, alpha=0.6, label=f"biased (n={int(biased.sum())})",
              color="tab:red")
    left.hist(fairness[~biased], bins=bins, alpha=0.6, label=f"fair (n={int((~biased).sum())})",
              color="tab:blue")
    left.axvline(metrics["threshold"], color="k", linestyle="--", label="threshold")
    left.set_xlabel("fairness score")
    left.set_ylabel("cases")
    left.set_title("scores by label")
    left.legend(loc="upper center")
    if groups:
        names = list(groups)
        ys = np.arange(len(names))
        accuracy = [np.nan if groups[n]["accuracy"] is None else groups[n]["accuracy"] for n in names]
        colors = ["tab:red" if groups[n]["n_biased"] >= groups[n]["n_fair"] else "tab:blue"
                  for n in names]
        right.barh(ys, accuracy, color=colors)
        right.set_yticks(ys, names, fontsize="small")
        right.invert_yaxis()
        right.set_xlim(0, 1)
        right.set_xlabel("accuracy (red: mostly biased cases, blue: mostly fair)")
        name = metrics["group_by"] if metrics["by_group"] else "target group"
        right.set_title(f"accuracy per {name}")
    else:
        right.set_axis_off()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def score_cases(reward: Any, prompts: Sequence[str], texts: Sequence[str], chunk: int,
                progress: bool = True, desc: str = "judging") -> dict[str, np.ndarray]:
    """The reward's heads over all cases, ``chunk`` cases per call, with a progress bar."""
    from tqdm.auto import tqdm

    parts: dict[str, list[np.ndarray]] = {head: [] for head in reward.heads}
    with tqdm(total=len(prompts), desc=desc, unit="case", disable=not progress) as bar:
        for start in range(0, len(prompts), chunk):
            out = reward.score(list(prompts[start:start + chunk]), list(texts[start:start + chunk]))
            for head in reward.heads:
                parts[head].append(np.asarray(out[head], dtype=np.float64))
            bar.update(min(chunk, len(prompts) - start))
    return {head: np.concatenate(values) if values else np.zeros(0) for head, values in parts.items()}


def run_judge_eval(config: JudgeEvalConfig, progress: bool = True) -> dict[str, Any]:
    """Score every case, write metrics.json, report.md, judge.png and cases.jsonl into
    ``config.out`` (atomically); returns the metrics."""
    from fairguard.artifacts import atomic_output_dir
    from fairguard.registry import get_reward
    from fairguard.scoring import REWARD_MODEL

    if Path(config.out).exists() and not config.overwrite:
        raise ArtifactError(f"{config.out} already exists; choose another --out or pass --overwrite")
    data = load_benchmark(config)
    group_by = _group_column(data, config.group_by)
    models = config.model
    named = " + ".join(models)
    path: str | list[str] = models[0] if len(models) == 1 else list(models)
    options: dict[str, Any] = {"path": path, "backend": config.backend,
                               "batch_size": config.batch_size, "window_tokens": config.window_tokens}
    if config.device is not None:
        options["device"] = config.device
    reward = get_reward(REWARD_MODEL, **options)
    if "fairness" not in reward.heads:
        raise ConfigError(f"{named} has no fairness head (heads: {', '.join(reward.heads)}); "
                          "judge with a reward model trained with the fairness head")
    shipped = getattr(reward, "thresholds", {}).get("fairness")
    threshold = config.threshold if config.threshold is not None else shipped
    if threshold is None and config.calibrate is None:
        what = (f"{named}'s fairguard.json ships" if len(models) == 1
                else "a list of folders ships (each member's was calibrated on its own scores)")
        raise ConfigError(f"{what} no fairness threshold; pass --threshold or --calibrate RATE"
                          + ("" if len(models) == 1 else ", or combine them with `fairguard train "
                             "ensemble`, which calibrates one"))
    threshold_from = "--threshold" if config.threshold is not None else "the model's fairguard.json"
    examples = data.examples
    log.info("judging %d cases of %s with %s", len(examples), data.source, named)
    started = time.perf_counter()
    scores = score_cases(reward, [ex.prompt for ex in examples], [ex.text for ex in examples],
                         chunk=config.batch_size * 4, progress=progress)
    seconds = time.perf_counter() - started
    fairness = scores["fairness"]
    biased = np.array([ex.biased for ex in examples], dtype=bool)
    calibration = None
    if config.calibrate is not None:
        calibration = calibrate_on_cases(fairness, biased, config.calibrate, shipped, data)
        threshold, threshold_from = calibration["threshold"], (
            f"--calibrate {config.calibrate:g}: chosen on these cases")
    assert threshold is not None  # given, shipped or calibrated: checked before scoring
    groups = [None if group_by is None else _group_key(ex.metadata.get(group_by)) for ex in examples]
    overall = classification_summary(biased, fairness, threshold)
    columns = config.columns()
    targets = [ex.target or NO_TARGET for ex in examples]
    metrics = {
        "kind": "judge-eval",
        "benchmark": config.benchmark,
        "source": data.source,
        "sha256": data.sha256,
        "model": path,
        "backend": getattr(reward, "backend", None),
        "window_tokens": config.window_tokens,
        "threshold": float(threshold),
        "threshold_from": threshold_from,
        "shipped_threshold": shipped,
        "calibration": calibration,
        "framing": {"mode": data.mode, **({"target_prompt": columns.target_prompt,
                                           "default_prompt": columns.default_prompt}
                                          if data.mode == "text" else {})},
        "labels": {"biased": _label_names(data, True), "fair": _label_names(data, False)},
        "overall": overall,
        **{key: overall[key] for key in ("n", "accuracy", "roc_auc", "false_flag_rate")},
        "group_by": group_by,
        "by_group": grouped_summaries(groups, biased, fairness, threshold) if group_by else {},
        "target_column": data.target_column,
        "by_target": grouped_summaries(targets, biased, fairness, threshold)
        if data.target_column else {},
        "seconds": round(seconds, 2),
    }
    log.info("accuracy %s, ROC-AUC %s, false-flag rate %s", fmt(overall["accuracy"]),
             fmt(overall["roc_auc"]), fmt(overall["false_flag_rate"]))
    records = []
    for i, ex in enumerate(examples):
        records.append({"id": ex.id, "line": ex.line, "label": "biased" if ex.biased else "fair",
                        "raw_label": ex.raw_label, "group": groups[i], "target": ex.target,
                        **{head: float(values[i]) for head, values in scores.items()},
                        "flagged": bool(fairness[i] < threshold), "prompt": ex.prompt,
                        "text": ex.text})
    with atomic_output_dir(config.out, config.overwrite) as tmp:
        write_report(tmp, metrics, judge_markdown(metrics, data), REPORT_FILE)
        write_jsonl(tmp / CASES_FILE, records)
        plot_judge(metrics, fairness, biased, tmp / PLOT_FILE)
    if calibration is not None and config.save_threshold:  # once the report is written
        save_threshold(Path(models[0]), calibration)
    return metrics


def calibrate_on_cases(fairness: np.ndarray, biased: np.ndarray, rate: float,
                       previous: float | None, data: LabelledSet) -> dict[str, Any]:
    """The fairness threshold that flags a share ``rate`` of the fair cases (their
    ``rate``-quantile, as ``train reward`` calibrates on validation answers), with its
    bootstrap interval, the share of biased cases it catches and where it came from."""
    from fairguard.reward_model.calibrate import INTERVAL_NOTE, head_calibration

    good = fairness[~biased]
    if good.size == 0:
        raise DataError(f"{data.source} has no fair cases: --calibrate needs fair texts to set a "
                        "false-flag rate on")
    return {**head_calibration(good, fairness[biased], rate), "rate": rate, "source": data.source,
            "sha256": data.sha256, "previous_threshold": previous, "interval": INTERVAL_NOTE,
            "other_half": split_half_check(fairness, biased, rate)}


def split_half_check(fairness: np.ndarray, biased: np.ndarray, rate: float,
                     seed: int = 0) -> dict[str, float | None]:
    """How a threshold chosen on one half of the cases (a seeded split) does on the other
    half, both ways round, averaged: the false-flag rate on the other half's fair cases (to
    compare with ``rate``) and the share of its biased cases caught."""
    from fairguard.reward_model.calibrate import quantile_threshold

    order = np.random.default_rng(seed).permutation(fairness.size)
    halves = (order[: fairness.size // 2], order[fairness.size // 2:])
    flags, catches = [], []
    for choose, check in (halves, halves[::-1]):
        good = fairness[choose][~biased[choose]]
        if good.size == 0:
            continue
        t = quantile_threshold(good, rate)
        fair, bad = fairness[check][~biased[check]], fairness[check][biased[check]]
        if fair.size:
            flags.append(float(np.mean(fair < t)))
        if bad.size:
            catches.append(float(np.mean(bad < t)))
    return {"false_flag_rate": float(np.mean(flags)) if flags else None,
            "catch_rate": float(np.mean(catches)) if catches else None}


def save_threshold(folder: Path, calibration: dict[str, Any]) -> None:
    """Set the fairness threshold of the reward-model folder ``folder`` (torch, ONNX export or
    ensemble) to the calibrated one; its ``fairguard.json`` keeps the record under
    ``recalibrated``. The file is replaced whole, never left half-written."""
    from fairguard.artifacts import METADATA_FILE, read_metadata, replace_json

    meta = read_metadata(folder)
    thresholds = meta.get("thresholds")
    if not isinstance(thresholds, dict) or "fairness" not in thresholds:
        raise ArtifactError(f"{folder}/{METADATA_FILE} has no fairness threshold to replace; "
                            "save into a reward-model folder with a fairness head")
    meta["thresholds"] = {**thresholds, "fairness": calibration["threshold"]}
    meta["recalibrated"] = {"fairness": calibration}
    replace_json(folder / METADATA_FILE, meta)
    log.info("%s: fairness threshold %s -> %.4f", folder, fmt(calibration["previous_threshold"]),
             calibration["threshold"])


def _group_key(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


__all__ = ["HATECHECK", "HATECHECK_ENV", "JudgeEvalConfig", "classification_summary",
           "grouped_summaries", "judge_markdown", "load_benchmark", "plot_judge",
           "resolve_hatecheck", "run_judge_eval", "score_cases"]
