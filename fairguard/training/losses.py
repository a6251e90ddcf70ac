"""Advantages and losses: GRPO as TRL's GRPOTrainer defines them, and the LLaDA LoRA paper's REINFORCE.

GRPO (trl 0.26 ``GRPOTrainer._compute_loss``), per completion token t of completion i:

    r      = exp(logp - logp_old)
    loss_t = -min(r * A_i, clip(r, 1 - eps, 1 + eps_high) * A_i) + beta * KL_t
    KL_t   = exp(ref - logp) - (ref - logp) - 1

aggregated per ``loss_type`` over a micro-batch of M completions (mask m, ``ga`` micro-batches):

    grpo    : mean_i( sum_t m loss_t / sum_t m ) / ga
    dr_grpo : sum_{i,t} m loss_t / (M * max_completion_length) / ga
    dapo    : sum_{i,t} m loss_t / (tokens in the whole step batch, all processes / processes)

REINFORCE (the LLaDA LoRA paper): R_i = reward_i - kl_lambda * KL_i (KL_i the mean full-vocabulary
KL(policy || base) over generated tokens), loss = -mean_i( sum_t logp_t * R_i ), with an optional
mean baseline (R_i - mean R).
"""

from __future__ import annotations

from typing import Any

import torch

STD_EPS = 1e-4


def group_advantages(rewards: torch.Tensor, num_generations: int,
                     scale_rewards: str = "group") -> tuple[torch.Tensor, torch.Tensor]:
    """``(advantages, std)`` for rewards laid out in consecutive groups of ``num_generations``."""
    grouped = rewards.view(-1, num_generations)
    mean = grouped.mean(dim=1).repeat_interleave(num_generations)
    advantages = rewards - mean
    if scale_rewards in ("group", "none"):
        std = grouped.std(dim=1).repeat_interleave(num_generations)
    elif scale_rewards == "batch":
        std = rewards.std().expand_as(rewards)
    else:
        raise ValueError(f"unknown scale_rewards {scale_rewards!r}")
    if scale_rewards != "none":
        advantages = advantages / (std + STD_EPS)
    return advantages, std


def decoupled_advantages(columns: torch.Tensor, weights: list[float], num_generations: int,
                         scale_rewards: str = "group") -> torch.Tensor:
    """GDPO advantages of rewards ``columns`` (N, K): each column through ``group_advantages``,
    the weighted sum of those, then normalised over the batch: (A - mean A) / (std A + eps)."""
    summed = torch.zeros(columns.shape[0], dtype=columns.dtype, device=columns.device)
    for k, weight in enumerate(weights):
        summed = summed + weight * group_advantages(columns[:, k], num_generations, scale_rewards)[0]
    return (summed - summed.mean()) / (summed.std() + STD_EPS)


def per_token_kl(logps: torch.Tensor, ref_logps: torch.Tensor) -> torch.Tensor:
    """The k3 estimator of KL(policy || reference) per token."""
    diff = ref_logps - logps
    return torch.exp(diff) - diff - 1


def grpo_loss(logps: torch.Tensor, old_logps: torch.Tensor | None, ref_logps: torch.Tensor | None,
              advantages: torch.Tensor, mask: torch.Tensor, *, loss_type: str = "grpo",
              epsilon_low: float = 0.2, epsilon_high: float = 0.2, beta: float = 0.0,
              max_completion_length: int | None = None, num_items_in_batch: float | None = None,
              num_processes: int = 1, gradient_accumulation_steps: int = 1
              ) -> tuple[torch.Tensor, dict[str, float]]:
    """The clipped-surrogate GRPO loss of one micro-batch, and statistics for logging.

    ``old_logps`` None means the policy that sampled is the current one (ratio 1, the usual
    ``num_iterations == 1`` case). ``ref_logps`` is needed when ``beta`` > 0.
    """
    if old_logps is None:
        old_logps = logps.detach()
    if advantages.dim() == 1:
        advantages = advantages.unsqueeze(1)
    mask = mask.to(logps.dtype)
    ratio = torch.exp(logps - old_logps)
    clipped = torch.clamp(ratio, 1 - epsilon_low, 1 + epsilon_high)
    per_token = -torch.min(ratio * advantages, clipped * advantages)
    kl = None
    if beta != 0.0:
        if ref_logps is None:
            raise ValueError("beta > 0 needs reference log-probs")
        kl = per_token_kl(logps, ref_logps)
        per_token = per_token + beta * kl
    if loss_type == "grpo":
        loss = ((per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean()
        loss = loss / gradient_accumulation_steps
    elif loss_type == "dr_grpo":
        if max_completion_length is None:
            raise ValueError("dr_grpo needs max_completion_length")
        loss = (per_token * mask).sum() / (per_token.size(0) * max_completion_length)
        loss = loss / gradient_accumulation_steps
    elif loss_type == "dapo":
        if num_items_in_batch is None:
            raise ValueError("dapo needs num_items_in_batch (completion tokens in the step batch)")
        loss = (per_token * mask).sum() / (num_items_in_batch / num_processes)
    else:
        raise ValueError(f"unknown loss_type {loss_type!r}")
    with torch.no_grad():
        tokens = mask.sum().clamp(min=1.0)
        low = ((ratio < 1 - epsilon_low) & (advantages < 0)).to(mask.dtype)
        high = ((ratio > 1 + epsilon_high) & (advantages > 0)).to(mask.dtype)
        stats = {"clip_ratio": float(((low + high) * mask).sum() / tokens)}
        if kl is not None:
            stats["kl"] = float((kl * mask).sum() / tokens)
    return loss, stats


def reinforce_returns(rewards: torch.Tensor, kl: torch.Tensor | None, kl_lambda: float = 0.1,
                      baseline: str = "none") -> torch.Tensor:
    """The LLaDA LoRA paper's return ``R = reward - kl_lambda * KL``, optionally minus its batch mean."""
    returns = rewards if kl is None else rewards - kl_lambda * kl
    if baseline == "mean":
        returns = returns - returns.mean()
    elif baseline != "none":
        raise ValueError(f"unknown baseline {baseline!r}")
    return returns


def reinforce_loss(logps: torch.Tensor, mask: torch.Tensor, returns: torch.Tensor,
                   batch_size: int | None = None) -> torch.Tensor:
    """``-sum_i(logp_sum_i * R_i) / batch_size`` (= -mean over the step batch when micro-batched)."""
    sequence_logp = (logps * mask.to(logps.dtype)).sum(-1)
    n = batch_size if batch_size is not None else logps.shape[0]
    return -(sequence_logp * returns.detach()).sum() / n


def summarize(values: torch.Tensor) -> dict[str, Any]:
    """Count, mean, std, min and max of a 1-d tensor."""
    values = values.detach().double()
    std = float(values.std()) if values.numel() > 1 else 0.0
    return {"n": int(values.numel()), "mean": float(values.mean()), "std": std,
            "min": float(values.min()), "max": float(values.max())}
