"""The runnable examples run as-is, offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=600)


def test_quickstart(tmp_path):
    result = _run(str(EXAMPLES / "quickstart.py"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "neutralized: They would" in result.stdout


def test_make_bbq_sample_writes_loadable_jsonl(tmp_path):
    from fairguard.metrics.bbq import load_bbq

    out = tmp_path / "bbq.jsonl"
    result = _run(str(EXAMPLES / "make_bbq_sample.py"), str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(load_bbq(out)) == 36


@pytest.mark.slow
def test_guard_pipeline_with_an_onnx_reward_model(tmp_path, tmp_path_factory):
    from onnx_export_data import shared_export

    _, export = shared_export(tmp_path_factory)
    result = _run(str(EXAMPLES / "guard_pipeline.py"), str(export), "--n", "2",
                  "--max-new-tokens", "8", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "PROMPT:" in result.stdout and "CHOSEN" in result.stdout
