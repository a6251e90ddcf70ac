"""The configuration of a GRPO / REINFORCE LoRA training run."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from fairguard.errors import ConfigError

from fairguard.training.aggregation import AGGREGATIONS

ALGORITHMS = ("grpo", "reinforce")
LOSS_TYPES = ("grpo", "dr_grpo", "dapo")
SCALE_REWARDS = ("group", "batch", "none")
SCHEDULES = ("constant", "linear", "cosine")
BASELINES = ("none", "mean")
POLICIES = ("causal", "diffusion")
REMASKING = ("low_confidence", "random")
DIFFUSION_LOGPROBS = ("clean", "masked")
MODEL_DTYPES = ("float32", "bfloat16", "float16")

# Fields that must not change between a run and its --resume (the rest may, e.g. max_steps).
RESUME_KEYS = (
    "model", "algorithm", "loss_type", "scale_rewards", "num_generations", "prompts_per_step",
    "max_new_tokens", "temperature", "top_p", "epsilon", "epsilon_high", "beta", "num_iterations",
    "gradient_accumulation_steps", "learning_rate", "lr_schedule", "warmup_steps", "weight_decay",
    "max_grad_norm", "lora_r", "lora_alpha", "lora_dropout", "lora_targets", "seed", "kl_lambda",
    "baseline", "rewards", "reward_model", "data", "reward_aggregation",
    "policy", "diffusion_steps", "block_length", "remasking", "cfg_scale", "diffusion_logprob",
    "mask_token_id", "model_dtype",
)


def check_schedule(gen_length: int, steps: int, block_length: int, what: str = "gen_length") -> int:
    """Validate a sampler schedule; return the iterations per block.

    ``gen_length`` must be a multiple of ``block_length`` and ``steps`` a multiple of the number
    of blocks (LLaDA's two asserts), all positive, and a block cannot take more iterations than it
    has tokens.
    """
    for name, value in ((what, gen_length), ("diffusion_steps", steps), ("block_length", block_length)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive integer; got {value!r}")
    if gen_length % block_length:
        raise ConfigError(f"{what} ({gen_length}) must be a multiple of block_length ({block_length}); "
                          f"e.g. block_length {_divisor_hint(gen_length, block_length)}")
    blocks = gen_length // block_length
    if steps % blocks:
        raise ConfigError(f"diffusion_steps ({steps}) must be a multiple of the number of blocks "
                          f"({what} / block_length = {blocks}); e.g. diffusion_steps "
                          f"{max(blocks, steps - steps % blocks)}")
    per_block = steps // blocks
    if per_block > block_length:
        raise ConfigError(f"diffusion_steps ({steps}) gives {per_block} iterations per block of "
                          f"{block_length} tokens; use at most {blocks * block_length} "
                          f"(one token per iteration)")
    return per_block


def _divisor_hint(n: int, near: int) -> int:
    divisors = [d for d in range(1, n + 1) if n % d == 0]
    return min(divisors, key=lambda d: (abs(d - near), d))


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
    # how the heads become one reward: weighted "sum" (TRL, seed 000), weighted "product" (every
    # head must be high) or "decoupled" (GDPO: heads normalised one by one; GRPO only); see
    # fairguard/training/aggregation.py. None: decoupled for GRPO, product for REINFORCE.
    reward_aggregation: str | None = None
    # GRPO (TRL's GRPOTrainer definitions)
    loss_type: str = "grpo"
    scale_rewards: str = "group"
    num_generations: int = 4
    prompts_per_step: int = 4
    max_new_tokens: int = 32
    temperature: float = 0.7
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
    learning_rate: float = 2e-4
    lr_schedule: str = "constant"
    warmup_steps: int = 0
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    max_steps: int = 40
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
    # policy family: "causal" (generate left to right) or "diffusion" (a masked LM that denoises
    # a fully masked answer, seed 003 / LLaDA; see docs/diffusion.md). For diffusion the answer
    # length is max_new_tokens, temperature may be 0 (argmax) and top_p does not apply.
    policy: str = "causal"
    diffusion_steps: int | None = None  # denoising iterations in all (None: max_new_tokens)
    block_length: int | None = None  # semi-autoregressive block size (None: max_new_tokens)
    remasking: str = "low_confidence"
    cfg_scale: float = 0.0  # classifier-free guidance: only 0 (seed 003) is supported
    diffusion_logprob: str = "clean"  # log-prob estimate of a generated answer (docs/diffusion.md)
    mask_token_id: int | None = None  # None: the tokenizer's / model config's mask token
    trust_remote_code: bool = False  # run a model's own Python code (e.g. LLaDA); never by default
    model_dtype: str = "float32"  # weights dtype when loading (bfloat16 halves memory on a GPU)

    def __post_init__(self) -> None:
        def choice(name: str, allowed: tuple[str, ...]) -> None:
            value = getattr(self, name)
            if value not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")

        def at_least(name: str, low: float) -> None:
            if getattr(self, name) < low:
                raise ConfigError(f"{name} must be >= {low}; got {getattr(self, name)!r}")

        choice("algorithm", ALGORITHMS)
        if self.reward_aggregation is None:
            self.reward_aggregation = "decoupled" if self.algorithm == "grpo" else "product"
        choice("reward_aggregation", AGGREGATIONS)
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
        if self.policy == "diffusion":  # Gumbel-max sampling: temperature 0 is the argmax
            if not self.temperature >= 0:
                raise ConfigError(f"temperature must be >= 0; got {self.temperature!r}")
        elif not self.temperature > 0:
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
        if self.algorithm == "reinforce" and self.reward_aggregation == "decoupled":
            raise ConfigError("reward_aggregation decoupled normalises each head within a GRPO group; "
                              "use sum or product with --algorithm reinforce")
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
        self._check_diffusion()

    def _check_diffusion(self) -> None:
        """Validate the policy family and the masked-diffusion sampler settings."""
        if self.policy not in POLICIES:
            raise ConfigError(f"policy must be one of {', '.join(POLICIES)}; got {self.policy!r}")
        for name, allowed in (("remasking", REMASKING), ("diffusion_logprob", DIFFUSION_LOGPROBS),
                              ("model_dtype", MODEL_DTYPES)):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {getattr(self, name)!r}")
        if self.cfg_scale != 0:
            raise ConfigError(f"cfg_scale must be 0 (classifier-free guidance is not supported; seed 003 "
                              f"trains with cfg_scale 0); got {self.cfg_scale!r}")
        if self.mask_token_id is not None and self.mask_token_id < 0:
            raise ConfigError(f"mask_token_id must be >= 0; got {self.mask_token_id!r}")
        if self.policy != "diffusion":
            if self.trust_remote_code:
                raise ConfigError("trust_remote_code applies to --policy diffusion only")
            return
        check_schedule(self.max_new_tokens, self.denoising_steps, self.denoising_block,
                       what="max_new_tokens")
        if self.eval_max_new_tokens is not None:
            check_schedule(self.eval_max_new_tokens, self.eval_steps, self.eval_block,
                           what="eval_max_new_tokens")

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

    @property
    def denoising_steps(self) -> int:
        """Denoising iterations of a training rollout (diffusion policy)."""
        return self.diffusion_steps if self.diffusion_steps is not None else self.max_new_tokens

    @property
    def denoising_block(self) -> int:
        """Block length of the diffusion sampler for training rollouts."""
        return self.block_length if self.block_length is not None else self.max_new_tokens

    @property
    def eval_block(self) -> int:
        """Block length for the evaluation answers (their whole length without block_length)."""
        if self.block_length is not None:
            return self.block_length
        return self.eval_max_new_tokens or self.max_new_tokens

    @property
    def eval_steps(self) -> int:
        """Denoising iterations for the evaluation answers: as many per block as in training,
        or as many per token when there is one block."""
        length = self.eval_max_new_tokens or self.max_new_tokens
        if self.block_length is not None:
            per_block = self.denoising_steps // max(1, self.max_new_tokens // self.denoising_block)
            return per_block * max(1, length // self.block_length)
        return max(1, round(self.denoising_steps * length / self.max_new_tokens))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
