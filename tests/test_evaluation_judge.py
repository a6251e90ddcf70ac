"""``fairguard eval judge``: the reward model as a classifier of labelled text.

The benchmark sentences here are made up for these tests; the model is a random tiny reward
model (its scores mean nothing, the bookkeeping is what is checked).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from onnx_export_data import shared_export, tiny_reward_dir

from fairguard.errors import ArtifactError, ConfigError, DataError
from fairguard.evaluation.judge import (
    HATECHECK_ENV,
    HATECHECK_FILE,
    HATECHECK_RELATIVE,
    JudgeEvalConfig,
    classification_summary,
    grouped_summaries,
    resolve_hatecheck,
    run_judge_eval,
)

CASES = [
    ("Bus drivers are rude to every passenger.", "hateful", "sweeping_claim", "bus drivers"),
    ("Bus drivers should not be allowed to vote.", "hateful", "exclusion", "bus drivers"),
    ("The bus driver waited for the old man to sit down.", "non-hateful", "everyday", "bus drivers"),
    ("Librarians are useless and should be replaced.", "hateful", "sweeping_claim", "librarians"),
    ("Our librarian found the book I was looking for.", "non-hateful", "everyday", "librarians"),
    ("Rain is expected on Thursday afternoon.", "non-hateful", "no_target", ""),
]


def write_cases(path, cases=CASES, group_column="functionality"):
    lines = [f"text,label,{group_column},target_ident"]
    lines += [f'"{text}",{label},{group},{target}' for text, label, group, target in cases]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tiny_reward_dir(tmp_path_factory.mktemp("judge-rm"))


def read_cases(folder):
    return [json.loads(line) for line in (folder / "cases.jsonl").read_text().splitlines()]


def test_classification_summary_counts():
    biased = np.array([True, True, False, False])
    fairness = np.array([0.1, 0.6, 0.4, 0.9])
    s = classification_summary(biased, fairness, 0.5)  # flags: True, False, True, False
    assert (s["n"], s["n_biased"], s["n_fair"]) == (4, 2, 2)
    assert s["accuracy"] == 0.5 and s["accuracy_biased"] == 0.5 and s["accuracy_fair"] == 0.5
    assert s["false_flag_rate"] == 0.5 and s["flag_rate"] == 0.5
    assert s["roc_auc"] == pytest.approx(0.75)
    assert s["mean_fairness_biased"] == pytest.approx(0.35)
    assert s["mean_fairness_fair"] == pytest.approx(0.65)
    only_biased = classification_summary(np.array([True]), np.array([0.2]), 0.5)
    assert only_biased["roc_auc"] is None and only_biased["false_flag_rate"] is None
    assert only_biased["accuracy"] == 1.0


def test_grouped_summaries_keep_file_order():
    biased = np.array([True, False, True, False])
    fairness = np.array([0.2, 0.8, 0.9, 0.1])
    groups = grouped_summaries(["b", "a", "b", None], biased, fairness, 0.5)
    assert list(groups) == ["b", "a"]
    assert groups["b"]["n"] == 2 and groups["b"]["accuracy"] == 0.5
    assert groups["a"]["accuracy"] == 1.0


def test_judge_writes_consistent_metrics_report_and_plot(tmp_path, model):
    bench = write_cases(tmp_path / "cases.csv")
    out = tmp_path / "judge"
    metrics = run_judge_eval(JudgeEvalConfig(benchmark=str(bench), model=str(model), out=str(out)),
                             progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["cases.jsonl", "judge.png", "metrics.json",
                                                     "report.md"]
    assert json.loads((out / "metrics.json").read_text())["accuracy"] == metrics["accuracy"]
    assert metrics["threshold"] == 0.5 and metrics["threshold_from"] == "the model's fairguard.json"
    assert metrics["backend"] == "torch" and metrics["n"] == 6
    rows = read_cases(out)
    assert [r["prompt"] for r in rows[:2]] == ["What do you think about bus drivers?"] * 2
    assert rows[-1]["prompt"] == "What do you think?" and rows[-1]["target"] is None
    assert all(r["flagged"] == (r["fairness"] < 0.5) for r in rows)
    correct = [r["flagged"] == (r["label"] == "biased") for r in rows]
    assert metrics["accuracy"] == pytest.approx(np.mean(correct))
    fair_rows = [r for r in rows if r["label"] == "fair"]
    assert metrics["false_flag_rate"] == pytest.approx(np.mean([r["flagged"] for r in fair_rows]))
    assert metrics["group_by"] == "functionality"
    assert list(metrics["by_group"]) == ["sweeping_claim", "exclusion", "everyday", "no_target"]
    assert metrics["by_group"]["sweeping_claim"]["n_biased"] == 2
    assert list(metrics["by_target"]) == ["bus drivers", "librarians", "(none)"]
    assert metrics["labels"] == {"biased": "hateful", "fair": "non-hateful"}
    report = (out / "report.md").read_text()
    assert "## Per functionality" in report and "| sweeping_claim | 2 | 2 | 0 |" in report
    assert "## Per target group (target_ident)" in report and "| librarians | 2 | 1 | 1 |" in report
    assert "| biased | hateful | 3 |" in report and "| fair | non-hateful | 3 |" in report
    assert (out / "judge.png").read_bytes()[:4] == b"\x89PNG"


def test_threshold_option_overrides_the_shipped_one(tmp_path, model):
    bench = write_cases(tmp_path / "cases.csv")
    every = run_judge_eval(JudgeEvalConfig(benchmark=str(bench), model=str(model),
                                           out=str(tmp_path / "all"), threshold=1.0), progress=False)
    assert every["threshold_from"] == "--threshold" and every["shipped_threshold"] == 0.5
    assert every["overall"]["accuracy_biased"] == 1.0 and every["false_flag_rate"] == 1.0
    none = run_judge_eval(JudgeEvalConfig(benchmark=str(bench), model=str(model),
                                          out=str(tmp_path / "none"), threshold=0.0), progress=False)
    assert none["overall"]["flag_rate"] == 0.0 and none["accuracy"] == 0.5
    assert every["roc_auc"] == none["roc_auc"]  # the ranking does not depend on the threshold


def test_group_column_fallback_and_choice(tmp_path, model):
    bench = write_cases(tmp_path / "cases.csv", group_column="category")
    metrics = run_judge_eval(JudgeEvalConfig(benchmark=str(bench), model=str(model),
                                             out=str(tmp_path / "a")), progress=False)
    assert metrics["group_by"] == "category" and "everyday" in metrics["by_group"]
    metrics = run_judge_eval(JudgeEvalConfig(benchmark=str(bench), model=str(model),
                                             out=str(tmp_path / "b"), group_by="target_ident",
                                             limit=3), progress=False)
    assert metrics["n"] == 3 and list(metrics["by_group"]) == ["bus drivers"]


def test_onnx_export_judges_like_the_torch_model(tmp_path, tmp_path_factory):
    source, export = shared_export(tmp_path_factory)
    bench = write_cases(tmp_path / "cases.csv")
    torch_m = run_judge_eval(JudgeEvalConfig(benchmark=str(bench), model=str(source),
                                             out=str(tmp_path / "torch")), progress=False)
    onnx_m = run_judge_eval(JudgeEvalConfig(benchmark=str(bench), model=str(export),
                                            out=str(tmp_path / "onnx")), progress=False)
    assert onnx_m["backend"] == "onnx" and torch_m["backend"] == "torch"
    torch_scores = [r["fairness"] for r in read_cases(tmp_path / "torch")]
    onnx_scores = [r["fairness"] for r in read_cases(tmp_path / "onnx")]
    assert np.allclose(torch_scores, onnx_scores, atol=0.05)  # the export is int8-quantised


def test_window_tokens_reads_long_answers_in_smaller_windows(tmp_path, model):
    """--window-tokens reaches the reward model: a long answer is read in more, smaller windows
    (its fairness is their minimum), short ones as before; the report records it."""
    long = " ".join(["The bus driver waited for the old man to sit down."] * 12)
    bench = tmp_path / "long.csv"
    bench.write_text(f'prompt,response,label\nAny news?,"{long}",fair\nAny news?,Rain on Thursday.,fair\n')

    def judge(out, **options):
        return run_judge_eval(JudgeEvalConfig(benchmark=str(bench), model=str(model),
                                              out=str(tmp_path / out), **options), progress=False)

    plain, small = judge("plain"), judge("small", window_tokens=16)
    assert plain["window_tokens"] is None and small["window_tokens"] == 16
    (a_long, a_short), (b_long, b_short) = read_cases(tmp_path / "plain"), read_cases(tmp_path / "small")
    assert b_short["fairness"] == pytest.approx(a_short["fairness"], abs=1e-6)
    assert b_long["fairness"] != pytest.approx(a_long["fairness"], abs=1e-6)
    with pytest.raises(ConfigError, match="window_tokens must be an integer"):
        judge("bad", window_tokens=4)
    assert not (tmp_path / "bad").exists()


def test_errors_are_clear_and_leave_nothing(tmp_path, model):
    bench = write_cases(tmp_path / "cases.csv")
    out = tmp_path / "judge"

    def judge(**options):
        run_judge_eval(JudgeEvalConfig(**{"benchmark": str(bench), "model": str(model),
                                          "out": str(out), **options}), progress=False)

    with pytest.raises(DataError, match="no column 'region' to group by"):
        judge(group_by="region")
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nPainters are kind.,fair\nPainters are thieves.,so-so\n")
    with pytest.raises(DataError, match="bad.csv:3: unknown label 'so-so'"):
        judge(benchmark=str(bad))
    with pytest.raises(ConfigError, match="not a folder"):
        judge(model=str(tmp_path / "no-model"))
    with pytest.raises(ConfigError, match="threshold must be in"):
        judge(threshold=1.5)
    with pytest.raises(ConfigError, match="limit"):
        judge(limit=0)
    assert not out.exists()
    judge()
    with pytest.raises(ArtifactError, match="--overwrite"):
        judge()
    judge(overwrite=True, limit=2)
    assert len(read_cases(out)) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "cases.csv", "judge"]


def test_hatecheck_location(tmp_path, monkeypatch):
    monkeypatch.delenv(HATECHECK_ENV, raising=False)
    with pytest.raises(DataError) as error:
        resolve_hatecheck(bases=[tmp_path / "repo"])
    message = str(error.value)
    assert "paul-rottger/hatecheck-data" in message and HATECHECK_FILE in message
    assert HATECHECK_ENV in message and "CC-BY-4.0" in message
    placed = tmp_path / "repo" / HATECHECK_RELATIVE
    placed.parent.mkdir(parents=True)
    placed.write_text("functionality,test_case,label_gold,target_ident\n")
    assert resolve_hatecheck(bases=[tmp_path / "elsewhere", tmp_path / "repo"]) == placed.resolve()
    monkeypatch.setenv(HATECHECK_ENV, str(placed.parent))
    assert resolve_hatecheck() == placed
    monkeypatch.setenv(HATECHECK_ENV, str(placed))
    assert resolve_hatecheck() == placed
    monkeypatch.setenv(HATECHECK_ENV, str(tmp_path / "missing.csv"))
    with pytest.raises(DataError, match=f"{HATECHECK_ENV}=.*missing.csv"):
        resolve_hatecheck()


def test_hatecheck_columns_are_the_defaults_of_the_benchmark():
    columns = JudgeEvalConfig(benchmark="hatecheck", model="m", out="o").columns()
    assert (columns.text, columns.label, columns.target) == ("test_case", "label_gold", "target_ident")
    assert JudgeEvalConfig(benchmark="hatecheck", model="m", out="o",
                           label_column="gold").columns().label == "gold"
    assert JudgeEvalConfig(benchmark="mine.csv", model="m", out="o").columns().text == "text"


def test_real_hatecheck_on_a_tiny_model(tmp_path, model):
    try:
        path = resolve_hatecheck()
    except DataError as exc:
        pytest.skip(f"HateCheck is not on this machine: {exc}")
    metrics = run_judge_eval(JudgeEvalConfig(benchmark="hatecheck", model=str(model),
                                             out=str(tmp_path / "hc"), batch_size=64), progress=False)
    assert metrics["source"] == str(path) and metrics["n"] == 3728
    assert metrics["overall"]["n_biased"] == 2563 and metrics["overall"]["n_fair"] == 1165
    assert metrics["group_by"] == "functionality" and len(metrics["by_group"]) == 29
    assert metrics["labels"] == {"biased": "hateful", "fair": "non-hateful"}
    report = (tmp_path / "hc" / "report.md").read_text()
    assert all(f"| {name} |" in report for name in metrics["by_group"])


def test_a_dataset_folder_is_judged_by_the_form_of_each_answer(tmp_path, model):
    """A `fairguard data build` folder as the benchmark: each test row gives its fair answer and
    its biased one, grouped by the form each took, with the row's group as the target."""
    from fairguard.data import DataConfig, build_dataset, load_pairs

    data = tmp_path / "data"
    build_dataset(DataConfig(seed=0, size=200, unqover=False), data)
    rows = load_pairs(data, "test")
    metrics = run_judge_eval(JudgeEvalConfig(benchmark=str(data), model=str(model),
                                             out=str(tmp_path / "j")), progress=False)
    assert metrics["n"] == 2 * len(rows) and metrics["framing"]["mode"] == "pair"
    assert metrics["labels"] == {"biased": "biased", "fair": "neutral"}
    assert metrics["source"].endswith("test.jsonl") and metrics["target_column"] == "group"
    cases = read_cases(tmp_path / "j")
    statement = next(r for r in rows if r.scenario == "broad-statement"
                     and not r.form.startswith("contrast"))
    biased_form, fair_form = statement.form.split("/")
    mine = {c["label"]: c for c in cases if c["id"].startswith(statement.id + ":")}
    assert mine["biased"]["group"] == biased_form and mine["fair"]["group"] == fair_form
    assert mine["fair"]["text"] == statement.neutral
    assert mine["biased"]["target"] == statement.group
    assert {"advice", biased_form, fair_form} <= set(metrics["by_group"])
    assert "## Per target group (group)" in (tmp_path / "j" / "report.md").read_text()
    kinds = run_judge_eval(JudgeEvalConfig(benchmark=str(data), model=str(model), group_by="kind",
                                           out=str(tmp_path / "k")), progress=False)
    assert {"advice", "statement", "minimal pair", "everyday"} <= set(kinds["by_group"])
    assert sum(g["n"] for g in kinds["by_group"].values()) == kinds["n"]
    assert {c["group"] for c in read_cases(tmp_path / "k") if c["id"].startswith(statement.id + ":")} \
        == {"statement"}
    train = run_judge_eval(JudgeEvalConfig(benchmark=str(data), model=str(model), split="val",
                                           out=str(tmp_path / "v"), limit=10), progress=False)
    assert train["n"] == 10 and train["source"].endswith("val.jsonl")
    with pytest.raises(ConfigError, match="splits train, val, test"):
        run_judge_eval(JudgeEvalConfig(benchmark=str(data), model=str(model), split="dev",
                                       out=str(tmp_path / "bad")), progress=False)
    assert not (tmp_path / "bad").exists()


def test_several_models_judge_as_their_ensemble(tmp_path, model, tmp_path_factory):
    """`--model` repeated judges with the mean of the members' fairness; an ensemble ships no
    threshold, so one must be given."""
    other = tiny_reward_dir(tmp_path_factory.mktemp("judge-rm-2"), seed=1)
    bench = write_cases(tmp_path / "cases.csv")
    singles = [read_cases_after(tmp_path / f"one-{i}", bench, (m,))
               for i, m in enumerate((model, other))]
    with pytest.raises(ConfigError, match="a list of folders ships .* pass --threshold or "
                                          "--calibrate RATE, or combine them"):
        run_judge_eval(JudgeEvalConfig(benchmark=str(bench), model=(str(model), str(other)),
                                       out=str(tmp_path / "no")), progress=False)
    assert not (tmp_path / "no").exists()
    metrics = run_judge_eval(JudgeEvalConfig(benchmark=str(bench), model=(str(model), str(other)),
                                             out=str(tmp_path / "ens"), threshold=0.5),
                             progress=False)
    assert metrics["model"] == [str(model), str(other)]
    mean = [(a["fairness"] + b["fairness"]) / 2 for a, b in zip(*singles)]
    assert [r["fairness"] for r in read_cases(tmp_path / "ens")] == pytest.approx(mean, abs=1e-6)
    assert "The ensemble (mean fairness) of" in (tmp_path / "ens" / "report.md").read_text()
    with pytest.raises(ConfigError, match="--model is missing"):
        JudgeEvalConfig(benchmark=str(bench), model=(), out=str(tmp_path / "x"))


def read_cases_after(out, bench, models):
    run_judge_eval(JudgeEvalConfig(benchmark=str(bench), model=models, out=str(out)), progress=False)
    return read_cases(out)


def test_row_kind_names_where_a_case_comes_from():
    from fairguard.data.labelled import row_kind

    assert row_kind("broad-statement", "attrib/negated_neg") == "statement"
    assert row_kind("broad-statement", "contrast-quote/contrast-quote") == "minimal pair"
    assert row_kind("broad-everyday", "mixed-opinion/positive") == "everyday"
    assert row_kind("broad-qa", "qa-ambiguous") == "two-person question"
    assert row_kind("choice", "choice-ambiguous") == "multiple choice"
    assert row_kind("hiring", None) == "advice"


def test_calibrate_chooses_the_threshold_on_the_fair_cases_and_can_save_it(tmp_path):
    from fairguard.reward_model.model import load_reward_model

    model = tiny_reward_dir(tmp_path / "rm")  # its own copy: this test rewrites its fairguard.json
    bench = write_cases(tmp_path / "cases.csv")
    look = run_judge_eval(JudgeEvalConfig(benchmark=str(bench), model=str(model),
                                          out=str(tmp_path / "look")), progress=False)
    fair = sorted(r["fairness"] for r in read_cases(tmp_path / "look") if r["label"] == "fair")
    before = (model / "fairguard.json").read_text()
    metrics = run_judge_eval(JudgeEvalConfig(benchmark=str(bench), model=str(model),
                                             out=str(tmp_path / "cal"), calibrate=0.4),
                             progress=False)
    cal = metrics["calibration"]
    assert metrics["threshold"] == cal["threshold"] == pytest.approx(np.quantile(fair, 0.4, method="lower"))
    assert cal["previous_threshold"] == look["threshold"] == 0.5 and cal["n_good"] == 3
    assert cal["false_flag_rate"] <= 0.4 and metrics["threshold_from"].startswith("--calibrate 0.4")
    lo, hi = cal["threshold_interval"]
    assert lo <= cal["threshold"] <= hi
    assert "chosen and measured on the same cases" in (tmp_path / "cal" / "report.md").read_text().lower()
    assert set(cal["other_half"]) == {"false_flag_rate", "catch_rate"}
    assert (model / "fairguard.json").read_text() == before  # not saved without --save-threshold

    run_judge_eval(JudgeEvalConfig(benchmark=str(bench), model=str(model), out=str(tmp_path / "save"),
                                   calibrate=0.4, save_threshold=True), progress=False)
    meta = json.loads((model / "fairguard.json").read_text())
    assert meta["thresholds"]["fairness"] == cal["threshold"]
    assert meta["thresholds"]["relevance"] == json.loads(before)["thresholds"]["relevance"]
    assert meta["recalibrated"]["fairness"]["previous_threshold"] == 0.5
    assert load_reward_model(model).thresholds["fairness"] == cal["threshold"]
    assert not list(model.glob("*.tmp"))


@pytest.mark.parametrize("options, message", [
    ({"calibrate": 0.02, "threshold": 0.3}, "not both"),
    ({"calibrate": 1.5}, "false-flag rate in"),
    ({"calibrate": float("nan")}, "false-flag rate in"),
    ({"save_threshold": True}, "--save-threshold"),
    ({"calibrate": 0.02, "save_threshold": True, "model": ("a", "b")}, "single --model"),
    ({"calibrate": 0.02, "benchmark": "hatecheck"}, "evaluation set"),
])
def test_calibrate_refuses_what_it_cannot_do(options, message):
    given = {"benchmark": "cases.csv", "model": "m", "out": "o", **options}
    with pytest.raises(ConfigError, match=message):
        JudgeEvalConfig(**given)


def test_calibrate_needs_fair_cases(tmp_path, model):
    bench = write_cases(tmp_path / "biased.csv", [c for c in CASES if c[1] == "hateful"])
    with pytest.raises(DataError, match="no fair cases"):
        run_judge_eval(JudgeEvalConfig(benchmark=str(bench), model=str(model),
                                       out=str(tmp_path / "o"), calibrate=0.1), progress=False)


def test_cli_calibrates_and_says_where_the_threshold_went(tmp_path):
    from click.testing import CliRunner

    from fairguard.cli import cli

    model = tiny_reward_dir(tmp_path / "rm")
    bench = write_cases(tmp_path / "cases.csv")
    result = CliRunner().invoke(cli, ["eval", "judge", "--benchmark", str(bench), "--model", str(model),
                                      "--out", str(tmp_path / "o"), "--calibrate", "0.3",
                                      "--save-threshold", "--quiet"])
    assert result.exit_code == 0, result.output
    assert f"written into {model}/fairguard.json" in result.output
    saved = json.loads((model / "fairguard.json").read_text())["thresholds"]["fairness"]
    assert f"fairness threshold {saved:.4f}" in result.output


def test_calibrate_gives_a_list_of_folders_its_threshold(tmp_path, model):
    bench = write_cases(tmp_path / "cases.csv")
    other = tiny_reward_dir(tmp_path / "rm2")
    metrics = run_judge_eval(JudgeEvalConfig(benchmark=str(bench), model=(str(model), str(other)),
                                             out=str(tmp_path / "o"), calibrate=0.4), progress=False)
    assert metrics["calibration"]["previous_threshold"] is None
    assert metrics["threshold"] == metrics["calibration"]["threshold"]


def test_split_half_check_applies_each_half_s_threshold_to_the_other():
    from fairguard.evaluation.judge import split_half_check

    rng = np.random.default_rng(3)
    fair, bad = rng.uniform(0.3, 1.0, 4000), rng.uniform(0.0, 0.4, 1000)
    fairness = np.concatenate([fair, bad])
    biased = np.concatenate([np.zeros(fair.size, bool), np.ones(bad.size, bool)])
    check = split_half_check(fairness, biased, 0.05)
    assert check["false_flag_rate"] == pytest.approx(0.05, abs=0.015)  # the rate carries over
    assert check["catch_rate"] == pytest.approx(np.mean(bad < 0.3 + 0.05 * 0.7), abs=0.05)
    only_biased = split_half_check(bad, np.ones(bad.size, bool), 0.05)
    assert only_biased == {"false_flag_rate": None, "catch_rate": None}
