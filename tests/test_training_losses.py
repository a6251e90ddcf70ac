"""Advantages and losses on hand-made tensors (TRL parity is in test_training_trl_parity.py)."""

from __future__ import annotations

import math

import pytest
import torch

from fairguard.training.losses import (
    decoupled_advantages,
    group_advantages,
    grpo_loss,
    per_token_kl,
    reinforce_loss,
    reinforce_returns,
    summarize,
)


def test_group_advantages_normalise_within_groups():
    rewards = torch.tensor([1.0, 3.0, 0.0, 0.0])
    adv, std = group_advantages(rewards, 2, "group")
    s = math.sqrt(2.0)  # unbiased std of (1, 3)
    torch.testing.assert_close(adv, torch.tensor([-1 / (s + 1e-4), 1 / (s + 1e-4), 0.0, 0.0]))
    none, _ = group_advantages(rewards, 2, "none")
    torch.testing.assert_close(none, torch.tensor([-1.0, 1.0, 0.0, 0.0]))
    batch, bstd = group_advantages(rewards, 2, "batch")
    torch.testing.assert_close(bstd, rewards.std().expand(4))


def test_decoupled_advantages_follow_gdpo():
    # two groups of two; head 0 spreads widely, head 1 barely
    columns = torch.tensor([[1.0, 0.49], [0.0, 0.51], [0.2, 0.9], [0.6, 0.8]])
    got = decoupled_advantages(columns, [1.0, 0.5], 2, "group")
    per_head = [group_advantages(columns[:, k], 2, "group")[0] for k in range(2)]
    summed = per_head[0] + 0.5 * per_head[1]
    torch.testing.assert_close(got, (summed - summed.mean()) / (summed.std() + 1e-4))
    assert got.mean().abs() < 1e-6 and got.std().item() == pytest.approx(1.0, abs=1e-3)


def test_decoupled_advantages_give_a_narrow_head_its_weight():
    # head 1 differs by 0.02 only but weighs twice head 0: it decides the decoupled ranking,
    # where the weighted sum is decided by head 0's wide spread
    columns = torch.tensor([[1.0, 0.49], [0.0, 0.51]] * 2)
    decoupled = decoupled_advantages(columns, [1.0, 2.0], 2, "group")
    assert decoupled[0] < 0 < decoupled[1]
    summed, _ = group_advantages(columns[:, 0] + 2.0 * columns[:, 1], 2, "group")
    assert summed[0] > 0 > summed[1]


def test_ratio_one_grpo_loss_is_minus_mean_advantage_and_kl_is_zero_at_reference():
    logps = torch.log(torch.tensor([[0.5, 0.25, 0.1], [0.2, 0.2, 0.2]]))
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    adv = torch.tensor([1.0, -2.0])
    loss, stats = grpo_loss(logps, None, logps, adv, mask, beta=0.5)
    assert float(loss) == pytest.approx(-(1.0 - 2.0) / 2)
    assert stats["kl"] == pytest.approx(0.0) and stats["clip_ratio"] == 0.0
    dr, _ = grpo_loss(logps, None, None, adv, mask, loss_type="dr_grpo", max_completion_length=4)
    assert float(dr) == pytest.approx(-(2 * 1.0 + 3 * -2.0) / (2 * 4))
    dapo, _ = grpo_loss(logps, None, None, adv, mask, loss_type="dapo", num_items_in_batch=5)
    assert float(dapo) == pytest.approx(-(2 * 1.0 + 3 * -2.0) / 5)


def test_clipping_stops_the_gradient_beyond_the_trust_region():
    logps = torch.tensor([[0.0]], requires_grad=True)
    old = torch.tensor([[-1.0]])  # ratio e > 1.2
    loss, stats = grpo_loss(logps, old, None, torch.tensor([1.0]), torch.ones(1, 1))
    loss.backward()
    assert logps.grad.abs().item() == 0.0 and stats["clip_ratio"] == 1.0
    assert loss.item() == pytest.approx(-1.2)


def test_k3_kl_is_non_negative():
    a, b = torch.randn(50), torch.randn(50)
    assert (per_token_kl(a, b) >= -1e-7).all()


def test_reinforce_returns_and_loss():
    rewards, kl = torch.tensor([1.0, 0.0]), torch.tensor([2.0, 4.0])
    returns = reinforce_returns(rewards, kl, 0.1)
    torch.testing.assert_close(returns, torch.tensor([0.8, -0.4]))
    torch.testing.assert_close(reinforce_returns(rewards, kl, 0.1, "mean"), torch.tensor([0.6, -0.6]))
    logps = torch.tensor([[-1.0, -2.0], [-0.5, -9.0]])
    mask = torch.tensor([[1, 1], [1, 0]])
    loss = reinforce_loss(logps, mask, returns)
    assert float(loss) == pytest.approx(-((-3.0 * 0.8) + (-0.5 * -0.4)) / 2)
    # micro-batches with batch_size = the step batch add up to the full-batch loss
    parts = sum(reinforce_loss(logps[i:i + 1], mask[i:i + 1], returns[i:i + 1], batch_size=2)
                for i in range(2))
    assert float(parts) == pytest.approx(float(loss))


def test_summarize():
    s = summarize(torch.tensor([1.0, 3.0]))
    assert s == {"n": 2, "mean": 2.0, "std": pytest.approx(math.sqrt(2)), "min": 1.0, "max": 3.0}
