"""``fairguard train grpo`` end to end on the tiny model, with a reward plugin registered in-process."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from fairguard.cli import cli


def test_help_lists_the_options():
    result = CliRunner().invoke(cli, ["train", "grpo", "--help"])
    assert result.exit_code == 0
    for option in ("--reward-model", "--reward", "--algorithm", "--resume", "--max-steps", "--config"):
        assert option in result.output


def test_train_grpo_end_to_end_with_yaml_and_resume_errors(tiny_causal_lm_dir, tmp_path, length_plugin):
    out = tmp_path / "adapter"
    yaml_file = tmp_path / "x.yaml"
    yaml_file.write_text("max_new_tokens: 4\nlora_r: 4\neval_prompts: 2\nnum_generations: 2\n")
    args = ["train", "grpo", "--model", str(tiny_causal_lm_dir), "--out", str(out),
            "--reward", "length=1,gender-bias=0.3", "--max-steps", "1", "--config", str(yaml_file),
            "--quiet"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "held-out evaluation" in result.output and "length" in result.output
    assert "±" in result.output  # the paired change and its standard error
    meta = json.loads((out / "fairguard.json").read_text())
    assert meta["rewards"]["weights"] == {"length": 1.0, "gender-bias": 0.3}
    assert meta["config"]["num_generations"] == 2 and meta["config"]["max_new_tokens"] == 4
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 1 and "--overwrite" in again.output


@pytest.mark.parametrize("args, message", [
    (["--reward", "nonexistent=1"], "unknown reward"),
    (["--algorithm", "grpo", "--num-generations", "1"], "num_generations"),
    (["--reward", "length=oops"], "name=number"),
])
def test_bad_options_fail_cleanly(tiny_causal_lm_dir, tmp_path, args, message):
    result = CliRunner().invoke(cli, ["train", "grpo", "--model", str(tiny_causal_lm_dir),
                                      "--out", str(tmp_path / "o"), "--quiet", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_reward_aggregation_flag_reaches_the_trainer(tiny_causal_lm_dir, tmp_path, length_plugin):
    out = tmp_path / "product"
    args = ["train", "grpo", "--model", str(tiny_causal_lm_dir), "--out", str(out), "--reward", "length=1",
            "--reward-aggregation", "product", "--max-steps", "1", "--max-new-tokens", "3",
            "--num-generations", "2", "--prompts-per-step", "2", "--lora-r", "2", "--no-eval", "--quiet"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert json.loads((out / "fairguard.json").read_text())["config"]["reward_aggregation"] == "product"


def test_reward_model_repeated_trains_against_an_ensemble(tiny_causal_lm_dir, tmp_path):
    from onnx_export_data import tiny_reward_dir

    judges = [str(tiny_reward_dir(tmp_path / f"rm{seed}", seed=seed)) for seed in (0, 1)]
    out = tmp_path / "ensemble"
    args = ["train", "grpo", "--model", str(tiny_causal_lm_dir), "--out", str(out),
            "--reward-model", judges[0], "--reward-model", judges[1], "--reward-ensemble", "min",
            "--max-steps", "1", "--max-new-tokens", "3", "--num-generations", "2",
            "--prompts-per-step", "2", "--lora-r", "2", "--no-eval", "--quiet"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "fairguard.json").read_text())
    assert meta["config"]["reward_model"] == judges and meta["config"]["reward_ensemble"] == "min"
    assert meta["rewards"]["weights"] == {"fairness": 1.0, "relevance": 0.75, "fluency": 0.75}
    twice = [str(tmp_path / "twice") if a == str(out) else judges[0] if a == judges[1] else a
             for a in args]
    same = CliRunner().invoke(cli, twice)
    assert same.exit_code != 0 and "same folder" in same.output and "Traceback" not in same.output
    assert not (tmp_path / "twice").exists()
