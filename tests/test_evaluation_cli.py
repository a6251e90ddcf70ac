"""The ``fairguard eval`` group: its commands and the hook point for UnQover/REFINE commands."""

from __future__ import annotations

import json

import click
from click.testing import CliRunner

from fairguard.cli import cli
from fairguard.cli.eval import add_unqover_commands


def test_eval_commands_listed():
    result = CliRunner().invoke(cli, ["eval", "--help"])
    assert result.exit_code == 0
    assert "quality" in result.output and "bbq" in result.output


def test_add_unqover_commands_attaches_by_import_path():
    group = click.Group("g")
    add_unqover_commands(group, ("fairguard.cli.eval:bbq",))
    assert "bbq" in group.commands


def test_quality_help_shows_options():
    result = CliRunner().invoke(cli, ["eval", "quality", "--help"])
    assert result.exit_code == 0
    for option in ("--adapter", "--reward-model", "--reward", "--fluency-proxy", "--limit", "--split"):
        assert option in result.output


def test_judge_help_and_run(tmp_path):
    from onnx_export_data import tiny_reward_dir

    result = CliRunner().invoke(cli, ["eval", "judge", "--help"])
    assert result.exit_code == 0
    for option in ("--benchmark", "--model", "--threshold", "--group-by", "--text-column",
                   "--label-column", "--target-column", "--default-prompt", "--out"):
        assert option in result.output
    model = tiny_reward_dir(tmp_path / "rm")
    bench = tmp_path / "mine.jsonl"
    bench.write_text("".join(json.dumps(row) + "\n" for row in [
        {"sentence": "Plumbers cheat every customer.", "verdict": "toxic", "kind": "claim"},
        {"sentence": "The plumber came on time.", "verdict": "benign", "kind": "story"}]))
    out = tmp_path / "judge"
    args = ["eval", "judge", "--benchmark", str(bench), "--model", str(model), "--out", str(out),
            "--text-column", "sentence", "--label-column", "verdict", "--group-by", "kind",
            "--default-prompt", "Any thoughts?", "--quiet"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "## Per kind" in result.output and "| claim | 1 | 1 | 0 |" in result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["n"] == 2 and summary["threshold"] == 0.5
    assert [json.loads(line)["prompt"] for line in (out / "cases.jsonl").read_text().splitlines()] \
        == ["Any thoughts?"] * 2
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 1 and "--overwrite" in again.output


def test_judge_errors_are_one_line(tmp_path, monkeypatch):
    from onnx_export_data import tiny_reward_dir

    model = tiny_reward_dir(tmp_path / "rm")
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nTailors are honest.,fair\n,biased\n")
    out = tmp_path / "judge"
    result = CliRunner().invoke(cli, ["eval", "judge", "--benchmark", str(bad), "--model",
                                      str(model), "--out", str(out)])
    assert result.exit_code == 1 and "bad.csv:3: 'text' is empty" in result.output
    assert "Traceback" not in result.output
    monkeypatch.setenv("FAIRGUARD_HATECHECK", str(tmp_path / "nowhere"))
    result = CliRunner().invoke(cli, ["eval", "judge", "--benchmark", "hatecheck", "--model",
                                      str(model), "--out", str(out)])
    assert result.exit_code == 1 and "paul-rottger/hatecheck-data" in result.output
    assert not out.exists()
