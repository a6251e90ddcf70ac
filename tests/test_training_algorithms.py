"""GRPO and REINFORCE as strategy objects over a typed step batch."""

from __future__ import annotations

import torch

from fairguard.training.algorithms import GRPO, Reinforce, StepBatch, make_algorithm
from fairguard.training.config import GRPOConfig
from fairguard.training.losses import grpo_loss, reinforce_loss
from fairguard.training.rollout import Rollout


def _batch(**kw) -> StepBatch:
    n, c = 4, 3
    rollout = Rollout(["p"] * n, ["c"] * n, torch.ones(n, 2, dtype=torch.long),
                      torch.ones(n, 2, dtype=torch.long), torch.ones(n, c, dtype=torch.long),
                      torch.tensor([[1, 1, 1], [1, 1, 0], [1, 0, 0], [1, 1, 1]]))
    return StepBatch(rollout=rollout, micro_batch=2, rewards={}, completion_length=2.25,
                     num_tokens=9.0, **kw)


def test_make_algorithm_follows_the_config():
    assert isinstance(make_algorithm(GRPOConfig()), GRPO)
    assert isinstance(make_algorithm(GRPOConfig(algorithm="reinforce")), Reinforce)


def test_grpo_loss_of_a_micro_batch_is_the_clipped_surrogate_with_the_batch_tensors():
    torch.manual_seed(0)
    logps, ref = torch.randn(4, 3), torch.randn(4, 3)
    batch = _batch(advantages=torch.tensor([1.0, -1.0, 0.5, -0.5]), ref_logps=ref)
    rows, mask = slice(2, 4), batch.rollout.completion_mask[2:4]
    got, stats = GRPO(GRPOConfig(beta=0.04, loss_type="dapo")).loss(logps[rows], batch, rows, mask, 1)
    want, want_stats = grpo_loss(logps[rows], None, ref[rows], batch.advantages[rows], mask,
                                 loss_type="dapo", beta=0.04, num_items_in_batch=9.0)
    torch.testing.assert_close(got, want)
    assert stats == want_stats and "kl" in stats


def test_reinforce_loss_uses_the_returns_over_the_whole_step_batch():
    logps = torch.randn(4, 3)
    batch = _batch(advantages=torch.tensor([0.2, 0.4, -0.1, 0.3]))
    rows, mask = slice(0, 2), batch.rollout.completion_mask[0:2]
    got, stats = Reinforce(GRPOConfig(algorithm="reinforce")).loss(logps[rows], batch, rows, mask, 1)
    torch.testing.assert_close(got, reinforce_loss(logps[rows], mask, batch.advantages[rows],
                                                   batch_size=4))
    assert stats == {}
    assert [t.shape for t in batch.tensors] == [(4, 2), (4, 2), (4, 3), (4, 3)]
