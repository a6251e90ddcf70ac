"""`fairguard demo`: help, option checks, and one real end-to-end --quick run (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fairguard.cli import cli
from fairguard.demo.report import SECTIONS


def test_demo_is_a_root_command_with_its_options() -> None:
    result = CliRunner().invoke(cli, ["demo", "--help"])
    assert result.exit_code == 0
    for flag in ("--out", "--quick", "--seed", "--overwrite", "runs/demo"):
        assert flag in result.output


def test_negative_seed_is_a_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", "--out", str(tmp_path / "d"), "--seed", "-1"])
    assert result.exit_code == 1 and "--seed must be >= 0" in result.output
    assert not (tmp_path / "d").exists()


@pytest.mark.slow
def test_quick_demo_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--quick", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = (out / "report.md").read_text()
    for section in SECTIONS:
        assert section in text
    assert "Not available" not in text
    latency = json.loads((out / "latency.json").read_text())
    assert list(latency["backends"]) == ["torch", "onnx-fp32", "onnx-int8"]
    assert "| ONNX int8 |" in text and "speed-up vs torch" in text
    assert "| category | train | val | test | total |" in text
    assert "UnQover questions per category" in text
    grpo = text.split("## GRPO")[1].split("## REFINE-LM")[0]  # cross-judge, behaviour, training judge
    assert grpo.index("### Cross-judge quality") < grpo.index("### Behaviour") < grpo.index(
        "### Training judge")
    assert "| judge | relation | head | base | after | change ± se |" in grpo
    assert "| judge-independent | independent | fairness |" in grpo
    assert "| reward-model | training judge | fairness |" in grpo
    assert "| metric | n | base | after | change ± se | better |" in grpo
    assert "| multiple choice, option likelihood: disambiguated: accuracy |" in grpo
    for png in ("reward-model/training.png", "grpo-adapter/rewards.png", "refine-gender/refine.png",
                "before_after.png"):
        assert (out / png).is_file() and f"]({png})" in text
    examples = json.loads((out / "guard" / "guard_examples.json").read_text())["examples"]
    assert len(examples) == 3 and all(len(e["candidates"]) == 2 for e in examples)
    assert all(e["candidates"][0]["scores"]["total"] is not None for e in examples)
    rerun = CliRunner().invoke(cli, ["demo", "--quick", "--out", str(out)])
    assert rerun.exit_code == 0 and rerun.output.count("done already") == 10
