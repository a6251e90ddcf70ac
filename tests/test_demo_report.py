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
                   "templates": {"train": 74, "val": 44, "test": 21}, "unqover": {"train": 2400, "test": 1200}}})
    _write(out / "reward-model" / "metrics.json", {
        "n_rows": 90, "n_pairs": 360, "train_rows": 240, "best_epoch": 1, "train_seconds": 12.5,
        "heads": _heads(0.812, 0.873), "handwritten": {"heads": _heads(0.7, 0.654)}})
    _write(out / "reward-model" / "fairguard.json", {"backbone": "minilm-l6", "max_length": 96})
    _write(out / "reward-onnx" / "parity.json", {
        "fp32_vs_torch": {"pairs": 64, "max_abs_logit_diff": 1.5e-7, "mean_abs_logit_diff": 2e-8,
                          "decision_agreement_all": 1.0, "passed": True, "tolerance": 1e-4},
        "int8_vs_fp32": {"max_abs_logit_diff": 8.25e-3, "mean_abs_logit_diff": 2.5e-3,
                         "decision_agreement_all": 0.984, "decision_agreement": {"fairness": 0.969}}})
    _write(out / "grpo-adapter" / "metrics.json", {
        "before": {"n": 6, "heads": {"fairness": 0.611, "relevance": 0.702, "fluency": 0.655}},
        "after": {"n": 6, "heads": {"fairness": 0.645, "relevance": 0.699, "fluency": 0.657}},
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
    return out


def test_report_has_every_section_and_the_artifacts_numbers(tmp_path: Path) -> None:
    out = make_run(tmp_path / "run")
    report = write_report(out, quick=True, timings={"data build": 1.0, "guard examples": 2.5})
    text = report.read_text()
    for section in SECTIONS:
        assert section in text
    assert "| train | 450 | 54 | 74 |" in text
    assert "| fairness | 0.812 | 0.873 | 0.900 | 0.654 |" in text
    assert "1.50e-07" in text and "8.25e-03" in text and "0.984" in text
    assert "| fairness | 0.74 | 0.93 | 0.611 | 0.645 | +0.034 |" in text
    assert "| base LM | 0.4000 | 0.5000 | 0.0400 | 0.9000 | 0.5000 |" in text
    assert "| change | -75.0% | -50.0% | -50.0% | -11.1% | +5.0 pt |" in text
    assert "Judge on skills \\| experience." in text and "1.777" in text
    assert "| total | 3.5 |" in text
    assert "before_after.png" in text and (out / "before_after.png").stat().st_size > 1000
    assert "Not available" not in text


def test_missing_stages_are_reported_not_invented(tmp_path: Path) -> None:
    out = make_run(tmp_path / "run")
    for folder in ("grpo-adapter", "refine-gender"):
        for f in (out / folder).iterdir():
            f.unlink()
    text = write_report(out).read_text()
    assert text.count("Not available") == 2
    assert "0.74" not in text  # no paper column without this run's numbers
    assert plot_before_after(out) is None and not (out / "before_after.png").exists()


def test_corrupt_artifact_names_the_file(tmp_path: Path) -> None:
    out = make_run(tmp_path / "run")
    (out / "grpo-adapter" / "metrics.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="grpo-adapter/metrics.json"):
        write_report(out)
