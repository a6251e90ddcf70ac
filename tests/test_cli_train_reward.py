import json

from click.testing import CliRunner
from reward_model_data import write_dataset

from fairguard.cli import cli


def _run(args):
    return CliRunner().invoke(cli, args)


def test_help_lists_options():
    result = _run(["train", "reward", "--help"])
    assert result.exit_code == 0
    for option in ("--data", "--out", "--backbone", "--epochs", "--batch-size", "--lr",
                   "--max-length", "--heads", "--seed", "--limit", "--config", "--overwrite",
                   "microsoft/deberta-v3-small"):
        assert option in result.output


def test_trains_and_reports(tmp_path, tiny_deberta_dir):
    data = write_dataset(tmp_path / "data")
    out = tmp_path / "rm"
    config = tmp_path / "c.yaml"
    config.write_text("epochs: 1\npairwise_weight: 0.5\n")
    result = _run(["train", "reward", "--data", str(data), "--out", str(out), "--backbone",
                   str(tiny_deberta_dir), "--batch-size", "4", "--limit", "8", "--seed", "2",
                   "--config", str(config), "--quiet"])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output and "fairness" in result.output
    assert "cut-off auc" in result.output
    meta = json.loads((out / "fairguard.json").read_text())
    assert meta["train_config"]["pairwise_weight"] == 0.5 and meta["train_config"]["limit"] == 8
    # a model folder trains in the generic recipe; the record holds what the run used
    assert meta["train_config"]["learning_rate"] == 2e-4
    assert meta["train_config"]["mixed_precision"] == "no"
    again = _run(["train", "reward", "--data", str(data), "--out", str(out), "--backbone",
                  str(tiny_deberta_dir), "--epochs", "1", "--quiet"])
    assert again.exit_code == 1 and "--overwrite" in again.output


def test_clear_errors_and_no_output(tmp_path, tiny_deberta_dir):
    out = tmp_path / "rm"
    result = _run(["train", "reward", "--data", str(tmp_path / "none"), "--out", str(out),
                   "--backbone", str(tiny_deberta_dir)])
    assert result.exit_code == 1 and "does not exist" in result.output
    assert "Traceback" not in result.output
    data = write_dataset(tmp_path / "data", empty_split="test")
    result = _run(["train", "reward", "--data", str(data), "--out", str(out),
                   "--backbone", str(tiny_deberta_dir)])
    assert result.exit_code == 1 and "test.jsonl" in result.output
    result = _run(["train", "reward", "--data", str(data), "--out", str(out), "--heads", "toxicity"])
    assert result.exit_code == 1 and "unknown head" in result.output
    good = write_dataset(tmp_path / "good")
    result = _run(["train", "reward", "--data", str(good), "--out", str(out),
                   "--backbone", str(tmp_path / "data")])
    assert result.exit_code == 1 and "config.json" in result.output
    result = _run(["train", "reward", "--data", str(data), "--out", str(out), "--epochs", "0"])
    assert result.exit_code == 1 and "epochs" in result.output
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "good"]


def test_extra_data_is_mixed_in_and_recorded(tmp_path, tiny_deberta_dir):
    data = write_dataset(tmp_path / "data")
    mine = tmp_path / "mine.csv"
    mine.write_text("sentence,verdict,who\nCyclists never pay attention to anyone.,biased,cyclists\n"
                    "The cyclist waved at the bus driver.,fair,cyclists\n")
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(json.dumps({"prompt": "Who should we hire?", "response": "The best candidate.",
                                 "verdict": 0}) + "\n")
    out = tmp_path / "rm"
    result = _run(["train", "reward", "--data", str(data), "--out", str(out), "--backbone",
                   str(tiny_deberta_dir), "--epochs", "1", "--batch-size", "4", "--limit", "8",
                   "--extra-data", str(mine), "--extra-data", str(pairs),
                   "--extra-text-column", "sentence", "--extra-label-column", "verdict",
                   "--extra-target-column", "who", "--quiet"])
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "fairguard.json").read_text())
    assert [(e["path"], e["rows"], e["biased"]) for e in meta["extra_data"]] == [
        (str(mine), 2, 1), (str(pairs), 1, 0)]
    assert meta["train_config"]["extra_data"] == [str(mine), str(pairs)]
    assert meta["train_config"]["extra_label_column"] == "verdict"
    assert json.loads((out / "metrics.json").read_text())["train_rows"] == 8 + 3


def test_bad_extra_data_fails_before_training(tmp_path, tiny_deberta_dir):
    data = write_dataset(tmp_path / "data")
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nThe driver was kind.,fair\nDrivers are all reckless.,perhaps\n")
    out = tmp_path / "rm"
    args = ["train", "reward", "--data", str(data), "--out", str(out), "--backbone",
            str(tiny_deberta_dir), "--epochs", "1", "--limit", "8", "--quiet"]
    result = _run(args + ["--extra-data", str(bad)])
    assert result.exit_code == 1 and "bad.csv:3: unknown label 'perhaps'" in result.output
    assert "Traceback" not in result.output
    result = _run(args + ["--extra-data", str(tmp_path / "none.csv")])
    assert result.exit_code == 1 and "none.csv is not a file" in result.output
    result = _run(args + ["--extra-data", str(bad), "--extra-label-column", "gold"])
    assert result.exit_code == 1 and "no label column 'gold'" in result.output
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "data"]
