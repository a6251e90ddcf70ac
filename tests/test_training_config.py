"""GRPOConfig validation and YAML/flag building."""

from __future__ import annotations

import pytest

from fairguard.config import build_config
from fairguard.errors import ConfigError
from fairguard.training.config import GRPOConfig


def test_defaults_are_valid():
    cfg = GRPOConfig()
    assert cfg.algorithm == "grpo" and cfg.eps_high == cfg.epsilon == 0.2
    assert cfg.targets == ["q_proj", "k_proj", "v_proj", "o_proj"]
    # the measured default run (docs/grpo.md): B=4 x G=4 at temperature 0.7, 160 steps, lr 2e-4,
    # the heads summed before the group's normalisation, beta 0.04
    assert cfg.completions_per_step == 16 and cfg.temperature == 0.7
    assert (cfg.max_steps, cfg.learning_rate) == (160, 2e-4)
    assert (cfg.reward_aggregation, cfg.beta) == ("sum", 0.04)
    assert GRPOConfig(algorithm="reinforce").reward_aggregation == "product"


@pytest.mark.parametrize("kw, message", [
    (dict(algorithm="ppo"), "algorithm"),
    (dict(loss_type="bnpo"), "loss_type"),
    (dict(scale_rewards="max"), "scale_rewards"),
    (dict(num_generations=1), "num_generations"),
    (dict(temperature=0.0), "temperature"),
    (dict(top_p=1.5), "top_p"),
    (dict(beta=-1.0), "beta"),
    (dict(gradient_accumulation_steps=3), "divisible"),
    (dict(lora_targets=" , "), "lora_targets"),
    (dict(learning_rate=0.0), "learning_rate"),
    (dict(baseline="ema"), "baseline"),
])
def test_bad_values_raise(kw, message):
    with pytest.raises(ConfigError, match=message):
        GRPOConfig(**kw)


def test_reinforce_allows_one_generation():
    assert GRPOConfig(algorithm="reinforce", num_generations=1).num_generations == 1


def test_yaml_then_flags(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("max-steps: 7\nloss_type: dapo\nepsilon_high: 0.28\n")
    cfg = build_config(GRPOConfig, path, max_steps=9, beta=None)
    assert (cfg.max_steps, cfg.loss_type, cfg.eps_high) == (9, "dapo", 0.28)
    path.write_text("nonsense: 1\n")
    with pytest.raises(ConfigError, match="unknown option"):
        build_config(GRPOConfig, path)


def test_reward_model_is_one_folder_or_an_ensemble(tmp_path):
    assert GRPOConfig().reward_model is None and GRPOConfig().reward_ensemble == "mean"
    assert GRPOConfig(reward_model=("a",)).reward_model == "a"  # one repeatable flag: a folder
    assert GRPOConfig(reward_model=()).reward_model is None
    several = GRPOConfig(reward_model=("a", "b"), reward_ensemble="min")
    assert several.reward_model == ["a", "b"]  # as JSON gives it back, so --resume compares equal
    with pytest.raises(ConfigError, match="list of folders"):
        GRPOConfig(reward_model=["a", ""])
    with pytest.raises(ConfigError, match="reward_ensemble"):
        GRPOConfig(reward_ensemble="max")
    path = tmp_path / "c.yaml"
    path.write_text("reward_model: [x, y]\nreward_ensemble: min\n")
    cfg = build_config(GRPOConfig, path)
    assert (cfg.reward_model, cfg.reward_ensemble) == (["x", "y"], "min")
