"""report.md + a before/after bar chart, built only from the artifacts a demo run wrote."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from fairguard.errors import ArtifactError
from fairguard.evaluation.behaviour_values import METRICS as BEHAVIOUR_METRICS
from fairguard.evaluation.behaviour_values import worse_beyond_noise_lines
from fairguard.evaluation.cross_judge import RELATION_LABELS, loud_warning
from fairguard.evaluation.report import change_cell, markdown_table

# The multi-reward GRPO paper's before/after numbers (the paper's own model and data, not this run's).
PAPER_GRPO = {"fairness": (0.74, 0.93), "relevance": (0.81, 0.84), "fluency": (0.88, 0.87)}
REFINE_COLS = [("delta", "Pos. err. δ"), ("epsilon", "Attr. err. ε"), ("mu", "μ"), ("eta", "η"),
               ("accuracy", "Disamb. acc.")]


def _load(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{path} is not valid JSON ({exc}); rerun `fairguard demo --overwrite`") from exc


def _f(value: Any, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _missing(folder: str) -> list[str]:
    return [f"_Not available: `{folder}` has no artifact (the stage did not finish)._", ""]


def _dataset(out: Path, man: dict[str, Any]) -> list[str]:
    counts = man.get("counts", {})
    rows = counts.get("rows", {})
    lines = [(f"Synthetic Chinese-context discrimination prompts (`data/`, size `{man.get('size')}`, "
             f"seed {man.get('seed')}, fingerprint `{str(man.get('fingerprint', ''))[:16]}`). "
             "Full card: [data/README.md](data/README.md)."), "",
             "| split | prompts | groups | templates |", "|---|---|---|---|"]
    for split in ("train", "val", "test"):
        lines.append(f"| {split} | {rows.get(split, 'n/a')} | {counts.get('groups', {}).get(split, 'n/a')} "
                     f"| {counts.get('templates', {}).get(split, 'n/a')} |")
    by_cat = counts.get("by_category")
    if by_cat:
        lines += ["", "Prompts per category and split:", ""] + _per_category(by_cat)
    unq = counts.get("unqover", {})
    if unq:
        lines += ["", "UnQover questions: " + ", ".join(f"{k} {v}" for k, v in unq.items()) + "."]
        unq_cat = counts.get("unqover_by_category")
        if unq_cat:
            lines += ["", "UnQover questions per category and file:", ""] + _per_category(unq_cat)
        else:
            lines += ["", ("_Per-category UnQover counts: not available (this manifest predates them; "
                      "rebuild the data stage to get them)._")]
    return lines + [""]


def _per_category(table: dict[str, dict[str, int]]) -> list[str]:
    """A category x split (or file) table of counts with a total row and column."""
    cols = list(table)
    cats = sorted({c for col in cols for c in table[col]})
    lines = ["| category | " + " | ".join(cols) + " | total |", "|---" * (len(cols) + 2) + "|"]
    for cat in cats:
        values = [table[col].get(cat, 0) for col in cols]
        lines.append(f"| {cat} | " + " | ".join(str(v) for v in values) + f" | {sum(values)} |")
    totals = [sum(table[col].values()) for col in cols]
    lines.append("| **total** | " + " | ".join(str(v) for v in totals) + f" | {sum(totals)} |")
    return lines


def _reward(out: Path, m: dict[str, Any]) -> list[str]:
    meta = _load(out / "reward-model" / "fairguard.json") or {}
    lines = [(f"Backbone `{meta.get('backbone', 'n/a')}`, max_length {meta.get('max_length', 'n/a')}, "
             f"{m.get('train_rows', 'n/a')} train rows, best epoch {m.get('best_epoch', 'n/a')}, "
             f"{_f(m.get('train_seconds'), 1)} s training. Test split: {m.get('n_rows', 'n/a')} prompts, "
             f"{m.get('n_pairs', 'n/a')} (prompt, response) pairs."), "",
             "| head | accuracy | ROC AUC | pairwise acc. | hand-written AUC |", "|---|---|---|---|---|"]
    hand = (m.get("handwritten") or {}).get("heads", {})
    for head, h in m.get("heads", {}).items():
        lines.append(f"| {head} | {_f(h.get('accuracy'))} | {_f(h.get('roc_auc'))} | "
                     f"{_f(h.get('pairwise_accuracy'))} | {_f(hand.get(head, {}).get('roc_auc'))} |")
    lines += ["", "![reward-model training](reward-model/training.png)", ""]
    return lines


def _export(out: Path, p: dict[str, Any]) -> list[str]:
    fp, q = p.get("fp32_vs_torch", {}), p.get("int8_vs_fp32", {})
    meta = (_load(out / "reward-onnx" / "fairguard.json") or {}).get("onnx", {})
    lines = [(f"Checked on {fp.get('pairs', 'n/a')} test pairs (`reward-onnx/parity.json`); "
             f"export took {_f(meta.get('export_seconds'), 1)} s."), "",
             "| check | max abs logit diff | mean abs logit diff | decision agreement (all heads) | passed |",
             "|---|---|---|---|---|",
             (f"| fp32 ONNX vs torch | {fp.get('max_abs_logit_diff', float('nan')):.2e} | "
             f"{fp.get('mean_abs_logit_diff', float('nan')):.2e} | {_f(fp.get('decision_agreement_all'))} | "
             f"{fp.get('passed', 'n/a')} (tolerance {fp.get('tolerance', 'n/a')}) |"),
             (f"| int8 ONNX vs fp32 | {q.get('max_abs_logit_diff', float('nan')):.2e} | "
             f"{q.get('mean_abs_logit_diff', float('nan')):.2e} | {_f(q.get('decision_agreement_all'))} | "
             f"report only |"), ""]
    per = q.get("decision_agreement", {})
    if per:
        lines += ["int8 decision agreement per head: " + ", ".join(f"{h} {_f(v)}" for h, v in per.items()) + ".", ""]
    return lines + _latency(out)


def _threads(n: Any) -> str:
    return "n/a threads" if n is None else f"{n} thread" + ("" if n == 1 else "s")


BACKEND_LABELS = {"torch": "torch (eager, CPU)", "onnx-fp32": "ONNX fp32", "onnx-int8": "ONNX int8"}


def _latency(out: Path) -> list[str]:
    """The batch-1 scoring latency table from ``latency.json`` (written after the export)."""
    lat = _load(out / "latency.json")
    if lat is None:
        return [("_Scoring latency: Not available (no `latency.json`: the latency measurement after "
                "the export did not finish; rerun `fairguard demo` to measure it)._"), ""]
    machine = lat.get("machine", {})
    backends = lat.get("backends", {})
    first: dict[str, Any] = next(iter(backends.values()), {})
    calls = first.get("calls", "n/a")
    lines = [(f"Scoring latency at batch 1 (`latency.json`): {lat.get('pairs', 'n/a')} test pairs x "
              f"{lat.get('rounds', 'n/a')} rounds = {calls} timed calls per backend after "
              f"{lat.get('warmup_calls', 'n/a')} warm-up calls, each call end to end through the "
              "scorer (input checks, tokenisation, forward, sigmoid), backends called in turn on the "
              f"same pair. {_threads(lat.get('threads'))} for torch and onnxruntime alike. "
              f"Measured {lat.get('date_utc', 'n/a')} on {machine.get('cpu', 'n/a')} "
              f"({machine.get('cpu_count', 'n/a')} CPUs, {machine.get('machine', 'n/a')}), torch "
              f"{machine.get('torch', 'n/a')}, onnxruntime {machine.get('onnxruntime', 'n/a')}; load "
              f"average before/after {lat.get('load_average_before', 'n/a')} / "
              f"{lat.get('load_average_after', 'n/a')}. Timings move with the machine's load. "
              f"{_graph(lat.get('fusion'))}"),
             "", "| backend | median ms/pair | p95 ms/pair | speed-up vs torch (median) |",
             "|---|---:|---:|---:|"]
    for name, row in backends.items():
        lines.append(f"| {BACKEND_LABELS.get(name, name)} | {_f(row.get('ms_per_pair'), 2)} | "
                     f"{_f(row.get('p95_ms_per_pair'), 2)} | {_f(row.get('speedup_vs_torch'), 2)}x |")
    return lines + [""]


def _graph(fusion: Any) -> str:
    """One sentence on the ONNX graph the latency was measured on (``latency.json`` ``fusion``)."""
    if not isinstance(fusion, dict):
        return "ONNX graph: fusion not recorded (an export older than fused graphs)."
    if not fusion.get("fused"):
        return f"ONNX graph: not fused ({fusion.get('reason') or 'no reason recorded'})."
    ops = fusion.get("fused_ops") or {}
    return "ONNX graph: fused (" + ", ".join(f"{op} x{n}" for op, n in sorted(ops.items())) + ")."


def _grpo(out: Path, m: dict[str, Any]) -> list[str]:
    """The adapter judged by a judge it never trained against (first), its behaviour, then the
    training judge's own before/after."""
    meta = _load(out / "grpo-adapter" / "fairguard.json") or {}
    lines = [(f"LoRA adapter on `{meta.get('base_model', 'n/a')}`, {m.get('steps', 'n/a')} steps "
              f"({_f(m.get('train_time_s'), 1)} s of steps), rewards from this run's reward model "
              "(`reward-model/`, the training judge). A policy can please its own judge without "
              "becoming fairer, so the evidence comes first from a judge it never trained against "
              "and from what it does, and only then from the training judge."), ""]
    lines += ["### Cross-judge quality", ""] + _cross_judge(out)
    lines += ["### Behaviour", ""] + _behaviour(out)
    return lines + ["### Training judge (the adapter's own reward model)", ""] + _same_judge(out, m)


def _cross_judge(out: Path) -> list[str]:
    """The `eval compare` table of ``cross-judge/compare/compare.json``: per judge and head, base
    vs adapter on the same prompts, independent judges first."""
    cmp = _load(out / "cross-judge" / "compare" / "compare.json")
    if cmp is None:
        return _missing("cross-judge")
    quality = _load(out / "cross-judge" / "grpo-adapter" / "metrics.json") or {}
    generation = quality.get("generation") or {}
    judges = cmp.get("judges") or {}
    lines = [(f"The base model and the adapter answered the same {cmp.get('n', 'n/a')} test "
              f"prompts ({'sampled' if generation.get('do_sample') else 'greedy'}, "
              f"{generation.get('max_new_tokens', 'n/a')} new tokens; `fairguard eval quality` "
              "with both judges, then `fairguard eval compare`: `cross-judge/`). Change = "
              "adapter - base, paired by prompt, ± its standard error; independent judges "
              "first. Fair answers: the judge's mean for the dataset's own fair answers to the "
              "same prompts (a yardstick for how far answering fairly moves it); flagged: the share of "
              "answers under the judge's shipped threshold, base -> adapter."), "",
             markdown_table(("judge", "relation", "head", "base", "after", "change ± se",
                             "fair answers", "flagged"), [
                 (name, RELATION_LABELS.get(j.get("relation"), j.get("relation")), head,
                  c.get("before"), c.get("after"), change_cell(c["change"], c["se"]),
                  (j.get("fair_answers") or {}).get(head),
                  _flagged_cell((j.get("flagged") or {}).get(head)))
                 for name, j in judges.items() for head, c in (j.get("heads") or {}).items()])]
    warning = loud_warning([str(j.get("relation")) for j in judges.values()])
    if warning:
        lines.append(warning)
    for name, info in (quality.get("judges") or {}).items():
        lines.append(f"- `{name}`, {RELATION_LABELS.get(info.get('relation'), info.get('relation'))}: "
                     f"{info.get('reason', 'no reason recorded')}.")
    return lines + [""] + _evasive_line(cmp.get("evasive")) + _judge_line(out)


def _evasive_line(change: dict[str, Any] | None) -> list[str]:
    """The paired change of answers that decline or deflect (``compare.json`` ``evasive``); a
    judge's gain from saying less shows beside it. Empty for a comparison without it."""
    cell = _flagged_cell(change)
    if cell is None or change is None or not all(isinstance(change.get(k), (int, float))
                                                 for k in ("change", "se")):
        return []
    return [(f"Answers that decline or deflect (the evasion rules, `fairguard.metrics.evasion`): "
             f"{cell} ({100 * change['change']:+.1f} ± {100 * change['se']:.1f} "
             "points): a judge's gain that comes with more of them is a gain from saying less."), ""]


def _flagged_cell(change: dict[str, Any] | None) -> str | None:
    """``12.3 % -> 8.1 %`` from a paired change of flagged shares (None: not compared)."""
    if not isinstance(change, dict) or not all(isinstance(change.get(k), (int, float))
                                               for k in ("before", "after")):
        return None
    return f"{100 * change['before']:.1f} % -> {100 * change['after']:.1f} %"


def _judge_line(out: Path) -> list[str]:
    """How good the independent judge is on its own test split (``judge-independent/``)."""
    m = _load(out / "judge-independent" / "metrics.json")
    if m is None:
        return []
    man = _load(out / "data-independent" / "manifest.json") or {}
    aucs = ", ".join(f"{head} {_f(h.get('roc_auc'))}" for head, h in (m.get("heads") or {}).items())
    return [(f"The independent judge (`judge-independent/`) is the reward-model stage's recipe "
             f"trained on `data build --seed {man.get('seed', 'n/a')}` (`data-independent/`, other "
             f"held-out groups and templates); ROC AUC on its own test split: {aucs}."), ""]


def _behaviour(out: Path) -> list[str]:
    """The `eval behaviour` changes of ``behaviour/metrics.json``: one row per metric."""
    b = _load(out / "behaviour" / "metrics.json")
    if b is None:
        return _missing("behaviour")
    changes = b.get("changes") or {}
    judge = b.get("judge")
    questions = ", ".join(f"{k} {v}" for k, v in (b.get("n_questions") or {}).items())
    rows = [(f"{section}: {label}", changes[key].get("n"), changes[key].get("before"),
             changes[key].get("after"), change_cell(changes[key]["change"], changes[key]["se"]), better)
            for key, (section, label, better) in BEHAVIOUR_METRICS.items() if key in changes]
    return [(f"`fairguard eval behaviour`: the base model and the adapter answered the project's "
             f"own question sets ({questions}; greedy, "
             f"{(b.get('generation') or {}).get('max_new_tokens', 'n/a')} new tokens), judged by "
             f"`{Path(judge).name if judge else 'none (rules only)'}`. Change = adapter - base, "
             "paired by question (by UnQover unit for bias scores, by swapped pair for "
             "counterfactual gaps), ± its standard error. Full report: "
             "[behaviour/report.md](behaviour/report.md)."), "",
            *worse_beyond_noise_lines(changes),
            markdown_table(("metric", "n", "base", "after", "change ± se", "better"), rows)]


def _same_judge(out: Path, m: dict[str, Any]) -> list[str]:
    """The GRPO stage's own before/after, scored by the reward model it trained against."""
    before, after = m.get("before") or {}, m.get("after") or {}
    lines = [(f"Scored by the reward model the adapter was trained against, so not independent "
             f"evidence: mean score of greedy answers to {before.get('n', 'n/a')} held-out test "
             "prompts before and after training; the change is paired by prompt, ± its standard "
             "error. The paper's columns are the multi-reward GRPO paper's numbers on its own "
             "model and data, shown for format only; they are not comparable to this run."), "",
             "| head | paper before | paper after | this run before | this run after | change |",
             "|---|---|---|---|---|---|"]
    bh, ah = before.get("heads", {}), after.get("heads", {})
    paired = m.get("change_paired") or {}
    for head in bh:
        pb, pa = PAPER_GRPO.get(head, (None, None))
        if head not in ah:
            lines.append(f"| {head} | | | {_f(bh[head])} | n/a | n/a |")
            continue
        change = f"{(ah[head] - bh[head]):+.3f}"
        if head in paired:
            change += f" ± {paired[head]['se']:.3f}"
        lines.append(f"| {head} | {_f(pb, 2)} | {_f(pa, 2)} | {_f(bh.get(head))} | {_f(ah.get(head))} | "
                     f"{change} |")
    lines += ["", ("![rewards](grpo-adapter/rewards.png) ![kl](grpo-adapter/kl.png) "
              "![loss](grpo-adapter/loss.png)"), ""]
    return lines


def _refine(out: Path, m: dict[str, Any]) -> list[str]:
    held = m.get("held_out", {})
    before, after = held.get("before", {}), held.get("after", {})
    counts = m.get("counts", {})
    lines = [(f"Gender layer on held-out UnQover questions ({counts.get('test', {}).get('questions', 'n/a')} "
             f"ambiguous, {counts.get('disambig_test', {}).get('questions', 'n/a')} disambiguated). "
             "Lower δ, ε, μ, η is less biased; accuracy is on disambiguated questions."), "",
             "| | " + " | ".join(h for _, h in REFINE_COLS) + " |", "|---" * (len(REFINE_COLS) + 1) + "|"]
    for label, row in (("base LM", before), ("+ REFINE-LM", after)):
        lines.append(f"| {label} | " + " | ".join(_f(row.get(k), 4) for k, _ in REFINE_COLS) + " |")
    change = []
    for key, _ in REFINE_COLS:
        b, a = before.get(key), after.get(key)
        if b is None or a is None:
            change.append("n/a")
        elif key == "accuracy":
            change.append(f"{100 * (a - b):+.1f} pt")
        else:
            change.append(f"{100 * (a - b) / b:+.1f}%" if b else "n/a")
    lines += ["| change | " + " | ".join(change) + " |", "", "![refine](refine-gender/refine.png)", ""]
    return lines


def _guard(out: Path, g: dict[str, Any]) -> list[str]:
    lines = [(f"`{g.get('policy')}` in a text-generation pipeline wrapped by the guard: rewards "
             f"`{g.get('rewards')}` (weights `{g.get('weights')}`), filters {g.get('filters')}, strategy "
             f"`{g.get('strategy')}`, n={g.get('n')}, {g.get('max_new_tokens')} new tokens. "
             "All candidates: `guard/guard_examples.json`."), ""]
    for ex in g.get("examples", []):
        lines += [f"**Prompt:** {ex['prompt']}", "", "| rank | decision / action | total | scores | text |",
                  "|---|---|---|---|---|"]
        for c in ex.get("candidates", []):
            scores = c.get("scores", {})
            shown = ", ".join(f"{k} {_f(v, 2)}" for k, v in scores.items() if k != "total")
            text = str(c.get("text", "")).replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {c.get('rank')} | {c.get('decision')} / {c.get('action')} | "
                         f"{_f(scores.get('total'))} | {shown} | {text} |")
        lines += ["", f"Chosen: {ex.get('chosen', '')!r}", ""]
    return lines


Section = tuple[str, str, str, Callable[[Path, dict[str, Any]], list[str]]]
# (heading, stage folder, artifact the section is read from, its body), in report order
PARTS: tuple[Section, ...] = (
    ("## Dataset", "data", "manifest.json", _dataset),
    ("## Reward model", "reward-model", "metrics.json", _reward),
    ("## ONNX export", "reward-onnx", "parity.json", _export),
    ("## GRPO", "grpo-adapter", "metrics.json", _grpo),
    ("## REFINE-LM", "refine-gender", "metrics.json", _refine),
)
GUARD: Section = ("## Guard examples", "guard", "guard_examples.json", _guard)
SECTIONS = tuple(part[0] for part in (*PARTS, GUARD))


def _section(out: Path, part: Section) -> list[str]:
    """A section's heading and body, or a not-available line when its stage wrote no artifact."""
    heading, folder, name, body = part
    data = _load(out / folder / name)
    return [heading, ""] + (_missing(folder) if data is None else body(out, data))


def plot_before_after(out: Path) -> Path | None:
    """Bar chart of GRPO reward heads and REFINE-LM bias metrics before/after; None if neither ran."""
    grpo = _load(out / "grpo-adapter" / "metrics.json")
    refine = _load(out / "refine-gender" / "metrics.json")
    panels = []
    if grpo and grpo.get("before") and grpo.get("after"):
        heads = list(grpo["before"]["heads"])
        panels.append(("GRPO: training judge's heads (higher is better)", heads,
                       [grpo["before"]["heads"][h] for h in heads],
                       [grpo["after"]["heads"].get(h, 0.0) for h in heads]))
    if refine and refine.get("held_out"):
        b, a = refine["held_out"]["before"], refine["held_out"]["after"]
        keys = [k for k, _ in REFINE_COLS if k in b and k in a]
        panels.append(("REFINE-LM gender (δ ε μ η lower is better)", keys, [b[k] for k in keys],
                       [a[k] for k in keys]))
    if not panels:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4), squeeze=False)
    for ax, (title, names, before, after) in zip(axes[0], panels):
        x = np.arange(len(names))
        ax.bar(x - 0.2, before, 0.4, label="before")
        ax.bar(x + 0.2, after, 0.4, label="after")
        ax.set_xticks(x, names)
        ax.set_title(title, fontsize=10)
        ax.legend()
    fig.tight_layout()
    path = out / "before_after.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_report(out: str | Path, quick: bool = False, timings: dict[str, float] | None = None) -> Path:
    """Write ``out/report.md`` (and ``before_after.png``) from the stage artifacts under ``out``."""
    out = Path(out)
    lines = ["# fairguard demo report", "",
             (f"Mode: {'--quick (tiny budgets: a smoke run, not meaningful results)' if quick else 'full'}. "
             "Every number below was read from the artifacts in this folder."), ""]
    if timings:
        lines += ["| stage | seconds |", "|---|---|"]
        lines += [f"| {name} | {sec:.1f} |" for name, sec in timings.items()]
        lines += [f"| total | {sum(timings.values()):.1f} |", ""]
    for part in PARTS:
        lines += _section(out, part)
    chart = plot_before_after(out)
    if chart is not None:
        lines += ["## Before / after", "", f"![before/after]({chart.name})", ""]
    lines += _section(out, GUARD)
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
