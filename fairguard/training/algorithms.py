"""What GRPO and REINFORCE do differently in a training step, as two small strategy objects.

The trainer samples and scores a :class:`StepBatch`; the algorithm then prepares it (GRPO:
group advantages, reference and "old" log-probs; REINFORCE: the LLaDA LoRA paper's returns with the
full-vocabulary KL), gives the loss of each micro-batch and names its extra metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from fairguard.scoring import TOTAL
from fairguard.training.aggregation import weighted_columns
from fairguard.training.losses import (
    decoupled_advantages,
    group_advantages,
    grpo_loss,
    reinforce_loss,
    reinforce_returns,
    summarize,
)
from fairguard.training.rollout import Rollout

if TYPE_CHECKING:
    from fairguard.training.config import GRPOConfig
    from fairguard.training.trainer import Trainer


@dataclass
class StepBatch:
    """The completions of one step on this process, scored and prepared for the loss.

    Row ``i`` of every tensor is completion ``i`` of ``rollout``; statistics cover all processes.
    """

    rollout: Rollout
    micro_batch: int  # rows per gradient-accumulation micro-batch
    rewards: dict[str, dict[str, Any]]  # per reward head: summary over the step batch
    completion_length: float  # mean completion tokens
    num_tokens: float  # completion tokens in the step batch (all processes)
    # GRPO: group advantages; REINFORCE: the returns R_i (filled by the algorithm's prepare)
    advantages: torch.Tensor = field(default_factory=lambda: torch.empty(0))
    old_logps: torch.Tensor | None = None  # the sampling policy's (num_iterations > 1)
    ref_logps: torch.Tensor | None = None  # the base model's (beta > 0)
    logged: dict[str, Any] = field(default_factory=dict)  # the algorithm's metrics-row entries

    @property
    def tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        r = self.rollout
        return r.prompt_ids, r.prompt_mask, r.completion_ids, r.completion_mask


class Algorithm:
    """What a training algorithm adds to a step: :meth:`prepare` fills the batch's advantages
    (and reference / old log-probs); :meth:`loss` gives one micro-batch's loss and statistics."""

    name = "algorithm"

    def __init__(self, config: GRPOConfig):
        self.config = config

    def prepare(self, trainer: Trainer, batch: StepBatch, table: torch.Tensor, heads: list[str],
                mine: slice) -> None:
        """Fill ``batch`` from the gathered reward ``table`` (N_all, H); ``mine``: this
        process's rows of it."""
        raise NotImplementedError

    def loss(self, logps: torch.Tensor, batch: StepBatch, rows: slice, mask: torch.Tensor,
             num_processes: int) -> tuple[torch.Tensor, dict[str, float]]:
        """The loss of micro-batch ``rows`` (its per-token log-probs ``logps``) and statistics."""
        raise NotImplementedError


class GRPO(Algorithm):
    """GRPO as TRL's GRPOTrainer computes it (clipped ratio, k3 KL to the base model)."""

    name = "grpo"

    def prepare(self, trainer: Trainer, batch: StepBatch, table: torch.Tensor, heads: list[str],
                mine: slice) -> None:
        cfg = self.config
        advantages, std = group_advantages(table[:, heads.index(TOTAL)], cfg.num_generations,
                                           cfg.scale_rewards)
        if cfg.reward_aggregation == "decoupled":
            columns, weights = weighted_columns(table, heads, trainer.rewards.weights)
            advantages = decoupled_advantages(columns, weights, cfg.num_generations,
                                              cfg.scale_rewards)
        batch.advantages = advantages[mine]
        batch.logged["reward_std"] = float(std.mean())
        if cfg.beta > 0:
            batch.ref_logps = trainer.policy.reference_logprobs(
                trainer.peft_model, *batch.tensors, temperature=cfg.temperature,
                micro_batch=batch.micro_batch)
        if cfg.num_iterations > 1:
            batch.old_logps = trainer.policy.policy_logprobs(
                trainer.peft_model, *batch.tensors, temperature=cfg.temperature,
                micro_batch=batch.micro_batch)

    def loss(self, logps: torch.Tensor, batch: StepBatch, rows: slice, mask: torch.Tensor,
             num_processes: int) -> tuple[torch.Tensor, dict[str, float]]:
        cfg = self.config
        return grpo_loss(
            logps, None if batch.old_logps is None else batch.old_logps[rows],
            None if batch.ref_logps is None else batch.ref_logps[rows], batch.advantages[rows],
            mask, loss_type=cfg.loss_type, epsilon_low=cfg.epsilon, epsilon_high=cfg.eps_high,
            beta=cfg.beta, max_completion_length=cfg.max_new_tokens,
            num_items_in_batch=batch.num_tokens, num_processes=num_processes,
            gradient_accumulation_steps=cfg.gradient_accumulation_steps)


class Reinforce(Algorithm):
    """REINFORCE as in reward-guided LoRA on LLaDA (Saouda et al., 2025):
    R = reward - kl_lambda * KL(policy || base), optional mean baseline."""

    name = "reinforce"

    def prepare(self, trainer: Trainer, batch: StepBatch, table: torch.Tensor, heads: list[str],
                mine: slice) -> None:
        cfg = self.config
        n = len(batch.rollout.prompts)
        kl = (trainer.policy.sequence_kl(trainer.peft_model, *batch.tensors,
                                         temperature=cfg.temperature, micro_batch=batch.micro_batch)
              if cfg.kl_lambda > 0 else torch.zeros(n, device=table.device))
        kl_all = trainer.gather(kl.float())
        returns = reinforce_returns(table[:, heads.index(TOTAL)],
                                    kl_all if cfg.kl_lambda > 0 else None, cfg.kl_lambda, cfg.baseline)
        batch.advantages = returns[mine]
        batch.logged.update(kl=float(kl_all.mean()), returns=summarize(returns))

    def loss(self, logps: torch.Tensor, batch: StepBatch, rows: slice, mask: torch.Tensor,
             num_processes: int) -> tuple[torch.Tensor, dict[str, float]]:
        return reinforce_loss(logps, mask, batch.advantages[rows],
                              batch_size=len(batch.rollout.prompts)), {}


ALGORITHMS: dict[str, type[Algorithm]] = {"grpo": GRPO, "reinforce": Reinforce}


def make_algorithm(config: GRPOConfig) -> Algorithm:
    """The algorithm ``config.algorithm`` names (validated by the config)."""
    return ALGORITHMS[config.algorithm](config)
