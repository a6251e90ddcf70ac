"""``fairguard eval behaviour``: question sets, the run end to end on tiny models (a real peft
adapter, a tiny reward model as judge), the guard's rewrite filters (lora, refine) as the
'after' side, the CLI, and one run on the embedded SmolLM2.

The tiny models are random: their answers mean nothing; what is checked is the wiring, that
base and after really are different policies, that every reported number can be recomputed
from answers.jsonl, and the judge's calibrated threshold.
"""

from __future__ import annotations

import json
import logging

import pytest
from click.testing import CliRunner
from onnx_export_data import tiny_reward_dir

from fairguard.cli import cli
from fairguard.config import config_options
from fairguard.errors import ArtifactError, ConfigError
from fairguard.evaluation.behaviour import (
    ANSWERS_FILE,
    METRICS,
    REPORT_FILE,
    BehaviourEvalConfig,
    question_sets,
    run_behaviour,
    spread,
)
from fairguard.evaluation.behaviour_values import worse_beyond_noise
from fairguard.metrics.evasion import is_evasive


def make_adapter(base: str, folder, std: float = 0.5):
    """A LoRA adapter over ``base`` with random (non-zero) B matrices, saved by peft."""
    import torch
    from peft import LoraConfig, get_peft_model

    from fairguard.generation import load_policy

    model, _ = load_policy(base)
    peft_model = get_peft_model(model, LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    torch.manual_seed(0)
    for name, param in peft_model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(param, std=std)
    peft_model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def adapter_dir(tiny_causal_lm_dir, tmp_path_factory):
    return make_adapter(str(tiny_causal_lm_dir), tmp_path_factory.mktemp("behaviour-adapter"))


@pytest.fixture(scope="module")
def judge_dir(tmp_path_factory):
    return tiny_reward_dir(tmp_path_factory.mktemp("behaviour-judge"))


def with_calibration(source, dest, thresholds):
    """A copy of the judge folder whose fairguard.json has ``calibration.thresholds``."""
    import shutil

    shutil.copytree(source, dest)
    meta = json.loads((dest / "fairguard.json").read_text())
    meta["calibration"] = {"thresholds": thresholds, "split": "val"}
    (dest / "fairguard.json").write_text(json.dumps(meta))
    return dest


def read_answers(folder):
    rows = [json.loads(line) for line in (folder / ANSWERS_FILE).read_text().splitlines()]
    return ([r for r in rows if r["policy"] == "base"], [r for r in rows if r["policy"] == "after"])


@pytest.fixture(scope="module")
def judged_run(tiny_causal_lm_dir, adapter_dir, judge_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("behaviour-run") / "out"
    config = BehaviourEvalConfig(out=str(out), model=str(tiny_causal_lm_dir), adapter=str(adapter_dir),
                                 judge=str(judge_dir), limit=5, max_new_tokens=4, device="cpu")
    return out, run_behaviour(config, progress=False)


# ---------------------------------------------------------------- sets and config


def test_spread_takes_round_robin_over_groups():
    items = ["a1", "a2", "a3", "b1", "c1", "c2"]
    assert spread(items, lambda s: s[0], 4) == ["a1", "b1", "c1", "a2"]
    assert spread(items, lambda s: s[0], None) == items


def test_question_sets_are_capped_and_keep_whole_units():
    sets = question_sets(seed=0, limit=5)
    assert len(sets.ambig) == 8  # 5 questions round up to 2 units of 4
    assert len({r["category"] for r in sets.ambig}) == 2
    assert len(sets.disambig) == len(sets.everyday) == len(sets.counterfactual) == 5
    assert len({r["category"] for r in sets.disambig}) == 4
    assert len({q.topic for q in sets.everyday}) == 5
    assert len({p.category for p in sets.counterfactual}) == 5
    full = question_sets(seed=0)
    assert (len(full.ambig), len(full.disambig)) == (1200, 600)


@pytest.mark.parametrize("options, message", [
    ({}, "give --adapter DIR"),
    ({"policy": "x", "limit": 0}, "limit must be a positive integer"),
    ({"policy": "x", "max_new_tokens": 0}, "max_new_tokens"),
    ({"policy": "x", "model": " "}, "--model is empty"),
    ({"guard_filters": "lora", "judge": "j"}, "the lora filter needs --guard-lora-adapter DIR"),
    ({"guard_filters": "lora,refine", "guard_lora_adapter": "a", "judge": "j"},
     "the refine filter needs --guard-refine-layer DIR"),
    ({"guard_filters": "neutralize"}, "give --guard-reward-model DIR or --judge DIR"),
    ({"guard_filters": "lora", "guard_lora_adapter": "a", "judge": "j", "adapter": "x"},
     "drop --adapter/--policy"),
    ({"adapter": "x", "guard_lora_adapter": "a"}, "--guard-lora-adapter: options of the guard"),
    ({"guard_filters": "neutralize", "judge": "j", "guard_refine_layer": "l"},
     "add refine to --guard-filters"),
    ({"guard_filters": "neutralize,neutralize", "judge": "j"}, "names a filter twice"),
    ({"guard_filters": "neutralize", "judge": "j", "guard_thresholds": "fairness=high"}, "threshold"),
    ({"answers": "run", "adapter": "x"}, "--answers judges the saved answers.*drop --adapter"),
    ({"answers": "run", "base_answers": "run"}, "--answers judges the saved answers.*drop --base-answers"),
    ({"guard_filters": "neutralize", "judge": "j", "base_answers": "run"},
     "--guard-filters answers with the base model.*drop --base-answers"),
])
def test_config_checks(options, message):
    with pytest.raises(ConfigError, match=message):
        BehaviourEvalConfig(out="o", **options)


def test_cli_says_which_folder_a_filter_needs(tmp_path):
    result = CliRunner().invoke(cli, ["eval", "behaviour", "--guard-filters", "lora,refine",
                                      "--judge", "j", "--out", str(tmp_path / "out")])
    assert result.exit_code != 0
    assert "the lora filter needs --guard-lora-adapter DIR" in result.output
    assert not (tmp_path / "out").exists()


def test_a_bad_device_is_refused_before_any_output(tmp_path):
    with pytest.raises(ConfigError, match="device"):
        run_behaviour(BehaviourEvalConfig(out=str(tmp_path / "out"), policy="x", device="tpu"))
    assert not (tmp_path / "out").exists()


def test_every_option_has_help_and_a_flag():
    result = CliRunner().invoke(cli, ["eval", "behaviour", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for option in config_options(BehaviourEvalConfig):
        assert option.help and "[default" not in option.help
        assert f"--{option.name.replace('_', '-')}" in result.output


# ---------------------------------------------------------------- runs on tiny models


def test_run_writes_every_metric_base_and_after(judged_run):
    out, metrics = judged_run
    assert {p.name for p in out.iterdir()} == {"metrics.json", REPORT_FILE, ANSWERS_FILE}
    assert json.loads((out / "metrics.json").read_text())["changes"] == metrics["changes"]
    assert set(metrics["changes"]) == set(METRICS)  # with a judge, every metric is reported
    for change in metrics["changes"].values():
        assert change["change"] == pytest.approx(change["after"] - change["before"])
        assert change["se"] >= 0
    assert metrics["n_questions"] == {"ambiguous": 8, "disambiguated": 5, "everyday": 5,
                                      "counterfactual pairs": 5}
    assert metrics["device"] == "cpu"
    report = (out / REPORT_FILE).read_text()
    for heading in ("Multiple choice, option likelihood", "Multiple choice, generation", "Evasion",
                    "Gendered language", "Counterfactual consistency"):
        assert f"## {heading}" in report
    assert "| metric | n | base | after | change ± se |" in report
    assert metrics["worse_beyond_noise"] == worse_beyond_noise(metrics["changes"])
    assert ("**Worse beyond noise**" in report) == bool(metrics["worse_beyond_noise"])


def test_worse_beyond_noise_names_changes_clear_of_zero_the_wrong_way():
    def ci(low, high):
        return {"ci95": [low, high]}

    changes = {"generation.disambig.accuracy": ci(-0.26, -0.08),  # higher is better: worse
               "generation.ambig.unmatched": ci(0.33, 0.55),  # lower is better: worse
               "likelihood.disambig.accuracy": ci(-0.08, 0.03),  # within noise
               "counterfactual.fairness_gap": ci(-0.19, -0.06),  # better
               "likelihood.ambig.names_first": ci(0.10, 0.20)}  # no better side
    assert worse_beyond_noise(changes) == ["generation.ambig.unmatched",
                                           "generation.disambig.accuracy"]
    assert worse_beyond_noise({}) == []


def test_the_adapter_is_applied_to_the_after_policy_only(judged_run):
    out, _ = judged_run
    base, after = read_answers(out)
    assert [(r["set"], r["id"], r["prompt"]) for r in base] == \
        [(r["set"], r["id"], r["prompt"]) for r in after]
    assert len(base) == 8 + 5 + 5 + 2 * 5
    assert any(b["answer"] != a["answer"] for b, a in zip(base, after))


def _first_mentioned(record: dict) -> str:
    """The subject option that the question's context names first."""
    context = record["prompt"].split("\nQuestion:")[0]
    return min(record["options"][:2], key=context.find)


def test_reported_numbers_follow_from_the_saved_answers(judged_run):
    out, metrics = judged_run
    changes = metrics["changes"]
    for side, rows in zip(("before", "after"), read_answers(out)):
        dis = [r for r in rows if r["set"] == "choice-disambig"]
        assert changes["likelihood.disambig.accuracy"][side] == pytest.approx(
            sum(r["likelihood_choice"] == r["label"] for r in dis) / len(dis))
        amb = [r for r in rows if r["set"] == "choice-ambig"]
        assert changes["generation.ambig.unmatched"][side] == pytest.approx(
            sum(r["matched"] is None for r in amb) / len(amb))
        for mode, field in (("likelihood", "likelihood_choice"), ("generation", "matched")):
            named = [r for r in amb if r[field] in (0, 1)]
            first = [r for r in named if r["options"][r[field]] == _first_mentioned(r)]
            assert changes[f"{mode}.ambig.names_person"][side] == pytest.approx(len(named) / len(amb))
            assert changes[f"{mode}.ambig.names_first"][side] == pytest.approx(len(first) / len(amb))
        everyday = [r for r in rows if r["set"] == "everyday"]
        assert changes["evasion.everyday.rules"][side] == pytest.approx(
            sum(is_evasive(r["answer"]) for r in everyday) / len(everyday))
        threshold = metrics["relevance_threshold"]
        assert changes["evasion.everyday.judge"][side] == pytest.approx(
            sum(r["relevance"] < threshold for r in everyday) / len(everyday))
        cf = [r for r in rows if r["set"] == "counterfactual"]
        gaps = [abs(a["fairness"] - b["fairness"]) for a, b in zip(cf[0::2], cf[1::2])]
        assert changes["counterfactual.fairness_gap"][side] == pytest.approx(sum(gaps) / len(gaps))


def test_saved_answers_are_judged_again_without_generating(judged_run, judge_dir, tmp_path):
    out, metrics = judged_run
    # no policy is loaded: the model named here does not exist
    again = run_behaviour(BehaviourEvalConfig(out=str(tmp_path / "again"), model="no-such-model",
                                              answers=str(out), judge=str(judge_dir), limit=5),
                          progress=False)
    assert again["changes"] == metrics["changes"]
    assert (again["after"], again["adapter"]) == (metrics["after"], metrics["adapter"])
    assert again["answers_from"] == str(out.resolve())
    assert read_answers(tmp_path / "again") == read_answers(out)


def test_saved_base_answers_are_reused_and_only_the_after_policy_answers(
        judged_run, tiny_causal_lm_dir, adapter_dir, judge_dir, tmp_path, caplog):
    out, metrics = judged_run
    options = dict(model=str(tiny_causal_lm_dir), adapter=str(adapter_dir), judge=str(judge_dir),
                   limit=5, max_new_tokens=4, device="cpu")
    with caplog.at_level(logging.INFO, logger="fairguard"):
        again = run_behaviour(BehaviourEvalConfig(out=str(tmp_path / "again"), base_answers=str(out),
                                                  **options), progress=False)
    assert "answering with the after policy" in caplog.text
    assert "answering with the base policy" not in caplog.text
    assert again["changes"] == metrics["changes"]
    assert read_answers(tmp_path / "again") == read_answers(out)
    assert again["base_answers_from"] == str(out.resolve()) and metrics["base_answers_from"] is None
    assert f"saved by `{out.resolve()}`" in (tmp_path / "again" / REPORT_FILE).read_text()


@pytest.mark.parametrize("change, message", [
    ({"max_new_tokens": 5}, "answered with generation .*same base model and settings"),
    ({"model": "other-model"}, "answered with base .*same base model and settings"),
    ({"limit": 4}, "answered other questions"),
])
def test_saved_base_answers_of_other_settings_are_refused(judged_run, tiny_causal_lm_dir, adapter_dir,
                                                         tmp_path, change, message):
    out, _ = judged_run
    options = {**dict(model=str(tiny_causal_lm_dir), adapter=str(adapter_dir), limit=5,
                      max_new_tokens=4, device="cpu"), **change}
    with pytest.raises(ArtifactError, match=message):
        run_behaviour(BehaviourEvalConfig(out=str(tmp_path / "again"), base_answers=str(out), **options),
                      progress=False)
    assert not (tmp_path / "again").exists()


def test_base_answers_from_a_folder_that_is_no_run_name_the_option(tiny_causal_lm_dir, adapter_dir,
                                                                  tmp_path):
    with pytest.raises(ArtifactError, match="point --base-answers at the --out folder"):
        run_behaviour(BehaviourEvalConfig(out=str(tmp_path / "again"), base_answers=str(tmp_path),
                                          model=str(tiny_causal_lm_dir), adapter=str(adapter_dir),
                                          limit=5, device="cpu"), progress=False)
    assert not (tmp_path / "again").exists()


def test_saved_answers_of_other_questions_are_refused(judged_run, tmp_path):
    out, _ = judged_run
    with pytest.raises(ArtifactError, match="answered other questions.*--seed and --limit"):
        run_behaviour(BehaviourEvalConfig(out=str(tmp_path / "again"), answers=str(out), limit=4),
                      progress=False)
    with pytest.raises(ArtifactError, match="--out folder of a `fairguard eval behaviour` run"):
        run_behaviour(BehaviourEvalConfig(out=str(tmp_path / "again"), answers=str(tmp_path), limit=5),
                      progress=False)
    assert not (tmp_path / "again").exists()


def test_the_judge_threshold_comes_from_the_calibration(tmp_path, tiny_causal_lm_dir, adapter_dir,
                                                         judge_dir):
    def run(thresholds, name):
        judge = with_calibration(judge_dir, tmp_path / f"judge-{name}", thresholds)
        return run_behaviour(BehaviourEvalConfig(
            out=str(tmp_path / name), model=str(tiny_causal_lm_dir), adapter=str(adapter_dir),
            judge=str(judge), limit=2, max_new_tokens=2), progress=False)

    strict = run({"fairness": 0.5, "relevance": 1.0, "fluency": 0.5}, "strict")
    assert strict["relevance_threshold"] == 1.0
    assert strict["relevance_threshold_from"] == "fairguard.json calibration.thresholds"
    assert strict["changes"]["evasion.everyday.judge"]["before"] == 1.0  # every score is below 1
    lenient = run({"fairness": 0.5, "relevance": 0.0, "fluency": 0.5}, "lenient")
    assert lenient["changes"]["evasion.everyday.judge"]["before"] == 0.0


def test_without_a_judge_the_rules_alone_are_reported(tmp_path, tiny_causal_lm_dir):
    from fairguard.testing import save_tiny, tiny_causal_lm

    other = save_tiny(*tiny_causal_lm(seed=1), tmp_path / "other-lm")
    metrics = run_behaviour(BehaviourEvalConfig(
        out=str(tmp_path / "out"), model=str(tiny_causal_lm_dir), policy=str(other), limit=2,
        max_new_tokens=2), progress=False)
    assert metrics["judge"] is None
    assert "evasion.everyday.rules" in metrics["changes"]
    assert not any(k.endswith((".judge", "rules_or_judge", "fairness_gap")) for k in metrics["changes"])
    assert "none (rules only)" in (tmp_path / "out" / REPORT_FILE).read_text()


def test_a_judge_without_relevance_is_refused(tmp_path, tiny_causal_lm_dir, adapter_dir):
    from onnx_export_data import write_metadata

    from fairguard.testing import save_tiny, tiny_deberta_classifier

    folder = tmp_path / "fairness-only"
    save_tiny(*tiny_deberta_classifier(num_labels=1, labels=["fairness"]), folder)
    write_metadata(folder, heads=["fairness"])
    with pytest.raises(ConfigError, match="no relevance head"):
        run_behaviour(BehaviourEvalConfig(out=str(tmp_path / "out"), model=str(tiny_causal_lm_dir),
                                          adapter=str(adapter_dir), judge=str(folder), limit=1),
                      progress=False)
    assert not (tmp_path / "out").exists()


def test_a_bad_adapter_leaves_no_output(tmp_path, tiny_causal_lm_dir):
    (tmp_path / "not-an-adapter").mkdir()
    with pytest.raises(ArtifactError, match="not a peft adapter folder"):
        run_behaviour(BehaviourEvalConfig(out=str(tmp_path / "out"), model=str(tiny_causal_lm_dir),
                                          adapter=str(tmp_path / "not-an-adapter"), limit=1,
                                          max_new_tokens=2), progress=False)
    assert not (tmp_path / "out").exists()


def test_cli_runs_end_to_end_and_refuses_to_overwrite(tmp_path, tiny_causal_lm_dir, adapter_dir,
                                                      judge_dir):
    out = tmp_path / "cli-out"
    args = ["eval", "behaviour", "--model", str(tiny_causal_lm_dir), "--adapter", str(adapter_dir),
            "--judge", str(judge_dir), "--limit", "2", "--max-new-tokens", "3", "--out", str(out),
            "--quiet"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "## Evasion" in result.output
    assert json.loads(result.output.strip().splitlines()[-1])["n_questions"]["everyday"] == 2
    again = CliRunner().invoke(cli, args)
    assert again.exit_code != 0 and "already exists" in again.output
    yaml_file = tmp_path / "behaviour.yaml"
    yaml_file.write_text(f"model: {tiny_causal_lm_dir}\nadapter: {adapter_dir}\nlimit: 1\n"
                         "max_new_tokens: 2\n")
    result = CliRunner().invoke(cli, ["eval", "behaviour", "--config", str(yaml_file), "--out",
                                      str(tmp_path / "yaml-out"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "yaml-out" / "metrics.json").read_text())["n_questions"] == {
        "ambiguous": 4, "disambiguated": 1, "everyday": 1, "counterfactual pairs": 1}


# ---------------------------------------------------------------- the guard as the 'after' side


@pytest.fixture(scope="module")
def flipped_layer_dir(tiny_causal_lm_dir, tmp_path_factory):
    """A REFINE-LM layer that puts the LM's lowest top-10 token first: every answer it
    regenerates starts differently from the plain greedy one."""
    import torch

    from fairguard.generation import load_policy
    from fairguard.refine.layer import RefineLayer, model_fingerprint, save_layer, tokenizer_digest

    model, tok = load_policy(str(tiny_causal_lm_dir))
    layer = RefineLayer(10, keep_order=False)
    with torch.no_grad():
        layer.linear.weight.copy_(torch.eye(10).flip(0) * 50)
    folder = tmp_path_factory.mktemp("behaviour-refine-layer")
    save_layer(layer, folder, {"base_model": str(tiny_causal_lm_dir),
                               "base_fingerprint": model_fingerprint(model, tok),
                               "tokenizer_digest": tokenizer_digest(tok), "categories": ["gender"]})
    return folder


# a threshold no score reaches: every answer goes through every filter
UNREACHABLE = "fairness=2"


@pytest.fixture(scope="module")
def guarded_run(tiny_causal_lm_dir, adapter_dir, flipped_layer_dir, judge_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("behaviour-guarded") / "out"
    config = BehaviourEvalConfig(
        out=str(out), model=str(tiny_causal_lm_dir), guard_filters="refine,lora",
        guard_refine_layer=str(flipped_layer_dir), guard_lora_adapter=str(adapter_dir),
        guard_thresholds=UNREACHABLE, judge=str(judge_dir), limit=3, max_new_tokens=4,
        device="cpu")
    return out, run_behaviour(config, progress=False)


def test_guarded_answers_are_the_base_answers_or_a_filters_rewrite(guarded_run, tiny_causal_lm_dir,
                                                                     adapter_dir, flipped_layer_dir):
    from fairguard.generation import DecodingConfig, generate_responses, load_policy
    from fairguard.registry import get_filter

    out, metrics = guarded_run
    base, after = read_answers(out)
    assert [(r["set"], r["id"], r["prompt"]) for r in base] == \
        [(r["set"], r["id"], r["prompt"]) for r in after]
    prompts, base_answers = [r["prompt"] for r in base], [r["answer"] for r in base]
    # what each filter makes of the base answers, computed here with the filters themselves
    model, tok = load_policy(str(tiny_causal_lm_dir))
    refine = get_filter("refine", path=str(flipped_layer_dir), model=str(tiny_causal_lm_dir))
    refined = generate_responses(model, tok, prompts, DecodingConfig(max_new_tokens=4),
                                 logits_processors=[refine.logits_processor(tok)], progress=False)
    lora = get_filter("lora", path=str(adapter_dir), base_model=str(tiny_causal_lm_dir),
                      max_new_tokens=4)
    rewritten = lora.rewrite(prompts, base_answers)
    assert all(a != b for a, b in zip(refined, base_answers))  # the flipped layer changes each
    actions = []
    for b, a, r, w in zip(base, after, refined, rewritten):
        guard = a["guard"]
        actions.append(guard["action"])
        assert guard["below"] == ["fairness"] and guard["decision"] == "flag"  # unreachable
        if guard["action"] == "rewritten":
            assert guard["original"] == b["answer"] and a["answer"] in (r, w)
        else:
            assert guard["action"] == "none" and a["answer"] == b["answer"]
    assert "rewritten" in actions and "none" in actions
    assert metrics["guard"]["actions"] == {"none": actions.count("none"),
                                           "rewritten": actions.count("rewritten")}
    assert metrics["guard"]["plugin_errors"] == {}
    assert metrics["guard"]["reward_model_is_judge"] is True
    assert metrics["after"] == f"{tiny_causal_lm_dir} + guard rewrite (refine, lora)"


def test_guarded_metrics_are_measured_on_the_guards_answers(guarded_run):
    out, metrics = guarded_run
    changes = metrics["changes"]
    assert not any(k.startswith("likelihood.") for k in changes)  # no guard equivalent
    assert set(metrics["base_only"]) == {k for k in METRICS if k.startswith("likelihood.")}
    assert set(changes) | set(metrics["base_only"]) == set(METRICS)
    base, after = read_answers(out)
    assert all(r["likelihood_choice"] is None for r in after if r["set"].startswith("choice"))
    for side, rows in (("before", base), ("after", after)):
        dis = [r for r in rows if r["set"] == "choice-disambig"]
        assert changes["generation.disambig.accuracy"][side] == pytest.approx(
            sum(r["matched"] == r["label"] for r in dis) / len(dis))
        opened = [r for r in rows if r["set"] in ("everyday", "counterfactual")]
        assert changes["genbit.open_answers"][side] == pytest.approx(
            sum(r["genbit"] for r in opened) / len(opened))
        cf = [r for r in rows if r["set"] == "counterfactual"]
        gaps = [abs(a["fairness"] - b["fairness"]) for a, b in zip(cf[0::2], cf[1::2])]
        assert changes["counterfactual.fairness_gap"][side] == pytest.approx(sum(gaps) / len(gaps))
    dis = [r for r in base if r["set"] == "choice-disambig"]
    assert metrics["base_only"]["likelihood.disambig.accuracy"]["before"] == pytest.approx(
        sum(r["likelihood_choice"] == r["label"] for r in dis) / len(dis))
    report = (out / REPORT_FILE).read_text()
    assert "## Guard" in report and "Option likelihood has no guard equivalent" in report
    assert "| disambiguated: accuracy | 3 |" in report and "| n/a | n/a | n/a |" in report


def test_cli_lora_filter_shows_what_a_guard_shows(tmp_path, tiny_causal_lm_dir, adapter_dir,
                                                  judge_dir):
    """The guarded answers equal those of a Guard built on its own from the same parts, here
    with a guard reward model that is not the judge."""
    from fairguard import Guard

    guard_rm = tiny_reward_dir(tmp_path / "guard-rm", seed=1)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, [
        "eval", "behaviour", "--model", str(tiny_causal_lm_dir), "--guard-filters", "lora",
        "--guard-lora-adapter", str(adapter_dir), "--guard-reward-model", str(guard_rm),
        "--guard-thresholds", UNREACHABLE, "--judge", str(judge_dir), "--limit", "2",
        "--max-new-tokens", "4", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "## Guard" in result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["guard"]["reward_model_is_judge"] is False
    base, after = read_answers(out)
    guard = Guard.from_names(
        "reward-model", "lora", reward_options={"reward-model": {"path": str(guard_rm)}},
        filter_options={"lora": {"path": str(adapter_dir), "base_model": str(tiny_causal_lm_dir),
                                 "max_new_tokens": 4}},
        strategy="rewrite", n=1, thresholds=UNREACHABLE, timeout_s=None)
    shown = guard.score_batch([r["prompt"] for r in base], [r["answer"] for r in base])
    assert [r["answer"] for r in after] == [s.text for s in shown]
    assert [r["guard"]["action"] for r in after] == [s.action for s in shown]


@pytest.mark.slow
def test_embedded_smollm2_with_an_adapter(tmp_path):
    """SmolLM2-135M-Instruct against itself with a small random LoRA adapter, a few questions."""
    adapter = make_adapter("smollm2-135m-instruct", tmp_path / "adapter", std=0.02)
    metrics = run_behaviour(BehaviourEvalConfig(
        out=str(tmp_path / "out"), adapter=str(adapter), limit=1, max_new_tokens=12),
        progress=False)
    base, after = read_answers(tmp_path / "out")
    assert len(base) == len(after) == 4 + 1 + 1 + 2 * 1
    assert all(r["answer"].strip() for r in base)  # an instruct model answers something
    changes = metrics["changes"]
    assert 0 <= changes["generation.disambig.unmatched"]["before"] <= 1
    assert "likelihood.ambig.s_amb" in changes and "genbit.open_answers" in changes


@pytest.mark.gpu
def test_policies_run_on_cuda(tmp_path, tiny_causal_lm_dir, adapter_dir, judge_dir):
    metrics = run_behaviour(BehaviourEvalConfig(
        out=str(tmp_path / "out"), model=str(tiny_causal_lm_dir), adapter=str(adapter_dir),
        judge=str(judge_dir), limit=2, max_new_tokens=2, device="cuda"), progress=False)
    assert metrics["device"] == "cuda" and "counterfactual.fairness_gap" in metrics["changes"]


@pytest.mark.gpu
def test_the_refine_filter_regenerates_on_cuda(tmp_path, tiny_causal_lm_dir, flipped_layer_dir,
                                               judge_dir):
    metrics = run_behaviour(BehaviourEvalConfig(
        out=str(tmp_path / "out"), model=str(tiny_causal_lm_dir), guard_filters="refine",
        guard_refine_layer=str(flipped_layer_dir), guard_thresholds=UNREACHABLE,
        judge=str(judge_dir), limit=2, max_new_tokens=2, device="cuda"), progress=False)
    assert metrics["device"] == "cuda" and metrics["guard"]["plugin_errors"] == {}
