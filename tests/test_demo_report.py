"""report.md and before_after.png from small hand-made artifact folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fairguard.demo.report import SECTIONS, plot_before_after, write_report
from fairguard.errors import ArtifactError


def _write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def _heads(acc: float, auc: float) -> dict:
    return {h: {"accuracy": acc, "roc_auc": auc, "pairwise_accuracy": 0.9} for h in
            ("fairness", "relevance", "fluency")}


def make_run(out: Path) -> Path:
    _write(out / "data" / "manifest.json", {
        "size": "small", "seed": 0, "fingerprint": "abcdef0123456789ffff",
        "counts": {"rows": {"train": 450, "val": 60, "test": 90}, "groups": {"train": 54, "val": 36, "test": 14},
                   "templates": {"train": 74, "val": 44, "test": 21}, "unqover": {"train": 2400, "test": 1200},
                   "by_category": {"train": {"region": 250, "gender": 200}, "val": {"region": 35, "gender": 25},
                                   "test": {"region": 50, "gender": 38, "age": 2}},
                   "unqover_by_category": {"train": {"gender": 1400, "region": 1000},
                                           "test": {"gender": 700, "region": 500}}}})
    _write(out / "reward-model" / "metrics.json", {
        "n_rows": 90, "n_pairs": 360, "train_rows": 240, "best_epoch": 1, "train_seconds": 12.5,
        "heads": _heads(0.812, 0.873), "handwritten": {"heads": _heads(0.7, 0.654)}})
    _write(out / "reward-model" / "fairguard.json", {"backbone": "minilm-l6", "max_length": 96})
    _write(out / "reward-onnx" / "parity.json", {
        "fp32_vs_torch": {"pairs": 64, "max_abs_logit_diff": 1.5e-7, "mean_abs_logit_diff": 2e-8,
                          "decision_agreement_all": 1.0, "passed": True, "tolerance": 1e-4},
        "int8_vs_fp32": {"max_abs_logit_diff": 8.25e-3, "mean_abs_logit_diff": 2.5e-3,
                         "decision_agreement_all": 0.984, "decision_agreement": {"fairness": 0.969}}})
    _write(out / "latency.json", {
        "kind": "scoring-latency", "batch_size": 1, "pairs": 16, "rounds": 3, "warmup_calls": 8, "threads": 1,
        "fusion": {"fused": True, "fused_ops": {"Attention": 6, "SkipLayerNormalization": 12}},
        "date_utc": "2026-11-22T12:00:00+00:00", "load_average_before": "2.10 2.00 1.90",
        "load_average_after": "2.20 2.00 1.90",
        "machine": {"cpu": "AMD EPYC 7B13", "cpu_count": 2, "machine": "x86_64", "torch": "2.13.0+cpu",
                    "onnxruntime": "1.31.1"},
        "backends": {
            "torch": {"ms_per_pair": 24.5, "p95_ms_per_pair": 30.25, "calls": 48, "speedup_vs_torch": 1.0},
            "onnx-fp32": {"ms_per_pair": 12.25, "p95_ms_per_pair": 15.0, "calls": 48, "speedup_vs_torch": 2.0},
            "onnx-int8": {"ms_per_pair": 7.0, "p95_ms_per_pair": 9.5, "calls": 48, "speedup_vs_torch": 3.5}}})
    _write(out / "grpo-adapter" / "metrics.json", {
        "before": {"n": 6, "heads": {"fairness": 0.611, "relevance": 0.702, "fluency": 0.655}},
        "after": {"n": 6, "heads": {"fairness": 0.645, "relevance": 0.699, "fluency": 0.657}},
        "change_paired": {"fairness": {"change": 0.034, "se": 0.021}},
        "steps": 3, "train_time_s": 20.0})
    _write(out / "refine-gender" / "metrics.json", {
        "held_out": {"before": {"delta": 0.4, "epsilon": 0.5, "mu": 0.04, "eta": 0.9, "accuracy": 0.5},
                     "after": {"delta": 0.1, "epsilon": 0.25, "mu": 0.02, "eta": 0.8, "accuracy": 0.55}},
        "counts": {"test": {"questions": 48}, "disambig_test": {"questions": 48}}})
    cand = {"rank": 1, "text": "Judge on skills | experience.", "decision": "pass", "action": "reranked",
            "scores": {"fairness": 0.9, "gender-bias": 1.0, "total": 1.777}}
    _write(out / "guard" / "guard_examples.json", {
        "policy": "p", "rewards": "reward-model,gender-bias", "weights": "fairness=1", "filters": ["neutralize"],
        "strategy": "rewrite", "n": 2, "max_new_tokens": 16,
        "examples": [{"prompt": "Should we hire the applicant from Henan?", "chosen": cand["text"],
                      "candidates": [cand, {**cand, "rank": 2, "text": "No.", "scores": {"total": 0.5}}]}]})
    make_cross_judge(out)
    return out


def make_cross_judge(out: Path) -> None:
    """The independent judge, cross-judge quality and behaviour artifacts, written by the real
    `eval compare` and paired-change code from hand-made answers' scores."""
    from fairguard.evaluation.compare import compare_evaluations, write_comparison
    from fairguard.metrics.paired import paired_change

    _write(out / "data-independent" / "manifest.json", {"size": "small", "seed": 1})
    _write(out / "judge-independent" / "metrics.json", {"heads": _heads(0.75, 0.801)})
    scores = {"base": {"judge-independent": [0.50, 0.60, 0.70], "reward-model": [0.40, 0.50, 0.60]},
              "grpo-adapter": {"judge-independent": [0.60, 0.60, 0.80],
                               "reward-model": [0.70, 0.80, 0.90]}}
    reasons = {"judge-independent": ("independent", "other data than reward-model (another held-out split)"),
               "reward-model": ("training", "the same folder as the training reward model reward-model")}
    for side, judges in scores.items():
        folder = out / "cross-judge" / side
        folder.mkdir(parents=True)
        rows = [{"id": str(i), "category": "gender", "prompt": f"p{i}",
                 "response": "I cannot answer that." if (side, i) == ("base", 0) else f"{side} r{i}",
                 "judges": {j: {"fairness": v[i], "relevance": 0.8} for j, v in judges.items()}}
                for i in range(3)]
        (folder / "responses.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        _write(folder / "metrics.json", {
            "generation": {"max_new_tokens": 16, "do_sample": False},
            "judges": {j: {"relation": reasons[j][0] if side != "base" else "independent",
                           "reason": reasons[j][1],
                           **({"thresholds": {"fairness": 0.55},
                               "references": {"fair": {"n": 3, "means": {"fairness": 0.9}}}}
                              if j == "judge-independent" else {})} for j in judges}})
    write_comparison(compare_evaluations(out / "cross-judge" / "base", out / "cross-judge" / "grpo-adapter"),
                     out / "cross-judge" / "compare")
    changes = {"likelihood.disambig.accuracy": paired_change([0, 1, 0, 1], [1, 1, 0, 1]),
               "evasion.everyday.rules_or_judge": paired_change([1, 0], [0, 0]),
               "counterfactual.fairness_gap": paired_change([0.3, 0.1], [0.2, 0.2]),
               "generation.disambig.accuracy": paired_change([1, 1, 1, 1], [0, 0, 0, 0])}
    _write(out / "behaviour" / "metrics.json", {
        "kind": "behaviour-eval", "judge": str(out / "judge-independent"),
        "n_questions": {"ambiguous": 4, "disambiguated": 4, "everyday": 2, "counterfactual pairs": 2},
        "generation": {"max_new_tokens": 12}, "changes": {k: c.to_dict() for k, c in changes.items()}})


def test_report_has_every_section_and_the_artifacts_numbers(tmp_path: Path) -> None:
    out = make_run(tmp_path / "run")
    report = write_report(out, quick=True, timings={"data build": 1.0, "guard examples": 2.5})
    text = report.read_text()
    for section in SECTIONS:
        assert section in text
    assert "| train | 450 | 54 | 74 |" in text
    assert "| fairness | 0.812 | 0.873 | 0.900 | 0.654 |" in text
    assert "1.50e-07" in text and "8.25e-03" in text and "0.984" in text
    assert "| fairness | 0.74 | 0.93 | 0.611 | 0.645 | +0.034 ± 0.021 |" in text
    assert "| judge-independent | independent | fairness | 0.600 | 0.667 | +0.067 ± 0.033 |" in text
    assert "| relevance | 0.81 | 0.84 | 0.702 | 0.699 | -0.003 |" in text  # no paired entry
    assert "| base LM | 0.4000 | 0.5000 | 0.0400 | 0.9000 | 0.5000 |" in text
    assert "| change | -75.0% | -50.0% | -50.0% | -11.1% | +5.0 pt |" in text
    assert "Judge on skills \\| experience." in text and "1.777" in text
    assert "| total | 3.5 |" in text
    assert "before_after.png" in text and (out / "before_after.png").stat().st_size > 1000
    assert "Not available" not in text


def _grpo_part(text: str) -> str:
    return text.split("## GRPO")[1].split("## REFINE-LM")[0]


def test_grpo_leads_with_the_cross_judge_then_behaviour_then_the_training_judge(tmp_path: Path) -> None:
    grpo = _grpo_part(write_report(make_run(tmp_path / "run")).read_text())
    cross, behaviour, same = (grpo.index(h) for h in (
        "### Cross-judge quality", "### Behaviour", "### Training judge (the adapter's own reward model)"))
    assert cross < behaviour < same
    table = grpo[cross:behaviour]
    assert "| judge | relation | head | base | after | change ± se | fair answers | flagged |" in table
    # independent judge first, then the training judge, each with its paired change ± se; the
    # fair answers' mean and the flagged share where the judge recorded them
    independent = table.index("| judge-independent | independent | fairness | 0.600 | 0.667 | +0.067 ± 0.033 "
                              "| 0.900 | 33.3 % -> 0.0 % |")
    training = table.index("| reward-model | training judge | fairness | 0.500 | 0.800 | +0.300 ± 0.000 | – | – |")
    assert independent < training
    assert "| judge-independent | independent | relevance | 0.800 | 0.800 | +0.000 ± 0.000 | – | – |" in table
    assert "same 3 test prompts (greedy, 16 new tokens" in table
    assert "`judge-independent`, independent: other data than reward-model (another held-out split)." in table
    assert "`data build --seed 1`" in table and "fairness 0.801" in table
    assert "Every judge is the reward model" not in table  # one judge is independent
    assert "Answers that decline or deflect (the evasion rules" in table
    assert "33.3 % -> 0.0 % (-33.3 ± 33.3 points)" in table
    rows = grpo[behaviour:same]
    assert "| metric | n | base | after | change ± se | better |" in rows
    assert ("| multiple choice, option likelihood: disambiguated: accuracy | 4 | 0.500 | 0.750 | "
            "+0.250 ± 0.250 | higher |") in rows
    assert "| evasion: everyday questions: rules or judge | 2 | 0.500 | 0.000 | -0.500 ± 0.500 | lower |" in rows
    assert "judged by `judge-independent`" in rows and "ambiguous 4, disambiguated 4" in rows
    assert ("**Worse beyond noise** (the whole 95 % interval of the change on the worse side of 0): "
            "multiple choice, generation, disambiguated: accuracy 1.000 -> 0.000.") in rows
    assert "| fairness | 0.74 | 0.93 | 0.611 | 0.645 | +0.034 ± 0.021 |" in grpo[same:]
    assert "not independent evidence" in grpo[same:]


def test_missing_cross_judge_and_behaviour_are_reported_not_invented(tmp_path: Path) -> None:
    import shutil

    out = make_run(tmp_path / "run")
    for folder in ("cross-judge", "behaviour", "judge-independent"):
        shutil.rmtree(out / folder)
    grpo = _grpo_part(write_report(out).read_text())
    assert "_Not available: `cross-judge` has no artifact" in grpo
    assert "_Not available: `behaviour` has no artifact" in grpo
    assert "| judge | relation" not in grpo and "| metric | n |" not in grpo
    assert "| fairness | 0.74 | 0.93 | 0.611 | 0.645 | +0.034 ± 0.021 |" in grpo  # the training judge's


def test_only_training_judges_get_the_loud_warning(tmp_path: Path) -> None:
    out = make_run(tmp_path / "run")
    path = out / "cross-judge" / "compare" / "compare.json"
    cmp = json.loads(path.read_text())
    cmp["judges"] = {"reward-model": cmp["judges"]["reward-model"]}
    path.write_text(json.dumps(cmp))
    grpo = _grpo_part(write_report(out).read_text())
    assert "judge-independent | independent" not in grpo
    assert "**Every judge is the reward model the adapter was trained against" in grpo


def test_a_comparison_without_the_evasive_share_has_no_evasion_line(tmp_path: Path) -> None:
    out = make_run(tmp_path / "run")
    path = out / "cross-judge" / "compare" / "compare.json"
    cmp = json.loads(path.read_text())
    del cmp["evasive"]  # written before `eval compare` paired it
    path.write_text(json.dumps(cmp))
    grpo = _grpo_part(write_report(out).read_text())
    assert "| judge-independent | independent | fairness |" in grpo
    assert "Answers that decline or deflect" not in grpo


def test_dataset_counts_per_category_and_split(tmp_path: Path) -> None:
    text = write_report(make_run(tmp_path / "run")).read_text()
    dataset = text.split("## Dataset")[1].split("## Reward model")[0]
    assert "| category | train | val | test | total |" in dataset
    assert "| age | 0 | 0 | 2 | 2 |" in dataset
    assert "| region | 250 | 35 | 50 | 335 |" in dataset
    assert "| **total** | 450 | 60 | 90 | 600 |" in dataset
    assert "| category | train | test | total |" in dataset
    assert "| gender | 1400 | 700 | 2100 |" in dataset and "| **total** | 2400 | 1200 | 3600 |" in dataset


def test_old_manifest_without_unqover_per_category(tmp_path: Path) -> None:
    out = make_run(tmp_path / "run")
    path = out / "data" / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["counts"]["unqover_by_category"]
    path.write_text(json.dumps(manifest))
    text = write_report(out).read_text()
    assert "UnQover questions: train 2400, test 1200." in text
    assert "Per-category UnQover counts: not available" in text
    assert "| region | 250 | 35 | 50 | 335 |" in text  # the prompt table is still there


def test_latency_table_from_latency_json(tmp_path: Path) -> None:
    text = write_report(make_run(tmp_path / "run")).read_text()
    export = text.split("## ONNX export")[1].split("## GRPO")[0]
    assert "| torch (eager, CPU) | 24.50 | 30.25 | 1.00x |" in export
    assert "| ONNX fp32 | 12.25 | 15.00 | 2.00x |" in export
    assert "| ONNX int8 | 7.00 | 9.50 | 3.50x |" in export
    assert "16 test pairs x 3 rounds = 48 timed calls" in export and "8 warm-up calls" in export
    assert "1 thread for torch" in export and "AMD EPYC 7B13 (2 CPUs, x86_64)" in export
    assert "onnxruntime 1.31.1" in export and "2026-11-22T12:00:00+00:00" in export
    assert "ONNX graph: fused (Attention x6, SkipLayerNormalization x12)." in export


def test_latency_says_when_the_graph_is_not_fused(tmp_path: Path) -> None:
    out = make_run(tmp_path / "run")
    lat = json.loads((out / "latency.json").read_text())
    lat["fusion"] = {"fused": False, "reason": "turned off (--no-optimize)"}
    (out / "latency.json").write_text(json.dumps(lat))
    export = write_report(out).read_text().split("## ONNX export")[1]
    assert "ONNX graph: not fused (turned off (--no-optimize))." in export


def test_missing_latency_json_is_reported_not_invented(tmp_path: Path) -> None:
    out = make_run(tmp_path / "run")
    (out / "latency.json").unlink()
    text = write_report(out).read_text()
    export = text.split("## ONNX export")[1].split("## GRPO")[0]
    assert "Scoring latency: Not available (no `latency.json`" in export
    assert "ms/pair" not in export and "1.50e-07" in export  # parity still shown
    assert "## GRPO" in text and "## Guard examples" in text


def test_missing_stages_are_reported_not_invented(tmp_path: Path) -> None:
    out = make_run(tmp_path / "run")
    for folder in ("grpo-adapter", "refine-gender"):
        for f in (out / folder).iterdir():
            f.unlink()
    text = write_report(out).read_text()
    assert text.count("Not available") == 2  # the GRPO section as a whole, and REFINE-LM
    assert "0.74" not in text  # no paper column without this run's numbers
    assert plot_before_after(out) is None and not (out / "before_after.png").exists()


def test_corrupt_artifact_names_the_file(tmp_path: Path) -> None:
    out = make_run(tmp_path / "run")
    (out / "grpo-adapter" / "metrics.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="grpo-adapter/metrics.json"):
        write_report(out)
