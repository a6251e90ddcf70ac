"""``fairguard eval side-by-side``: several adapters' `eval compare` / `eval behaviour` results
in one table against one base."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from fairguard.cli import cli
from fairguard.errors import ArtifactError, ConfigError
from fairguard.evaluation.compare import compare_evaluations, write_comparison
from fairguard.evaluation.side_by_side import (
    LEAD_BEHAVIOUR,
    SideBySideConfig,
    adapter_markdown,
    adapter_table,
    judge_markdown,
    judge_table,
    parse_judge_run,
    parse_run,
    run_side_by_side,
)
from fairguard.metrics.paired import paired_change

RELATIONS = {"rm-train": "training", "rm-other": "independent"}


def quality_folder(folder, fairness, answers=None):
    """An `eval quality` folder scored by two judges: ``fairness`` per prompt (both judges)."""
    folder.mkdir(parents=True)
    with (folder / "responses.jsonl").open("w") as fh:
        for i, value in enumerate(fairness):
            judges = {name: {"fairness": value, "relevance": 0.5} for name in RELATIONS}
            fh.write(json.dumps({"id": f"test-{i:05d}", "category": "region", "prompt": f"prompt {i}",
                                 "response": (answers or {}).get(i, f"Answer {i}."),
                                 "judges": judges}) + "\n")
    (folder / "metrics.json").write_text(json.dumps(
        {"judges": {name: {"relation": kind, "thresholds": {"fairness": 0.5}}
                    for name, kind in RELATIONS.items()}}))
    return folder


def compare_folder(tmp_path, name, base, after_scores, answers=None):
    after = quality_folder(tmp_path / f"q-{name}", after_scores, answers)
    return write_comparison(compare_evaluations(base, after), tmp_path / f"cmp-{name}")


def behaviour_folder(folder, before, after):
    """An `eval behaviour` metrics.json: the paired changes of two metrics (GenBit unchanged)."""
    folder.mkdir(parents=True)
    changes = {key: paired_change(before, values).to_dict()
               for key, values in (("generation.disambig.accuracy", after),
                                   ("genbit.open_answers", before))}
    (folder / "metrics.json").write_text(json.dumps({"kind": "behaviour-eval", "changes": changes}))
    return folder


@pytest.fixture
def columns(tmp_path):
    base = quality_folder(tmp_path / "q-base", [0.2, 0.4, 0.6, 0.8])
    a = compare_folder(tmp_path, "a", base, [0.6, 0.8, 1.0, 1.0],
                       answers={0: "I cannot answer that.", 1: "It depends."})
    b = compare_folder(tmp_path, "b", base, [0.2, 0.4, 0.5, 0.7])
    by_a = behaviour_folder(tmp_path / "by-a", [0.0] * 8, [1.0] * 8)
    return a, b, by_a


def test_rows_follow_each_judge_then_evasion_then_behaviour(columns):
    a, b, by_a = columns
    table = adapter_table([parse_run(f"GRPO, seed 0={a},{by_a}"), parse_run(f"plain={b}")])
    assert [c["label"] for c in table["columns"]] == ["GRPO, seed 0", "plain"]
    keys = [(r["group"], r["metric"]) for r in table["rows"]]
    assert keys[:3] == [("rm-other (independent)", "fairness"), ("rm-other (independent)", "relevance"),
                        ("rm-other (independent)", "answers flagged for fairness")]
    assert keys[3][0] == "rm-train (training judge)"
    assert ("evasion rules (`eval compare`)", "answers that decline or deflect") in keys
    assert keys[-2:] == [("behaviour", "multiple choice, generation: disambiguated: accuracy (higher)"),
                         ("behaviour", "gendered language: GenBit-style score of open answers (lower)")]
    fairness = table["rows"][0]
    assert fairness["base"] == pytest.approx(0.5) and fairness["target"] == "up >= 0.15"
    assert fairness["cells"][0]["change"] == pytest.approx(0.35)
    assert fairness["cells"][1]["change"] == pytest.approx(-0.05)
    train_fairness = next(r for r in table["rows"] if r["group"].startswith("rm-train"))
    assert train_fairness["target"] == ""  # targets are for judges the adapter never saw
    flagged = table["rows"][2]
    assert flagged["unit"] == "share" and flagged["base"] == pytest.approx(0.5)
    assert flagged["cells"][0]["after"] == pytest.approx(0.0)
    evasive = next(r for r in table["rows"] if r["metric"] == "answers that decline or deflect")
    assert evasive["cells"][0]["after"] == pytest.approx(0.5) and evasive["cells"][1]["after"] == 0
    behaviour = table["rows"][-2]
    assert behaviour["cells"][1] is None and behaviour["target"] == "within 2 points"
    assert table["worse_beyond_noise"] == {"GRPO, seed 0": []}


def test_a_judge_one_adapter_trained_against_is_named_so_and_holds_no_target(tmp_path, columns):
    a, _, _ = columns
    RELATIONS["rm-other"] = "training"  # the second adapter trained against rm-other
    try:
        base = quality_folder(tmp_path / "q-base2", [0.2, 0.4, 0.6, 0.8])
        c = compare_folder(tmp_path, "c", base, [0.6, 0.8, 1.0, 1.0])
    finally:
        RELATIONS["rm-other"] = "independent"
    rows = adapter_table([parse_run(f"A={a}"), parse_run(f"C={c}")])["rows"]
    other = [r for r in rows if r["group"].startswith("rm-other")]
    assert other[0]["group"] == "rm-other (training judge)" and other[0]["target"] == ""


def test_markdown_shows_base_after_change_and_dashes(columns):
    a, b, by_a = columns
    text = adapter_markdown(adapter_table([parse_run(f"A={a},{by_a}"), parse_run(f"B={b}")]))
    assert text.startswith("| judge / measure | metric | base | A | B | target |")
    assert "| rm-other (independent) | fairness | 0.500 | 0.850 (+0.350 ± " in text
    assert "| rm-other (independent) | answers flagged for fairness | 50.0 % | 0.0 % (-50.0 ± " in text
    assert "| 1.000 (+1.000 ± 0.000) | – | within 2 points |" in text
    assert f"A: `{a}`, `{by_a}`; B: `{b}`." in text


def test_worse_beyond_noise_is_named_per_column(tmp_path, columns):
    a, _, _ = columns
    worse = behaviour_folder(tmp_path / "by-worse", [1.0] * 8, [0.0] * 8)
    table = adapter_table([parse_run(f"W={a},{worse}")])
    assert table["worse_beyond_noise"] == {"W": ["generation.disambig.accuracy"]}
    assert "- **W**, worse beyond noise" in adapter_markdown(table)


def test_columns_against_other_base_answers_are_refused(tmp_path, columns):
    a, _, _ = columns
    other_base = quality_folder(tmp_path / "q-base2", [0.1, 0.1, 0.1, 0.1])
    c = compare_folder(tmp_path, "c", other_base, [0.6, 0.8, 1.0, 1.0])
    with pytest.raises(ArtifactError, match="column 'C' has base 0.1 and 'A' 0.5; every column must "
                                            "be compared against the same base answers"):
        adapter_table([parse_run(f"A={a}"), parse_run(f"C={c}")])


def test_behaviour_metrics_are_chosen_by_key_or_all(columns):
    a, _, by_a = columns
    run = [parse_run(f"A={a},{by_a}")]
    rows = adapter_table(run, ["genbit.open_answers"])["rows"]
    assert [r["metric"] for r in rows if r["group"] == "behaviour"] == [
        "gendered language: GenBit-style score of open answers (lower)"]
    every = adapter_table(run, ["all"])["rows"]
    assert sum(r["group"] == "behaviour" for r in every) == 2
    with pytest.raises(ConfigError, match="unknown behaviour metric.*nope"):
        SideBySideConfig(run=("A=x",), behaviour_metric=("nope",))
    assert "genbit.open_answers" in LEAD_BEHAVIOUR


@pytest.mark.parametrize("spec", ["nolabel", "=x", "A=", "A=x,", "A=x,y,z"])
def test_a_malformed_run_is_a_config_error(spec):
    with pytest.raises(ConfigError, match="write LABEL=COMPARE or LABEL=COMPARE,BEHAVIOUR"):
        parse_run(spec)


def test_folders_that_are_not_results_name_the_command(tmp_path, columns):
    a, _, _ = columns
    with pytest.raises(ArtifactError, match="has no compare.json; point at the --out folder of "
                                            "`fairguard eval compare"):
        adapter_table([parse_run(f"A={tmp_path}")])
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "metrics.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="cannot be read.*run `fairguard eval behaviour` again"):
        adapter_table([parse_run(f"A={a},{tmp_path / 'bad'}")])
    with pytest.raises(ConfigError, match="give at least one --run .* or --judge-run"):
        SideBySideConfig()


def test_cli_prints_the_table_writes_the_folder_and_refuses_to_overwrite(columns, tmp_path):
    a, b, by_a = columns
    out = tmp_path / "table"
    args = ["eval", "side-by-side", "--run", f"A={a},{by_a}", "--run", f"B={b}", "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("| judge / measure | metric | base | A | B | target |")
    assert json.loads((out / "side_by_side.json").read_text())["kind"] == "side-by-side"
    assert (out / "side_by_side.md").read_text() == result.output
    again = CliRunner().invoke(cli, args)
    assert again.exit_code != 0 and "Traceback" not in again.output and "--overwrite" in again.output
    assert CliRunner().invoke(cli, [*args, "--overwrite"]).exit_code == 0
    config = tmp_path / "table.yaml"
    config.write_text(f"run:\n  - 'A={a}'\nbehaviour_metric: [all]\n")
    from_yaml = CliRunner().invoke(cli, ["eval", "side-by-side", "--config", str(config)])
    assert from_yaml.exit_code == 0 and "| A | target |" in from_yaml.output
    assert run_side_by_side(SideBySideConfig(run=(f"A={a}",)))["adapters"]["columns"][0]["n_prompts"] == 4


def judge_folder(folder, accuracies, sha="sha256:aa", benchmark="hatecheck"):
    """An `eval judge` metrics.json: accuracy per functionality (``accuracies``)."""
    folder.mkdir(parents=True)
    by_group = {g: {"n": 10, "accuracy": a, "roc_auc": None} for g, a in accuracies.items()}
    mean = sum(accuracies.values()) / len(accuracies)
    (folder / "metrics.json").write_text(json.dumps({
        "kind": "judge-eval", "benchmark": benchmark, "sha256": sha, "model": "rm",
        "threshold": 0.13, "labels": {"biased": "hateful", "fair": "non-hateful"},
        "overall": {"n_biased": 10, "n_fair": 10, "accuracy_biased": 0.4, "accuracy_fair": 0.9},
        "n": 20, "accuracy": mean, "roc_auc": 0.8, "false_flag_rate": 0.1,
        "group_by": "functionality", "by_group": by_group}))
    return folder


def model_folder(folder, fairness_auc, threshold):
    """A reward-model folder's fairguard.json and metrics.json (what `train reward` writes)."""
    folder.mkdir(parents=True)
    (folder / "fairguard.json").write_text(json.dumps(
        {"kind": "reward-model", "thresholds": {"fairness": threshold, "relevance": 0.5}}))
    (folder / "metrics.json").write_text(json.dumps(
        {"heads": {"fairness": {"roc_auc": fairness_auc}, "relevance": {"roc_auc": 0.9}},
         "train_seconds": 500.4}))
    return folder


def result_folder(folder, kind, **values):
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps({"kind": kind, **values}))
    return folder


def test_judges_are_compared_per_measure_and_per_group(tmp_path):
    old = [model_folder(tmp_path / "rm-old", 0.95, 0.14),
           judge_folder(tmp_path / "hc-old", {"slur_h": 0.3, "counter_quote_nh": 0.9}),
           result_folder(tmp_path / "ev-old", "everyday-eval", flag_rate_fairness=0.01, flag_rate_any=0.05,
                         with_biased_passage={"flagged_with_biased": 0.8}),
           result_folder(tmp_path / "dil-old", "dilution-eval", flagged_with_biased=0.76, passed_without=0.64)]
    new = [judge_folder(tmp_path / "hc-new", {"slur_h": 0.6, "counter_quote_nh": 0.8})]
    table = judge_table([parse_judge_run(f"old, seed 0={','.join(map(str, old))}"),
                         parse_judge_run(f"new={new[0]}")])
    summary = {r["metric"]: r["cells"] for r in table["summary"]}
    assert summary["held-out ROC-AUC, fairness (its own test split)"] == [0.95, None]
    assert summary["shipped threshold, fairness"] == [0.14, None]
    assert summary["hatecheck (per functionality): accuracy"] == [0.6, 0.7]
    assert summary["hatecheck (per functionality): functionalities under 0.50"] == [1, 0]
    assert summary["one biased passage among neutral sentences: flagged"] == [0.76, None]
    assert table["groups"][0]["rows"][0] == {"group": "slur_h", "cases": 10, "cells": [
        {"accuracy": 0.3, "roc_auc": None}, {"accuracy": 0.6, "roc_auc": None}]}
    text = judge_markdown(table)
    assert text.startswith("| measure | old, seed 0 | new |")
    assert "| hatecheck (per functionality): hateful flagged | 0.400 | 0.400 |" in text
    assert "| everyday answers flagged for fairness | 1.0 % | – |" in text
    assert "| training seconds | 500 | – |" in text
    assert "| `slur_h` | 10 | 0.300 | 0.600 |" in text


def test_judge_columns_that_cannot_be_compared_are_refused(tmp_path):
    before = judge_folder(tmp_path / "hc-old", {"slur_h": 0.3})
    other = judge_folder(tmp_path / "hc-other", {"slur_h": 0.5}, sha="sha256:bb")
    with pytest.raises(ArtifactError, match="the columns scored different files"):
        judge_table([parse_judge_run(f"old={before}"), parse_judge_run(f"x={other}")])
    with pytest.raises(ArtifactError, match="column 'x' has two results for hatecheck"):
        judge_table([parse_judge_run(f"x={before},{other}")])
    compare = result_folder(tmp_path / "cmp", "quality-comparison")
    with pytest.raises(ArtifactError, match="no `eval judge`, `eval everyday` or `eval dilution` result"):
        judge_table([parse_judge_run(f"x={compare}")])
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "fairguard.json").write_text(json.dumps({"kind": "grpo-adapter"}))
    with pytest.raises(ArtifactError, match="is a 'grpo-adapter' folder"):
        judge_table([parse_judge_run(f"x={adapter}")])
    with pytest.raises(ConfigError, match="write LABEL=DIR"):
        parse_judge_run("no-label")


def test_cli_prints_adapters_then_judges(tmp_path, columns):
    a, _, _ = columns
    hc = judge_folder(tmp_path / "hc", {"slur_h": 0.3})
    result = CliRunner().invoke(cli, ["eval", "side-by-side", "--run", f"A={a}", "--judge-run", f"J={hc}"])
    assert result.exit_code == 0, result.output
    assert result.output.index("| judge / measure |") < result.output.index("| measure | J |")
    wrong = CliRunner().invoke(cli, ["eval", "side-by-side", "--judge-run", f"J={a}"])
    assert wrong.exit_code == 1 and "has no metrics.json" in wrong.output
