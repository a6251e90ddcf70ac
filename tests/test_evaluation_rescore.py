"""``fairguard eval rescore``: saved responses judged anew with the real gender-bias reward."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from cross_judge_models import adapter_metadata, train_judge

from fairguard.cli import cli
from fairguard.errors import ArtifactError, ConfigError
from fairguard.evaluation import rescore_evaluation
from fairguard.evaluation.compare import compare_evaluations
from fairguard.scoring import build_rewards

RESPONSES = ["He said she should get the job because he trusts her.",
             "Judge every applicant by the same criteria.",
             "His brother and his father agree with him."]


def write_eval(folder, responses=RESPONSES, metrics=True, adapter="ad"):
    folder.mkdir(parents=True)
    rows = [{"id": f"test-{i:05d}", "category": "gender" if i % 2 else "region",
             "prompt": f"prompt {i}", "response": text, "fairness": 0.5, "total": 0.5}
            for i, text in enumerate(responses)]
    (folder / "responses.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if metrics:
        (folder / "metrics.json").write_text(json.dumps({"model": "tiny", "adapter": adapter, "split": "test"}))
    return folder


def read_rows(folder):
    return [json.loads(line) for line in (folder / "responses.jsonl").read_text().splitlines()]


def test_rescore_keeps_the_responses_and_replaces_the_scores(tmp_path):
    source = write_eval(tmp_path / "eval")
    metrics = rescore_evaluation(source, tmp_path / "new", reward="gender-bias")
    rows = read_rows(tmp_path / "new")
    assert [r["response"] for r in rows] == RESPONSES
    assert [r["id"] for r in rows] == [f"test-{i:05d}" for i in range(3)]
    assert "fairness" not in rows[0]  # the old judge's heads are gone
    want = build_rewards("gender-bias").score([r["prompt"] for r in rows], RESPONSES)
    assert [r["gender-bias"] for r in rows] == pytest.approx(list(want["gender-bias"]))
    assert metrics["n"] == 3 and metrics["rescored_from"] == str(source.resolve())
    assert (metrics["model"], metrics["adapter"]) == ("tiny", "ad")
    assert set(metrics["by_category"]) == {"gender", "region"}
    assert json.loads((tmp_path / "new" / "metrics.json").read_text())["means"] == metrics["means"]
    assert "re-scored" in (tmp_path / "new" / "metrics.md").read_text()


def test_rescored_folders_pair_in_compare(tmp_path):
    base = write_eval(tmp_path / "base", metrics=False)
    after = write_eval(tmp_path / "after", [t.replace("He", "They").replace("his", "their")
                                            for t in RESPONSES])
    for name in ("base", "after"):
        rescore_evaluation(tmp_path / name, tmp_path / f"{name}-gb", reward="gender-bias")
    comparison = compare_evaluations(tmp_path / "base-gb", tmp_path / "after-gb")
    assert comparison.n == 3 and set(comparison.heads) == {"gender-bias", "total"}
    assert base.exists() and after.exists()


def test_cli_prints_the_table(tmp_path):
    source = write_eval(tmp_path / "eval")
    result = CliRunner().invoke(cli, ["eval", "rescore", str(source), "--reward", "gender-bias",
                                      "--out", str(tmp_path / "new")])
    assert result.exit_code == 0, result.output
    assert "gender-bias" in result.output and '"n": 3' in result.output


def test_errors_are_clear_and_leave_no_folder(tmp_path):
    source = write_eval(tmp_path / "eval")
    with pytest.raises(ConfigError, match="give --judge, --reward-model and/or --reward"):
        rescore_evaluation(source, tmp_path / "new")
    with pytest.raises(ConfigError, match="is the folder being re-scored"):
        rescore_evaluation(source, source, reward="gender-bias")
    (tmp_path / "taken").mkdir()
    with pytest.raises(ArtifactError, match="already exists"):
        rescore_evaluation(source, tmp_path / "taken", reward="gender-bias")
    with pytest.raises(ArtifactError, match="responses.jsonl not found"):
        rescore_evaluation(tmp_path / "taken", tmp_path / "new", reward="gender-bias")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "responses.jsonl").write_text(json.dumps({"id": "a", "prompt": "p"}) + "\n")
    with pytest.raises(ArtifactError, match="row 'a' has no prompt or response"):
        rescore_evaluation(broken, tmp_path / "new", reward="gender-bias")
    assert not (tmp_path / "new").exists()
    result = CliRunner().invoke(cli, ["eval", "rescore", str(source), "--out", str(tmp_path / "new")])
    assert result.exit_code != 0 and "Traceback" not in result.output


@pytest.fixture(scope="module")
def two_judges(tmp_path_factory, tiny_deberta_dir):
    """Two tiny judges trained on different data: the adapter's training judge and another."""
    root = tmp_path_factory.mktemp("judges")
    return (train_judge(root, tiny_deberta_dir, "judge-train"),
            train_judge(root, tiny_deberta_dir, "judge-other", data_seed=1))


def test_only_the_training_judge_is_said_loudly(tmp_path, two_judges):
    trained, _ = two_judges
    adapter = adapter_metadata(tmp_path / "adapter", str(trained))
    source = write_eval(tmp_path / "eval", adapter=str(adapter))
    result = CliRunner().invoke(cli, ["eval", "rescore", str(source), "--judge", str(trained),
                                      "--out", str(tmp_path / "new")])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "new" / "metrics.json").read_text())
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["judges"]["judge-train"] == metrics["judges"]["judge-train"]["means"]
    assert metrics["every_judge_is_training_judge"] is True and metrics["rewards"] is None
    assert metrics["judges"]["judge-train"]["relation"] == "training" and metrics["means"] == {}
    assert metrics["adapter"] == str(adapter)
    report = (tmp_path / "new" / "metrics.md").read_text()
    assert "**Every judge is the reward model the adapter was trained against" in report
    assert "## Weighted reward" not in report
    rows = read_rows(tmp_path / "new")
    assert set(rows[0]["judges"]["judge-train"]) == {"fairness", "relevance", "fluency"}


def test_compare_reports_each_judge_independent_first(tmp_path, two_judges):
    trained, other = two_judges
    adapter = adapter_metadata(tmp_path / "adapter", str(trained))
    write_eval(tmp_path / "base", adapter=None)
    write_eval(tmp_path / "after", [t.replace("He", "They").replace("his", "their") for t in RESPONSES],
               adapter=str(adapter))
    for name in ("base", "after"):
        rescore_evaluation(tmp_path / name, tmp_path / f"{name}-judged", reward="gender-bias",
                           judges=[str(trained), str(other)])
    comparison = compare_evaluations(tmp_path / "base-judged", tmp_path / "after-judged")
    assert list(comparison.judges) == ["judge-other", "judge-train"]
    assert comparison.judges["judge-train"].relation == "training"  # the adapter's relation wins
    assert comparison.judges["judge-other"].relation == "independent"
    before = read_rows(tmp_path / "base-judged")
    after = read_rows(tmp_path / "after-judged")
    for name in ("judge-other", "judge-train"):
        change = comparison.judges[name].heads["fairness"]
        want = sum(a["judges"][name]["fairness"] - b["judges"][name]["fairness"]
                   for a, b in zip(after, before)) / 3
        assert change.n == 3 and change.change == pytest.approx(want)
    assert set(comparison.heads) == {"gender-bias", "total"}
    text = comparison.markdown()
    assert text.index("| judge-other | independent | fairness |") < text.index(
        "| judge-train | training judge | fairness |") < text.index("## Weighted reward")
    saved = comparison.to_dict()
    assert list(saved["judges"]) == ["judge-other", "judge-train"]
    assert saved["every_judge_is_training_judge"] is False
