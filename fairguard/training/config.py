"""The configuration of a GRPO / REINFORCE LoRA training run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from fairguard.config import config_dict, plugin_options
from fairguard.errors import ConfigError
from fairguard.training.aggregation import AGGREGATIONS

Algorithm = Literal["grpo", "reinforce"]
LossType = Literal["grpo", "dr_grpo", "dapo"]
ScaleRewards = Literal["group", "batch", "none"]
Schedule = Literal["constant", "linear", "cosine"]
Baseline = Literal["none", "mean"]
PolicyFamily = Literal["causal", "diffusion"]
Remasking = Literal["low_confidence", "random"]
DiffusionLogprob = Literal["clean", "masked"]
ModelDtype = Literal["float32", "bfloat16", "float16"]
SamplingDtype = Literal["float32", "bfloat16"]
Aggregation = Literal["sum", "product", "decoupled"]  # training/aggregation.py: AGGREGATIONS
Ensemble = Literal["mean", "min"]  # plugins/reward_model.py: ENSEMBLES
MixedPrecision = Literal["auto", "no", "bf16", "fp16"]

ALGORITHMS = get_args(Algorithm)
LOSS_TYPES = get_args(LossType)
SCALE_REWARDS = get_args(ScaleRewards)
SCHEDULES = get_args(Schedule)
BASELINES = get_args(Baseline)
POLICIES = get_args(PolicyFamily)
REMASKING = get_args(Remasking)
DIFFUSION_LOGPROBS = get_args(DiffusionLogprob)
MODEL_DTYPES = get_args(ModelDtype)

# Fields that must not change between a run and its --resume (the rest may, e.g. max_steps).
RESUME_KEYS = (
    "model", "algorithm", "loss_type", "scale_rewards", "num_generations", "prompts_per_step",
    "max_new_tokens", "temperature", "top_p", "epsilon", "epsilon_high", "beta", "num_iterations",
    "gradient_accumulation_steps", "learning_rate", "lr_schedule", "warmup_steps", "weight_decay",
    "max_grad_norm", "lora_r", "lora_alpha", "lora_dropout", "lora_targets", "seed", "kl_lambda",
    "baseline", "rewards", "reward_options", "reward_model", "reward_ensemble", "data", "keyed_share",
    "reward_aggregation",
    "policy", "diffusion_steps", "block_length", "remasking", "diffusion_logprob",
    "mask_token_id", "model_dtype",
)


def stored_reward_models(value: Any) -> str | list[str] | None:
    """``--reward-model`` as stored: None, one folder (a string), or an ensemble's folders (a
    list, as JSON gives it back on --resume)."""
    if value is None:
        return None
    folders = [value] if isinstance(value, str) else value
    if not isinstance(folders, (list, tuple)) or not all(
            isinstance(f, str) and f.strip() for f in folders):
        raise ConfigError(f"reward_model must be a folder or a list of folders; got {value!r}")
    if not folders:
        return None
    return folders[0] if len(folders) == 1 else list(folders)


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
class DiffusionConfig:
    """The masked-diffusion sampler of ``--policy diffusion`` (LLaDA;
    docs/diffusion.md). For diffusion the answer length is ``max_new_tokens``, temperature may
    be 0 (argmax) and ``top_p`` does not apply."""

    diffusion_steps: int | None = field(default=None, metadata={
        "help": "Diffusion: denoising iterations per answer, split evenly over the blocks.",
        "default_text": "max-new-tokens"})
    block_length: int | None = field(default=None, metadata={
        "help": "Diffusion: tokens per block, filled left to right.",
        "default_text": "max-new-tokens"})
    remasking: Remasking = field(default="low_confidence", metadata={
        "help": "Diffusion: which predictions stay masked each iteration."})
    diffusion_logprob: DiffusionLogprob = field(default="clean", metadata={
        "help": "Diffusion: log-prob estimate of an answer; clean = the LLaDA LoRA paper's pass over the "
                "finished answer, masked = fully masked pass (ELBO t=1 term)."})
    mask_token_id: int | None = field(default=None, metadata={
        "help": "Diffusion: mask token id.",
        "default_text": "the tokenizer's"})
    trust_remote_code: bool = field(default=False, metadata={
        "help": "Diffusion: allow a model's own Python code (needed for LLaDA); never by default."})


@dataclass
class GRPOConfig:
    """Everything a ``fairguard train grpo`` run needs; validated on construction.

    One *step* is one optimizer update over ``prompts_per_step`` prompts x ``num_generations``
    completions (per process), split into ``gradient_accumulation_steps`` micro-batches.
    With ``num_iterations`` > 1 a batch of completions is reused for that many steps, with the
    log-probs of the policy that sampled it as the "old" log-probs of the clipped ratio.
    """

    model: str = field(default="smollm2-135m-instruct", metadata={
        "help": "Policy LM: embedded name, folder or hub id."})
    algorithm: Algorithm = field(default="grpo", metadata={
        "help": "GRPO, or the LLaDA LoRA paper's REINFORCE."})
    rewards: str | None = field(default=None, metadata={
        "help": "Reward weights over reward heads, e.g. "
                "fairness=1,relevance=0.75,fluency=0.75,gender-bias=0.3.",
        "aliases": ("reward",),
        "default_text": "gender-bias=1 without --reward-model"})
    reward_options: Any = field(default=None, metadata={
        "help": "{reward: {option: value}} for the rewards (YAML only), e.g. "
                "{context-answer: {declined: -0.5}}.", "cli": False})
    reward_model: str | list[str] | None = field(default=None, metadata={
        "help": "Trained reward-model folder; its heads (fairness, relevance, fluency) become "
                "rewards. Repeat for an ensemble (YAML: a list): each head combines the "
                "members' scores by --reward-ensemble.", "multiple": True})
    reward_ensemble: Ensemble = field(default="mean", metadata={
        "help": "How an ensemble's scores of one head combine: their mean, or their minimum "
                "(the most pessimistic member)."})
    data: str | None = field(default=None, metadata={
        "help": "Dataset folder from `fairguard data build` (train split for training, test split"
                " held out).",
        "default_text": "built-in prompts"})
    keyed_share: float | None = field(default=None, metadata={
        "help": "Share of the training prompts drawn from the --data rows that carry an answer "
                "key (the \"who?\" questions the context-answer reward reads): keyed prompts are "
                "repeated (or sampled) in each epoch's prompt order to reach it.",
        "default_text": "the dataset's own share"})
    # see fairguard/training/aggregation.py; None: decoupled for GRPO, product for REINFORCE
    reward_aggregation: Aggregation | None = field(default=None, metadata={
        "help": "Heads -> one reward: weighted sum (TRL), weighted product (every head must be "
                "high), or decoupled (GDPO: each head normalised in its group, then summed).",
        "default_text": "sum; product with --algorithm reinforce"})
    # GRPO (TRL's GRPOTrainer definitions)
    loss_type: LossType = field(default="grpo", metadata={
        "help": "GRPO loss normalisation (TRL's loss_type)."})
    scale_rewards: ScaleRewards = field(default="group", metadata={
        "help": "Advantage scaling by the reward std of the group, the batch, or none."})
    num_generations: int = field(default=4, metadata={"help": "Completions per prompt G."})
    prompts_per_step: int = field(default=4, metadata={"help": "Prompts per step and process B."})
    max_new_tokens: int = field(default=32, metadata={"help": "Completion length limit."})
    temperature: float = field(default=0.7, metadata={"help": "Sampling temperature."})
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling p (causal policy)."})
    epsilon: float = field(default=0.2, metadata={"help": "Clip range."})
    epsilon_high: float | None = field(default=None, metadata={
        "help": "Upper clip range (DAPO).",
        "default_text": "epsilon"})
    beta: float = field(default=0.04, metadata={
        "help": "KL coefficient (GRPO); TRL's default is 0."})
    num_iterations: int = field(default=1, metadata={"help": "Updates per sampled batch."})
    # REINFORCE (the LLaDA LoRA paper): R = reward - kl_lambda * KL(policy || base), loss -mean(logp_sum * R)
    kl_lambda: float = field(default=0.1, metadata={
        "help": "KL weight inside the REINFORCE reward."})
    baseline: Baseline = field(default="none", metadata={"help": "REINFORCE baseline."})
    # optimisation
    gradient_accumulation_steps: int = field(default=1, metadata={
        "help": "Micro-batches per step."})
    learning_rate: float = field(default=2e-4, metadata={
        "help": "AdamW learning rate.",
        "aliases": ("lr",)})
    lr_schedule: Schedule = field(default="constant", metadata={"help": "Learning-rate schedule."})
    warmup_steps: int = field(default=0, metadata={
        "help": "Warmup steps of the linear / cosine schedule."})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay."})
    max_grad_norm: float = field(default=1.0, metadata={"help": "Gradient clipping norm."})
    max_steps: int = field(default=160, metadata={"help": "Optimizer steps."})
    # LoRA
    lora_r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha."})
    lora_dropout: float = field(default=0.0, metadata={"help": "LoRA dropout."})
    lora_targets: str = field(default="q_proj,k_proj,v_proj,o_proj", metadata={
        "help": "Comma list of module names (auto: the diffusion policy's choice)."})
    # run
    seed: int = field(default=0, metadata={"help": "Random seed."})
    save_every: int = field(default=10, metadata={"help": "Checkpoint every N steps."})
    eval_prompts: int = field(default=32, metadata={
        "help": "Held-out prompts for the before/after evaluation."})
    eval_max_new_tokens: int | None = field(default=None, metadata={
        "help": "Answer length of the before/after evaluation.",
        "default_text": "max-new-tokens"})
    eval: bool = field(default=True, metadata={
        "help": "Evaluate the held-out prompts before and after training."})
    mixed_precision: MixedPrecision = field(default="auto", metadata={
        "help": "accelerate's mixed precision."})
    # policy family: "causal" (generate left to right) or "diffusion" (a masked LM that denoises
    # a fully masked answer; its sampler options are in ``diffusion``)
    policy: PolicyFamily = field(default="causal", metadata={
        "help": "Policy family: causal LM, or a masked LM sampled as a masked-diffusion LM "
                "(LLaDA, as in reward-guided LoRA; docs/diffusion.md)."})
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    model_dtype: ModelDtype = field(default="float32", metadata={
        "help": "Weights dtype when loading the model (bfloat16 halves memory on a GPU)."})
    sampling_dtype: SamplingDtype = field(default="float32", metadata={
        "help": "Dtype of the decoding copies of a causal policy's linear weights when sampling "
                "on a CPU whose oneDNN computes bfloat16 natively (AVX-512 BF16, AMX; float32 "
                "elsewhere): bfloat16 halves the bytes that memory-bound decoding reads per "
                "token; training passes stay in the model's dtype."})

    def __post_init__(self) -> None:
        def choice(name: str, allowed: tuple[str, ...]) -> None:
            value = getattr(self, name)
            if value not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")

        def at_least(name: str, low: float) -> None:
            if getattr(self, name) < low:
                raise ConfigError(f"{name} must be >= {low}; got {getattr(self, name)!r}")

        choice("algorithm", ALGORITHMS)
        self.reward_options = plugin_options("reward_options", self.reward_options)
        self.reward_model = stored_reward_models(self.reward_model)
        choice("reward_ensemble", get_args(Ensemble))
        if self.reward_aggregation is None:
            self.reward_aggregation = "sum" if self.algorithm == "grpo" else "product"
        choice("reward_aggregation", AGGREGATIONS)
        choice("loss_type", LOSS_TYPES)
        choice("scale_rewards", SCALE_REWARDS)
        choice("lr_schedule", SCHEDULES)
        choice("baseline", BASELINES)
        choice("mixed_precision", ("auto", "no", "bf16", "fp16"))
        choice("sampling_dtype", get_args(SamplingDtype))
        for name in ("num_generations", "prompts_per_step", "max_new_tokens", "num_iterations",
                     "gradient_accumulation_steps", "max_steps", "lora_r", "lora_alpha",
                     "save_every", "eval_prompts"):
            at_least(name, 1)
        for name in ("epsilon", "beta", "kl_lambda", "weight_decay", "warmup_steps", "lora_dropout"):
            at_least(name, 0)
        if self.epsilon_high is not None:
            at_least("epsilon_high", 0)
        if self.keyed_share is not None:
            if not 0 < self.keyed_share < 1:
                raise ConfigError(f"keyed_share must be between 0 and 1 (exclusive); got {self.keyed_share!r}")
            if self.data is None:
                raise ConfigError("keyed_share needs --data, a folder from `fairguard data build` "
                                  "whose who-questions carry answer keys")
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
        d = self.diffusion
        if not isinstance(d, DiffusionConfig):
            raise ConfigError("diffusion must be a DiffusionConfig (or the flat options in YAML)")
        for name, value, allowed in (("policy", self.policy, POLICIES),
                                     ("remasking", d.remasking, REMASKING),
                                     ("diffusion_logprob", d.diffusion_logprob, DIFFUSION_LOGPROBS),
                                     ("model_dtype", self.model_dtype, MODEL_DTYPES)):
            if value not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
        if d.mask_token_id is not None and d.mask_token_id < 0:
            raise ConfigError(f"mask_token_id must be >= 0; got {d.mask_token_id!r}")
        if self.policy != "diffusion":
            if d.trust_remote_code:
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
        steps = self.diffusion.diffusion_steps
        return steps if steps is not None else self.max_new_tokens

    @property
    def denoising_block(self) -> int:
        """Block length of the diffusion sampler for training rollouts."""
        block = self.diffusion.block_length
        return block if block is not None else self.max_new_tokens

    @property
    def eval_block(self) -> int:
        """Block length for the evaluation answers (their whole length without block_length)."""
        if self.diffusion.block_length is not None:
            return self.diffusion.block_length
        return self.eval_max_new_tokens or self.max_new_tokens

    @property
    def eval_steps(self) -> int:
        """Denoising iterations for the evaluation answers: as many per block as in training,
        or as many per token when there is one block."""
        length = self.eval_max_new_tokens or self.max_new_tokens
        block = self.diffusion.block_length
        if block is not None:
            per_block = self.denoising_steps // max(1, self.max_new_tokens // self.denoising_block)
            return per_block * max(1, length // block)
        return max(1, round(self.denoising_steps * length / self.max_new_tokens))

    def to_dict(self) -> dict[str, Any]:
        """The options as one flat dict (the sub-config's options at the top, as on the CLI)."""
        return config_dict(self)

    @classmethod
    def from_dict(cls, options: dict[str, Any]) -> GRPOConfig:
        """A config from flat options such as a saved :meth:`to_dict` (unknown keys ignored)."""
        from fairguard.config import build_config, config_options

        known = {o.name for o in config_options(cls)}
        return build_config(cls, None, **{k: v for k, v in options.items() if k in known})
