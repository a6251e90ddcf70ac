"""fairguard.evaluation.report: writing an evaluation's metrics.json and markdown report."""

from __future__ import annotations

import json
from pathlib import Path

from fairguard.evaluation.report import write_report


def test_metrics_json_and_the_report_under_its_own_name(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write_report(tmp_path / "a", {"n": 2, "accuracy": 0.5}, "# A\n")
    assert json.loads((tmp_path / "a" / "metrics.json").read_text()) == {"n": 2, "accuracy": 0.5}
    assert (tmp_path / "a" / "metrics.md").read_text(encoding="utf-8") == "# A\n"

    write_report(tmp_path / "b", {"n": 1}, "# B δ\n", "report.md")
    assert (tmp_path / "b" / "report.md").read_text(encoding="utf-8") == "# B δ\n"
    assert not (tmp_path / "b" / "metrics.md").exists()
