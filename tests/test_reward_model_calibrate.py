"""Shipped thresholds: calibrated on validation answers cut off as training answers are, or whole."""

from __future__ import annotations

import json

import numpy as np
import pytest
from reward_model_data import train_tiny

from fairguard.reward_model.calibrate import calibrate_thresholds, threshold_interval
from fairguard.reward_model.examples import Examples, build_examples, load_split
from fairguard.reward_model.inference import predict_probs
from fairguard.reward_model.model import load_reward_model
from fairguard.reward_model.truncation import even_endings, truncate_rows


@pytest.mark.parametrize("cut", [True, False])
def test_thresholds_are_quantiles_of_the_validation_answers_the_judge_was_trained_to_see(
        tmp_path, tiny_deberta_dir, cut):
    out = train_tiny(tmp_path, tiny_deberta_dir, dilution_cases=0, calibrate_cut=cut,
                     truncate_prob=0.7, eval_batch_size=64)
    meta = json.loads((out / "fairguard.json").read_text())
    assert meta["calibration"]["answers"] == ("cut as in training" if cut else "whole")
    whole = load_split(tmp_path / "data", "val")
    cut_rows = even_endings(truncate_rows(whole, 0.7, 0), 0.5, 0)
    assert any(len(c.responses["neutral"]) < len(w.responses["neutral"])
               for c, w in zip(cut_rows, whole))
    judge = load_reward_model(out)

    def thresholds(rows):
        examples = build_examples(rows, judge.heads)
        probs = predict_probs(judge.model, judge.tokenizer, examples.prompts, examples.responses,
                              judge.max_length, batch_size=64)
        return calibrate_thresholds(examples, probs, 0.02)["thresholds"]

    expected, other = (thresholds(cut_rows), thresholds(whole))[::1 if cut else -1]
    # A tiny judge's scores barely move, so the two calibrations differ only in the last digits:
    # the shipped thresholds must be the expected ones exactly (same pairs, same batches).
    assert meta["thresholds"] == pytest.approx(expected, rel=0, abs=1e-12)
    assert meta["thresholds"] != pytest.approx(other, rel=0, abs=1e-12)


def test_threshold_interval_holds_the_threshold_and_narrows_with_more_texts():
    rng = np.random.default_rng(1)
    few, many = rng.uniform(size=300), rng.uniform(size=30000)
    lo, hi = threshold_interval(few, 0.02)
    assert lo <= np.quantile(few, 0.02, method="lower") <= hi
    assert (lo, hi) == threshold_interval(few, 0.02)  # fixed seed: the same interval each time
    wide, narrow = hi - lo, np.subtract(*threshold_interval(many, 0.02)[::-1])
    assert 0 < narrow < wide / 3  # 100x the texts: 0.23x the width here (0.1x in the limit)
    lo_many, hi_many = threshold_interval(many, 0.02)
    assert lo_many < 0.02 < hi_many  # the true 2 % quantile of U(0, 1)

    examples = Examples(heads=("fairness",), prompts=["p"] * 310, responses=["r"] * 310,
                        labels=[[1.0]] * 300 + [[0.0]] * 10)
    probs = np.concatenate([few, np.zeros(10)])[:, None]
    cal = calibrate_thresholds(examples, probs, 0.02)
    interval = cal["per_head"]["fairness"]["threshold_interval"]
    assert interval == [lo, hi] and "bootstrap" in cal["interval"]


def test_threshold_interval_is_the_same_drawn_in_chunks(monkeypatch):
    from fairguard.reward_model import calibrate

    good = np.random.default_rng(2).uniform(size=500)
    whole = threshold_interval(good, 0.02)
    monkeypatch.setattr(calibrate, "BOOTSTRAP_CHUNK", 500 * 7)  # 7 resamples at a time
    assert threshold_interval(good, 0.02) == whole
    cal = {"thresholds": {"fairness": 0.1, "fluency": 0.5},
           "per_head": {"fairness": {"threshold_interval": [0.05, 0.2]}}}
    assert calibrate.describe_thresholds(cal) == ("fairness 0.100 (0.050-0.200), fluency 0.500 "
                                                  "(in brackets: 90 % bootstrap intervals)")
    assert calibrate.describe_thresholds({"thresholds": {"fairness": 0.1}}) == "fairness 0.100"
