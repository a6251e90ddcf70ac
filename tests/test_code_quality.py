"""The package passes the lint (ruff) and type check (mypy) configured in pyproject.toml; the tests
and benchmarks pass the lint too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("fairguard", "plugins", "export")
LINTED = (*PACKAGES, "tests", "benchmarks")


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", tool, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


def test_ruff_check_is_clean() -> None:
    result = _run("ruff", "check", *LINTED)
    assert result.returncode == 0, f"ruff check found problems:\n{result.stdout}{result.stderr}"


def test_mypy_is_clean() -> None:
    result = _run("mypy", *PACKAGES)
    assert result.returncode == 0, f"mypy found problems:\n{result.stdout}{result.stderr}"
