"""Reward aggregation: the weighted sum (TRL) and the weighted product of reward heads."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from training_rewards import PROMPTS

from fairguard.errors import ConfigError
from fairguard.scoring import WeightedRewards
from fairguard.training import GRPOConfig
from fairguard.training.aggregation import (
    aggregate_rewards,
    check_weights,
    weighted_columns,
)
from fairguard.training.trainer import Trainer

HEADS = ["fairness", "relevance", "fluency", "total"]
TABLE = torch.tensor([[1.0, 0.1, 0.9, 0.0],    # fair, off topic
                      [0.1, 1.0, 0.9, 0.0],    # on topic, biased
                      [0.7, 0.6, 0.9, 0.0]])   # fairly good on every head
WEIGHTS = {"fairness": 1.0, "relevance": 0.5, "fluency": 0.5}


def test_sum_is_the_weighted_sum():
    got = aggregate_rewards(TABLE, HEADS, WEIGHTS, "sum")
    want = TABLE[:, 0] + 0.5 * TABLE[:, 1] + 0.5 * TABLE[:, 2]
    torch.testing.assert_close(got, want)


def test_product_is_the_weighted_geometric_product():
    got = aggregate_rewards(TABLE, HEADS, WEIGHTS, "product")
    want = TABLE[:, 0] * TABLE[:, 1].sqrt() * TABLE[:, 2].sqrt()
    torch.testing.assert_close(got, want)


def test_product_ranks_all_round_answers_above_trade_offs_where_the_sum_does_not():
    summed = aggregate_rewards(TABLE, HEADS, WEIGHTS, "sum")
    product = aggregate_rewards(TABLE, HEADS, WEIGHTS, "product")
    assert summed[0] > summed[2]  # the sum prefers fair-but-off-topic to the all-round answer
    assert product[2] > product[0] and product[2] > product[1]


def test_decoupled_logs_the_weighted_sum_and_allows_penalties():
    torch.testing.assert_close(aggregate_rewards(TABLE, HEADS, WEIGHTS, "decoupled"),
                               aggregate_rewards(TABLE, HEADS, WEIGHTS, "sum"))
    check_weights({"fairness": 1.0, "length": -0.5}, "decoupled")


def test_weighted_columns_pick_the_weighted_heads_in_weight_order():
    columns, weights = weighted_columns(TABLE, HEADS, {"fluency": 0.5, "fairness": 1.0, "relevance": 0.0})
    torch.testing.assert_close(columns, TABLE[:, [2, 0]])
    assert weights == [0.5, 1.0]


def test_zero_weight_heads_are_left_out():
    table = TABLE.clone()
    table[:, 2] = 0.0
    got = aggregate_rewards(table, HEADS, {**WEIGHTS, "fluency": 0.0}, "product")
    torch.testing.assert_close(got, table[:, 0] * table[:, 1].sqrt())


def test_product_refuses_negative_weights_and_scores_outside_unit_interval():
    with pytest.raises(ConfigError, match="weights >= 0"):
        check_weights({"fairness": 1.0, "length": -0.5}, "product")
    check_weights({"fairness": 1.0, "length": -0.5}, "sum")
    table = TABLE.clone()
    table[1, 1] = 1.5
    with pytest.raises(ConfigError, match="head 'relevance' gave 1.5"):
        aggregate_rewards(table, HEADS, WEIGHTS, "product")
    with pytest.raises(ConfigError, match="must be one of sum, product"):
        check_weights(WEIGHTS, "mean")


def test_config_validates_the_choice():
    assert GRPOConfig().reward_aggregation == "sum"
    with pytest.raises(ConfigError, match="reward_aggregation must be one of"):
        GRPOConfig(reward_aggregation="max")
    with pytest.raises(ConfigError, match="decoupled normalises each head within a GRPO group"):
        GRPOConfig(reward_aggregation="decoupled", algorithm="reinforce")


class Constant:
    """Two heads with fixed values: a = 0.5, b = 0.25 (or ``b`` as given)."""

    name = "constant"
    heads = ("a", "b")

    def __init__(self, b: float = 0.25):
        self.b = b

    def score(self, prompts, completions):
        n = len(completions)
        return {"a": np.full(n, 0.5), "b": np.full(n, self.b)}


def trainer(model_dir, out, reward, weights, **kw):
    cfg = GRPOConfig(model=str(model_dir), max_steps=1, max_new_tokens=3, prompts_per_step=2,
                     num_generations=2, save_every=1, eval=False, lora_r=2, lora_alpha=4,
                     lora_targets="q_proj,v_proj", **kw)
    return Trainer(cfg, out, progress=False, rewards=WeightedRewards([reward], weights),
                   train_prompts=PROMPTS, eval_prompts=PROMPTS[:1])


def test_trainer_optimises_and_logs_the_product(tiny_causal_lm_dir, tmp_path):
    t = trainer(tiny_causal_lm_dir, tmp_path / "p", Constant(), {"a": 1.0, "b": 2.0},
                reward_aggregation="product").setup()
    t.train()
    row = json.loads((tmp_path / "p" / "metrics.jsonl").read_text().splitlines()[0])
    assert row["rewards"]["total"]["mean"] == pytest.approx(0.5 * 0.25 ** 2)
    assert row["rewards"]["a"]["mean"] == pytest.approx(0.5)
    meta = json.loads((tmp_path / "p" / "fairguard.json").read_text())
    assert meta["config"]["reward_aggregation"] == "product"


def test_trainer_stops_clearly_when_a_head_leaves_the_unit_interval(tiny_causal_lm_dir, tmp_path):
    t = trainer(tiny_causal_lm_dir, tmp_path / "bad", Constant(b=3.0), {"a": 1.0, "b": 1.0},
                reward_aggregation="product").setup()
    with pytest.raises(ConfigError, match="training stopped at step 1: .*head 'b' gave 3"):
        t.train()
    assert not (tmp_path / "bad").exists()


def test_trainer_refuses_negative_product_weights_before_loading(tiny_causal_lm_dir, tmp_path):
    with pytest.raises(ConfigError, match="weights >= 0"):
        trainer(tiny_causal_lm_dir, tmp_path / "neg", Constant(), {"a": 1.0, "b": -1.0},
                reward_aggregation="product").setup()


class Spread:
    """Head ``a`` is 1 for the first completion of each group and 0 otherwise; ``b`` is its
    mirror image scaled to a spread of 0.02."""

    name = "spread"
    heads = ("a", "b")

    def score(self, prompts, completions):
        a = np.array([1.0 if i % 2 == 0 else 0.0 for i in range(len(completions))])
        return {"a": a, "b": 0.5 - 0.02 * (a - 0.5)}


def test_trainer_decoupled_logs_the_weighted_sum_and_uses_gdpo_advantages(tiny_causal_lm_dir, tmp_path):
    t = trainer(tiny_causal_lm_dir, tmp_path / "d", Spread(), {"a": 1.0, "b": 0.5},
                reward_aggregation="decoupled").setup()
    batch = t.make_batch(0)
    assert batch.rewards["total"]["mean"] == pytest.approx(0.5 + 0.5 * 0.5)
    # per head in its group: a -> (+0.707, -0.707), b -> (-0.707, +0.707); weighted 1 and 0.5
    # the sum is (+0.354, -0.354) per group, batch-normalised to about (+0.866, -0.866)
    want = torch.tensor([1.0, -1.0, 1.0, -1.0]) * 0.866
    torch.testing.assert_close(batch.advantages.cpu(), want, atol=1e-3, rtol=0)
    t.train()
    meta = json.loads((tmp_path / "d" / "fairguard.json").read_text())
    assert meta["config"]["reward_aggregation"] == "decoupled"
