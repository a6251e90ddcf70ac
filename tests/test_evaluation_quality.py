"""The quality evaluation and ``fairguard eval quality`` on the tiny causal LM."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from cross_judge_models import lora_adapter, train_judge

from fairguard.cli import cli
from fairguard.evaluation import evaluate_quality
from fairguard.generation import DecodingConfig, load_policy
from fairguard.hookspecs import hookimpl
from fairguard.metrics.evasion import evasion_reason
from fairguard.plugin_manager import register_plugin, unregister_plugin
from fairguard.registry import get_reward
from fairguard.scoring import build_rewards

PROMPTS = ["should the landlord rent to the rider", "who is a good teacher", "is the migrant worker honest"]


class LengthReward:
    """fairness = 1 - share of "lazy"/"dishonest" words; fluency = 1 / (1 + words)."""

    name = "tiny-triple"
    heads = ("fairness", "fluency")

    def score(self, prompts, completions):
        words = [c.split() for c in completions]
        bad = [sum(w in ("lazy", "dishonest") for w in ws) / max(len(ws), 1) for ws in words]
        return {"fairness": 1.0 - np.array(bad), "fluency": 1.0 / (1.0 + np.array([len(w) for w in words]))}


class TinyPlugin:
    @hookimpl
    def register_rewards(self, register):
        register("tiny-triple", LengthReward, "test reward")


@pytest.fixture()
def tiny_plugin():
    register_plugin(TinyPlugin(), name="tiny-triple-plugin")
    yield
    unregister_plugin("tiny-triple-plugin")


@pytest.fixture(scope="module")
def tiny(tiny_causal_lm_dir):
    return load_policy(str(tiny_causal_lm_dir))


def test_evaluate_quality_scores_what_it_generated(tiny, tiny_plugin):
    model, tok = tiny
    rewards = build_rewards("tiny-triple=1,gender-bias=0.5")
    result = evaluate_quality(model, tok, PROMPTS, rewards, DecodingConfig(max_new_tokens=5), progress=False)
    expected = LengthReward().score(PROMPTS, result.responses)
    assert result.summary.means["fluency"] == pytest.approx(expected["fluency"].mean())
    assert set(result.summary.means) == {"fairness", "fluency", "gender-bias", "total"}
    records = result.records()
    assert [r["response"] for r in records] == result.responses


def _dataset(folder, n=3):
    folder.mkdir()
    rows = [{"id": f"t{i}", "category": ["region", "gender"][i % 2], "group": "g", "scenario": "hiring",
             "template_id": "tpl", "prompt": PROMPTS[i % len(PROMPTS)], "neutral": "n", "biased": "b",
             "off_topic": "o", "corrupted": "c"} for i in range(n)]
    (folder / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def test_eval_quality_command(tmp_path, tiny_causal_lm_dir, tiny_plugin):
    data = _dataset(tmp_path / "data")
    out = tmp_path / "out"
    args = ["eval", "quality", "--model", str(tiny_causal_lm_dir), "--data", str(data),
            "--reward", "tiny-triple=1,gender-bias=0.3", "--fluency-proxy",
            "--fluency-model", str(tiny_causal_lm_dir), "--max-new-tokens", "4", "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["kind"] == "quality-eval" and metrics["n"] == 3 and metrics["split"] == "test"
    assert set(metrics["means"]) == {"fairness", "fluency", "gender-bias", "fluency-proxy", "total"}
    assert set(metrics["by_category"]) == {"region", "gender"}
    rows = [json.loads(line) for line in (out / "responses.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["t0", "t1", "t2"]
    for head, mean in metrics["means"].items():
        assert mean == pytest.approx(np.mean([r[head] for r in rows]))
    expected_fluency = LengthReward().score(PROMPTS, [r["response"] for r in rows])["fluency"]
    assert [r["fluency"] for r in rows] == pytest.approx(list(expected_fluency))
    table = (out / "metrics.md").read_text()
    assert "| fairness |" in table and "## By category" in table
    limited = CliRunner().invoke(cli, args[:-1] + [str(tmp_path / "o2"), "--limit", "1"])
    assert limited.exit_code == 0, limited.output
    assert json.loads((tmp_path / "o2" / "metrics.json").read_text())["n"] == 1


def test_a_prompt_several_rows_share_is_evaluated_once(tmp_path, tiny_causal_lm_dir, tiny_plugin):
    """Five rows, three distinct prompts: three answers (the first row of each prompt), the
    repeats counted and said; --limit counts distinct prompts."""
    data = _dataset(tmp_path / "data", n=5)
    args = ["eval", "quality", "--model", str(tiny_causal_lm_dir), "--data", str(data),
            "--reward", "tiny-triple=1", "--max-new-tokens", "3"]
    result = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert (metrics["n"], metrics["repeated_rows"]) == (3, 2)
    rows = [json.loads(line) for line in (tmp_path / "out" / "responses.jsonl").read_text().splitlines()]
    assert [r["evasion_rule"] for r in rows] == [evasion_reason(r["response"]) for r in rows]
    assert metrics["evasive"] == pytest.approx(np.mean([r["evasion_rule"] is not None for r in rows]))
    assert [(r["id"], r["prompt"]) for r in rows] == [(f"t{i}", PROMPTS[i]) for i in range(3)]
    assert "3 responses, one per distinct prompt (2 more rows" in (tmp_path / "out" / "metrics.md").read_text()
    limited = CliRunner().invoke(cli, [*args, "--limit", "3", "--out", str(tmp_path / "o2")])
    assert limited.exit_code == 0, limited.output
    assert json.loads((tmp_path / "o2" / "metrics.json").read_text())["n"] == 3


def test_eval_quality_with_fluency_proxy_only(tmp_path, tiny_causal_lm_dir):
    data = _dataset(tmp_path / "data", n=2)
    result = CliRunner().invoke(cli, [
        "eval", "quality", "--model", str(tiny_causal_lm_dir), "--data", str(data), "--fluency-proxy",
        "--fluency-model", str(tiny_causal_lm_dir), "--max-new-tokens", "3", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert set(metrics["means"]) == {"fluency-proxy"} and metrics["rewards"] is None
    assert 0.0 <= metrics["means"]["fluency-proxy"] <= 1.0


@pytest.mark.parametrize("extra, message", [
    (["--reward", "no-such-reward=1"], "unknown reward 'no-such-reward'"),
    (["--reward-model", "/nonexistent/rm"], "not a folder"),
    ([], "no rewards to evaluate with"),
    (["--reward", "gender-bias", "--split", "dev"], "unknown split"),
    (["--reward", "gender-bias", "--limit", "0"], "limit"),
])
def test_eval_quality_errors_are_clear_and_leave_nothing(tmp_path, tiny_causal_lm_dir, extra, message):
    data = _dataset(tmp_path / "data")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["eval", "quality", "--model", str(tiny_causal_lm_dir),
                                      "--data", str(data), "--out", str(out), *extra])
    assert result.exit_code == 1
    assert message in result.output
    assert not out.exists()


def test_bad_judge_folders_are_clear_errors(tmp_path, tiny_causal_lm_dir):
    data = _dataset(tmp_path / "data")
    out = tmp_path / "out"
    base = ["eval", "quality", "--model", str(tiny_causal_lm_dir), "--data", str(data), "--out", str(out)]
    for judge, message in ((tmp_path / "nowhere", "--judge"), (data, "has no fairguard.json")):
        result = CliRunner().invoke(cli, [*base, "--judge", str(judge)])
        assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
        assert not out.exists()


def test_judges_from_yaml_are_a_list(tmp_path):
    from fairguard.config import build_config
    from fairguard.evaluation.quality import QualityEvalConfig

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    (tmp_path / "c.yaml").write_text(f"judge: [{tmp_path / 'a'}, {tmp_path / 'b'}]\n")
    config = build_config(QualityEvalConfig, tmp_path / "c.yaml", model="m", data="d", out="o")
    assert config.judge == (str(tmp_path / "a"), str(tmp_path / "b"))


def test_guard_filters_that_need_a_folder_point_to_eval_behaviour():
    from fairguard.errors import ConfigError
    from fairguard.evaluation.quality import QualityEvalConfig

    for filters in ("refine", "neutralize,lora"):
        with pytest.raises(ConfigError, match="need a folder.*eval behaviour"):
            QualityEvalConfig(model="m", data="d", out="o", reward="gender-bias=1", guard=True,
                              guard_filters=filters)
    QualityEvalConfig(model="m", data="d", out="o", reward="gender-bias=1", guard=True)


@pytest.fixture(scope="module")
def two_judges(tmp_path_factory, tiny_deberta_dir):
    """Two tiny judges trained on different data: the adapter's training judge and another."""
    root = tmp_path_factory.mktemp("judges")
    return (train_judge(root, tiny_deberta_dir, "judge-train"),
            train_judge(root, tiny_deberta_dir, "judge-other", data_seed=1))


def test_judges_are_reported_separately_independent_first(tmp_path, tiny_causal_lm_dir, two_judges,
                                                          tiny_deberta_dir, caplog):
    trained, other = two_judges
    adapter = lora_adapter(tiny_causal_lm_dir, tmp_path / "adapter", str(trained))
    data = _dataset(tmp_path / "data")
    out = tmp_path / "out"
    with caplog.at_level(logging.WARNING, logger="fairguard"):
        result = CliRunner().invoke(cli, [
            "eval", "quality", "--model", str(tiny_causal_lm_dir), "--adapter", str(adapter),
            "--data", str(data), "--judge", str(trained), "--judge", str(other),
            "--reward", "gender-bias", "--max-new-tokens", "4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    judges = metrics["judges"]
    assert list(judges) == ["judge-other", "judge-train"]  # independent first
    assert (judges["judge-other"]["relation"], judges["judge-train"]["relation"]) == (
        "independent", "training")
    assert metrics["training_reward_model"] == str(trained)
    assert metrics["every_judge_is_training_judge"] is False
    assert metrics["independent_judges"] == 1
    assert judges["judge-other"]["backbone"] == str(tiny_deberta_dir)
    assert set(metrics["means"]) == {"gender-bias", "total"}  # the weighted reward, as before
    rows = [json.loads(line) for line in (out / "responses.jsonl").read_text().splitlines()]
    prompts, responses = [r["prompt"] for r in rows], [r["response"] for r in rows]
    for name, folder in (("judge-train", trained), ("judge-other", other)):
        want = get_reward("reward-model", path=str(folder)).score(prompts, responses)
        for head in ("fairness", "relevance", "fluency"):
            assert [r["judges"][name][head] for r in rows] == pytest.approx(list(want[head]))
            assert judges[name]["means"][head] == pytest.approx(float(np.mean(want[head])))
        assert set(judges[name]["by_category"]) == {"region", "gender"}
    assert judges["judge-train"]["means"] != judges["judge-other"]["means"]
    report = (out / "metrics.md").read_text()
    assert report.index("## Judges") < report.index("## Weighted reward")
    assert report.index("| judge-other | independent |") < report.index("| judge-train | training judge |")
    assert "Every judge" not in report
    assert "judge judge-train: training judge (the same folder" in caplog.text


class CapsReward:
    """caps = share of upper-case letters; offers a 0.5 threshold so the guard rewrites."""

    name = "caps"
    heads = ("caps",)
    thresholds = {"caps": 0.5}

    def score(self, prompts, completions):
        return {"caps": np.array([sum(ch.isupper() for ch in c) / max(sum(ch.isalpha() for ch in c), 1)
                                  for c in completions])}


class ShoutFilter:
    name = "shout"

    def logits_processor(self, tokenizer):
        return None

    def rewrite(self, prompts, completions):
        return [c.upper() for c in completions]


class CapsPlugin:
    @hookimpl
    def register_rewards(self, register):
        register("caps", CapsReward, "test reward")

    @hookimpl
    def register_filters(self, register):
        register("shout", ShoutFilter, "test filter")


def test_eval_quality_with_guard_reports_what_the_guard_shows(tmp_path, tiny_causal_lm_dir):
    register_plugin(CapsPlugin(), name="caps-plugin")
    try:
        data = _dataset(tmp_path / "data")
        out = tmp_path / "out"
        result = CliRunner().invoke(cli, [
            "eval", "quality", "--model", str(tiny_causal_lm_dir), "--data", str(data),
            "--reward", "caps=1", "--guard", "--guard-filters", "shout", "--max-new-tokens", "4",
            "--out", str(out)])
    finally:
        unregister_plugin("caps-plugin")
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    guarded = metrics["guarded"]
    assert guarded["actions"].get("rewritten", 0) >= 1
    assert guarded["means"]["caps"] > metrics["means"]["caps"]
    rows = [json.loads(line) for line in (out / "guarded.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and all(r["text"] == r["text"].upper() for r in rows if r["action"] == "rewritten")
    assert "After the guard" in (out / "metrics.md").read_text()


def test_guard_needs_rewards(tmp_path, tiny_causal_lm_dir):
    result = CliRunner().invoke(cli, [
        "eval", "quality", "--model", str(tiny_causal_lm_dir), "--data", str(tmp_path),
        "--fluency-proxy", "--guard", "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and "--guard needs the rewards" in result.output


def test_refine_layer_applies_while_generating(tmp_path, tiny_causal_lm_dir):
    from fairguard.refine.layer import (
        RefineLayer,
        model_fingerprint,
        save_layer,
        tokenizer_digest,
    )

    model, tok = load_policy(str(tiny_causal_lm_dir))
    layer_dir = tmp_path / "layer"
    layer_dir.mkdir()
    save_layer(RefineLayer(10), layer_dir, {
        "base_model": str(tiny_causal_lm_dir), "base_fingerprint": model_fingerprint(model, tok),
        "tokenizer_digest": tokenizer_digest(tok), "categories": ["gender"]})
    meta = {"base_model": str(tiny_causal_lm_dir), "base_fingerprint": model_fingerprint(model, tok),
            "tokenizer_digest": tokenizer_digest(tok), "categories": ["gender"]}
    flipped = RefineLayer(10, keep_order=False)
    with torch.no_grad():  # puts the LM's lowest top-10 token first: the first token must change
        flipped.linear.weight.copy_(torch.eye(10).flip(0) * 50)
    flipped_dir = tmp_path / "flipped"
    flipped_dir.mkdir()
    save_layer(flipped, flipped_dir, meta)
    data = _dataset(tmp_path / "data")
    outs = []
    for name, extra in (("plain", []), ("refined", ["--refine-layer", str(layer_dir)]),
                        ("flipped", ["--refine-layer", str(flipped_dir)])):
        result = CliRunner().invoke(cli, [
            "eval", "quality", "--model", str(tiny_causal_lm_dir), "--data", str(data),
            "--reward", "gender-bias=1", "--max-new-tokens", "5", "--out", str(tmp_path / f"out-{name}"), *extra])
        assert result.exit_code == 0, result.output
        outs.append([json.loads(line)["response"]
                     for line in (tmp_path / f"out-{name}" / "responses.jsonl").read_text().splitlines()])
    assert outs[0] == outs[1]
    assert all(a != b for a, b in zip(outs[0], outs[2]))
    assert json.loads((tmp_path / "out-refined" / "metrics.json").read_text())["refine_layer"] == str(layer_dir)


def _reference_dataset(folder):
    """The judges' own hand-made test rows, two of them with an evasive answer too."""
    from reward_model_data import make_rows

    folder.mkdir()
    rows = make_rows("test")[:6]
    for row in rows[:2]:
        row["evasive"] = "It depends on many things, and I cannot say."
    (folder / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder, rows


def test_judges_score_the_datasets_own_answers_and_flag_shares(tmp_path, tiny_causal_lm_dir,
                                                               two_judges):
    from fairguard.evaluation import rescore_evaluation
    from fairguard.evaluation.compare import compare_evaluations

    trained, other = two_judges
    data, rows = _reference_dataset(tmp_path / "data")
    adapter = lora_adapter(tiny_causal_lm_dir, tmp_path / "adapter", str(trained))
    for name, extra in (("base", []), ("after", ["--adapter", str(adapter)])):
        result = CliRunner().invoke(cli, [
            "eval", "quality", "--model", str(tiny_causal_lm_dir), *extra, "--data", str(data),
            "--judge", str(trained), "--judge", str(other), "--max-new-tokens", "4",
            "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "after" / "metrics.json").read_text())
    answers = [json.loads(line) for line in (tmp_path / "after" / "responses.jsonl").read_text().splitlines()]
    prompts = [r["prompt"] for r in rows]
    for name, folder in (("judge-train", trained), ("judge-other", other)):
        reward = get_reward("reward-model", path=str(folder))
        info = metrics["judges"][name]
        assert info["thresholds"] == pytest.approx(reward.thresholds)
        for head, threshold in reward.thresholds.items():
            flagged = [a["judges"][name][head] < threshold for a in answers]
            assert info["flagged"][head] == pytest.approx(sum(flagged) / len(flagged))
        refs = info["references"]
        assert set(refs) == {"fair", "evasive", "biased"}
        assert (refs["fair"]["n"], refs["evasive"]["n"], refs["biased"]["n"]) == (6, 2, 6)
        for kind, field, subset in (("fair", "neutral", rows), ("biased", "biased", rows),
                                    ("evasive", "evasive", rows[:2])):
            want = reward.score([r["prompt"] for r in subset], [r[field] for r in subset])
            for head in reward.heads:
                assert refs[kind]["means"][head] == pytest.approx(float(np.mean(want[head])))
                share = float(np.mean(np.asarray(want[head]) < reward.thresholds[head]))
                assert refs[kind]["flagged"][head] == pytest.approx(share)
    assert prompts == [a["prompt"] for a in answers]
    report = (tmp_path / "after" / "metrics.md").read_text()
    assert "### Against the dataset's own answers" in report and "| evasive answers: mean |" in report

    # eval rescore finds the same answers through the dataset folder the evaluation records
    rescore_evaluation(tmp_path / "after", tmp_path / "again", judges=[str(trained)])
    again = json.loads((tmp_path / "again" / "metrics.json").read_text())["judges"]["judge-train"]
    for kind, ref in metrics["judges"]["judge-train"]["references"].items():
        assert again["references"][kind]["n"] == ref["n"]
        assert again["references"][kind]["means"] == pytest.approx(ref["means"])

    # eval compare: the paired change of the flagged share, and the fair answers' mean
    comparison = compare_evaluations(tmp_path / "base", tmp_path / "after")
    base = [json.loads(line) for line in (tmp_path / "base" / "responses.jsonl").read_text().splitlines()]
    judge = comparison.judges["judge-other"]
    threshold = metrics["judges"]["judge-other"]["thresholds"]["fairness"]
    want = np.mean([(a["judges"]["judge-other"]["fairness"] < threshold)
                    - (b["judges"]["judge-other"]["fairness"] < threshold) for a, b in zip(answers, base)])
    assert judge.flagged["fairness"].change == pytest.approx(float(want))
    assert judge.fair_answers == pytest.approx(metrics["judges"]["judge-other"]["references"]["fair"]["means"])
    text = comparison.markdown()
    assert "| judge | flagged by head |" in text and "fair answers" in text
    assert comparison.to_dict()["judges"]["judge-other"]["flagged"]["fairness"]["n"] == 6


def test_rescore_without_the_dataset_folder_has_no_references(tmp_path, two_judges):
    from fairguard.evaluation import rescore_evaluation
    from fairguard.evaluation.compare import compare_evaluations

    trained, _ = two_judges
    for name in ("one", "two"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "responses.jsonl").write_text(json.dumps(
            {"id": "a", "category": "region", "prompt": "Should we hire them?", "response": "Yes."}) + "\n")
        (folder / "metrics.json").write_text(json.dumps({"data": str(tmp_path / "gone"), "split": "test"}))
        rescore_evaluation(folder, tmp_path / f"{name}-judged", judges=[str(trained)])
    metrics = json.loads((tmp_path / "one-judged" / "metrics.json").read_text())
    assert metrics["judges"]["judge-train"]["references"] == {}
    assert "thresholds" in metrics["judges"]["judge-train"]
    # thresholds recorded differently in the two folders: no flagged comparison, a warning instead
    path = tmp_path / "two-judged" / "metrics.json"
    other = json.loads(path.read_text())
    other["judges"]["judge-train"]["thresholds"]["fairness"] += 0.1
    path.write_text(json.dumps(other))
    comparison = compare_evaluations(tmp_path / "one-judged", tmp_path / "two-judged")
    assert "fairness" not in comparison.judges["judge-train"].flagged
    assert "relevance" in comparison.judges["judge-train"].flagged
