"""fairguard.cli.reports: an evaluation command prints its report, then a JSON summary line."""

from __future__ import annotations

import json
from pathlib import Path

import click
from click.testing import CliRunner

from fairguard.cli.reports import echo_report


def test_report_then_one_json_line_of_the_chosen_keys(tmp_path: Path) -> None:
    report = tmp_path / "metrics.md"
    report.write_text("# Report\n\n| a | b |\n", encoding="utf-8")

    @click.command()
    def show() -> None:
        echo_report(report, {"n": 3, "accuracy": 0.5, "hidden": 1}, ("n", "accuracy"), out="x")

    result = CliRunner().invoke(show)
    assert result.exit_code == 0, result.output
    text, summary = result.output.rstrip("\n").rsplit("\n", 1)
    assert text == report.read_text(encoding="utf-8").rstrip("\n") + "\n"
    assert json.loads(summary) == {"out": "x", "n": 3, "accuracy": 0.5}
    assert list(json.loads(summary)) == ["out", "n", "accuracy"]
