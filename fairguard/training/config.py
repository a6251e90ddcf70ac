"""The configuration of a GRPO / REINFORCE LoRA training run."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from fairguard.errors import ConfigError

ALGORITHMS = ("grpo", "reinforce")
LOSS_TYPES = ("grpo", "dr_grpo", "dapo")
SCALE_REWARDS = ("group", "batch", "none")
SCHEDULES = ("constant", "linear", "cosine")
BASELINES = ("none", "mean")

# Fields that must not change between a run and its --resume (the rest may, e.g. max_steps).
RESUME_KEYS = (
    "model", "algorithm", "loss_type", "scale_rewards", "num_generations", "prompts_per_step",
    "max_new_tokens", "temperature", "top_p", "epsilon", "epsilon_high", "beta", "num_iterations",
    "gradient_accumulation_steps", "learning_rate", "lr_schedule", "warmup_steps", "weight_decay",
    "max_grad_norm", "lora_r", "lora_alpha", "lora_dropout", "lora_targets", "seed", "kl_lambda",
    "baseline", "rewards", "reward_model", "data",
)


@dataclass
class GRPOConfig:
    """Everything a ``fairguard train grpo`` run needs; validated on construction.

    One *step* is one optimizer update over ``prompts_per_step`` prompts x ``num_generations``
    completions (per process), split into ``gradient_accumulation_steps`` micro-batches.
    With ``num_iterations`` > 1 a batch of completions is reused for that many steps, with the
    log-probs of the policy that sampled it as the "old" log-probs of the clipped ratio.
    """

    model: str = "smollm2-135m-instruct"
    algorithm: str = "grpo"
    # rewards: "name=weight,..." over reward heads; reward_model: folder for the reward-model plugin
    rewards: str | None = None
    reward_model: str | None = None
    data: str | None = None
    # GRPO (TRL's GRPOTrainer definitions)
    loss_type: str = "grpo"
    scale_rewards: str = "group"
    num_generations: int = 4
    prompts_per_step: int = 2
    max_new_tokens: int = 32
    temperature: float = 1.0
    top_p: float = 1.0
    epsilon: float = 0.2
    epsilon_high: float | None = None
    beta: float = 0.04
    num_iterations: int = 1
    # REINFORCE (seed 003): R = reward - kl_lambda * KL(policy || base), loss -mean(logp_sum * R)
    kl_lambda: float = 0.1
    baseline: str = "none"
    # optimisation
    gradient_accumulation_steps: int = 1
    learning_rate: float = 1e-4
    lr_schedule: str = "constant"
    warmup_steps: int = 0
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    max_steps: int = 50
    # LoRA
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    lora_targets: str = "q_proj,k_proj,v_proj,o_proj"
    # run
    seed: int = 0
    save_every: int = 10
    eval_prompts: int = 32
    eval_max_new_tokens: int | None = None
    eval: bool = True
    mixed_precision: str = "auto"

    def __post_init__(self) -> None:
        def choice(name: str, allowed: tuple[str, ...]) -> None:
            value = getattr(self, name)
            if value not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")

        def at_least(name: str, low: float) -> None:
            if getattr(self, name) < low:
                raise ConfigError(f"{name} must be >= {low}; got {getattr(self, name)!r}")

        choice("algorithm", ALGORITHMS)
        choice("loss_type", LOSS_TYPES)
        choice("scale_rewards", SCALE_REWARDS)
        choice("lr_schedule", SCHEDULES)
        choice("baseline", BASELINES)
        choice("mixed_precision", ("auto", "no", "bf16", "fp16"))
        for name in ("num_generations", "prompts_per_step", "max_new_tokens", "num_iterations",
                     "gradient_accumulation_steps", "max_steps", "lora_r", "lora_alpha",
                     "save_every", "eval_prompts"):
            at_least(name, 1)
        for name in ("epsilon", "beta", "kl_lambda", "weight_decay", "warmup_steps", "lora_dropout"):
            at_least(name, 0)
        if self.epsilon_high is not None:
            at_least("epsilon_high", 0)
        if not self.temperature > 0:
            raise ConfigError(f"temperature must be > 0; got {self.temperature!r}")
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p must be in (0, 1]; got {self.top_p!r}")
        if not self.learning_rate > 0:
            raise ConfigError(f"learning_rate must be > 0; got {self.learning_rate!r}")
        if not self.max_grad_norm > 0:
            raise ConfigError(f"max_grad_norm must be > 0; got {self.max_grad_norm!r}")
        if self.lora_dropout >= 1:
            raise ConfigError(f"lora_dropout must be < 1; got {self.lora_dropout!r}")
        if self.algorithm == "grpo" and self.num_generations < 2:
            raise ConfigError("GRPO compares completions within a group; num_generations must be >= 2 "
                              "(use --algorithm reinforce for one completion per prompt)")
        completions = self.prompts_per_step * self.num_generations
        if completions % self.gradient_accumulation_steps:
            raise ConfigError(
                f"prompts_per_step x num_generations ({completions}) must be divisible by "
                f"gradient_accumulation_steps ({self.gradient_accumulation_steps})"
            )
        if self.eval_max_new_tokens is not None:
            at_least("eval_max_new_tokens", 1)
        if not self.targets:
            raise ConfigError("lora_targets is empty; name modules, e.g. q_proj,v_proj")

    @property
    def eps_high(self) -> float:
        """Upper clip range (``epsilon_high``, defaulting to ``epsilon`` as in TRL)."""
        return self.epsilon if self.epsilon_high is None else self.epsilon_high

    @property
    def targets(self) -> list[str]:
        return [t.strip() for t in self.lora_targets.split(",") if t.strip()]

    @property
    def completions_per_step(self) -> int:
        return self.prompts_per_step * self.num_generations

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
