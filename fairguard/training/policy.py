"""Policy families the trainer can train: causal LMs and masked-diffusion LMs.

The trainer's loop is the same for both; a :class:`Policy` supplies what differs:

- ``load()``: the base model and tokenizer;
- ``lora_targets(model)`` / ``task_type``: where the LoRA adapter goes;
- ``sample(...)``: a :class:`~fairguard.training.rollout.Rollout` of G completions per prompt;
- ``completion_logits(...)``: logits that score each completion token (grad flows), from which
  per-token log-probs, reference log-probs (adapter disabled), "old" log-probs and the LLaDA LoRA paper's
  full-vocabulary KL follow;
- ``evaluation_generator(...)``: how held-out answers are generated for before/after evaluation.

:class:`CausalPolicy` wraps the original rollout / logprobs code unchanged (same numbers, same
TRL parity). :class:`DiffusionPolicy` uses the LLaDA LoRA paper's masked-diffusion sampler
(``diffusion_sampler``) and a single-pass log-prob estimate (``diffusion_logprobs``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from fairguard.errors import ConfigError
from fairguard.models import load_masked_lm, torch_dtype
from fairguard.training import logprobs as lp
from fairguard.training.config import GRPOConfig
from fairguard.training.rollout import Rollout, format_prompts

Generator = Callable[[Sequence[str], int], list[str]]

# LoRA targets by masked-LM architecture, tried in order; the family with most modules present wins
MASKED_LM_TARGETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("llada", ("q_proj", "k_proj", "v_proj", "attn_out")),  # the LLaDA LoRA paper's targets
    ("llama-like", ("q_proj", "k_proj", "v_proj", "o_proj")),  # Dream and other decoder-based
    ("bert", ("query", "key", "value", "attention.output.dense")),  # BERT, RoBERTa, ELECTRA, ALBERT
    ("deberta", ("query_proj", "key_proj", "value_proj", "attention.output.dense")),
    ("modernbert", ("attn.Wqkv", "attn.Wo")),
    ("distilbert", ("q_lin", "k_lin", "v_lin", "out_lin")),
)


def _has_module(names: Sequence[str], target: str) -> bool:
    return any(name == target or name.endswith("." + target) for name in names)


def auto_lora_targets(model: Any, families: Sequence[tuple[str, Sequence[str]]] = MASKED_LM_TARGETS
                      ) -> list[str]:
    """The attention modules of ``model`` to adapt, by architecture (peft's suffix matching)."""
    names = [name for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)
             or type(module).__name__.endswith("Linear")]
    best: list[str] = []
    for _, targets in families:
        present = [t for t in targets if _has_module(names, t)]
        if len(present) > len(best):
            best = present
    if not best:
        raise ConfigError(f"cannot tell which LoRA modules fit {type(model).__name__}; name them with "
                          "--lora-targets (linear layers, e.g. query,value)")
    return best


def disable_dropout(model: Any) -> None:
    """Switch off every dropout of ``model``: ``nn.Dropout`` modules and the float rates that
    SDPA attention layers read directly (BERT's ``dropout_prob``, ModernBERT's
    ``attention_dropout``, ...)."""
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
        for attr in ("dropout_prob", "attention_dropout", "dropout_p", "attn_dropout"):
            if isinstance(getattr(module, attr, None), float):
                setattr(module, attr, 0.0)


class Policy:
    """A policy family; subclasses implement load, sample and completion_logits."""

    name = "policy"
    task_type: str | None = None

    def __init__(self, config: GRPOConfig):
        self.config = config

    # -- what subclasses provide
    def load(self) -> tuple[Any, Any]:
        """``(base_model, tokenizer)``, the model in eval mode."""
        raise NotImplementedError

    def lora_targets(self, model: Any) -> list[str]:
        """Module names the LoRA adapter wraps."""
        return self.config.targets

    def sample(self, model: Any, tokenizer: Any, prompts: Sequence[str], num_generations: int,
               max_new_tokens: int, temperature: float, top_p: float) -> Rollout:
        """``num_generations`` completions of each prompt (no grad)."""
        raise NotImplementedError

    def completion_logits(self, model: Any, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor,
                          completion_ids: torch.Tensor, completion_mask: torch.Tensor,
                          temperature: float = 1.0) -> torch.Tensor:
        """Float32 logits that score each completion token: (N, C, V)."""
        raise NotImplementedError

    def evaluation_generator(self, model: Any, tokenizer: Any) -> Generator | None:
        """``generate(prompts, max_new_tokens) -> answers`` for evaluation; None: the shared
        ``model.generate`` evaluation."""
        return None

    # -- derived from completion_logits (fairguard.training.logprobs)
    def completion_logprobs(self, model: Any, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor,
                            completion_ids: torch.Tensor, completion_mask: torch.Tensor,
                            temperature: float = 1.0) -> torch.Tensor:
        """Per-token log-probs of the completion tokens (grad flows if enabled): (N, C)."""
        return lp.completion_logprobs(model, prompt_ids, prompt_mask, completion_ids,
                                      completion_mask, temperature, self.completion_logits)

    def policy_logprobs(self, model: Any, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor,
                        completion_ids: torch.Tensor, completion_mask: torch.Tensor,
                        temperature: float = 1.0, micro_batch: int | None = None) -> torch.Tensor:
        """Per-token log-probs under the current policy, no grad (the "old" log-probs)."""
        return lp.policy_logprobs(model, prompt_ids, prompt_mask, completion_ids, completion_mask,
                                  temperature, micro_batch, self.completion_logits)

    def reference_logprobs(self, model: Any, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor,
                           completion_ids: torch.Tensor, completion_mask: torch.Tensor,
                           temperature: float = 1.0, micro_batch: int | None = None
                           ) -> torch.Tensor:
        """Per-token log-probs under the base model (adapter disabled), no grad."""
        return lp.reference_logprobs(model, prompt_ids, prompt_mask, completion_ids,
                                     completion_mask, temperature, micro_batch,
                                     self.completion_logits)

    def sequence_kl(self, model: Any, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor,
                    completion_ids: torch.Tensor, completion_mask: torch.Tensor,
                    temperature: float = 1.0, micro_batch: int | None = None) -> torch.Tensor:
        """Per-sequence mean full-vocabulary KL(policy || base) over completions, as reward-guided
        LoRA (Saouda et al., 2025) defines it: (N,)."""
        return lp.sequence_kl(model, prompt_ids, prompt_mask, completion_ids, completion_mask,
                              temperature, micro_batch, self.completion_logits)


class CausalPolicy(Policy):
    """A causal LM: ``generate`` rollouts, teacher-forced log-probs (the original code paths)."""

    name = "causal"
    task_type = "CAUSAL_LM"

    def load(self) -> tuple[Any, Any]:
        from fairguard.models import load_causal_lm

        cfg = self.config
        kwargs: dict[str, Any] = {}
        if cfg.model_dtype != "float32":
            kwargs["torch_dtype"] = torch_dtype(cfg.model_dtype)
        base, tokenizer = load_causal_lm(cfg.model, **kwargs)
        if tokenizer.pad_token_id is None:
            raise ConfigError(f"model {cfg.model!r} has no pad or eos token; set one in its tokenizer")
        return base, tokenizer

    def sample(self, model: Any, tokenizer: Any, prompts: Sequence[str], num_generations: int,
               max_new_tokens: int, temperature: float, top_p: float) -> Rollout:
        from fairguard.training.rollout import sample_completions

        return sample_completions(model, tokenizer, prompts, num_generations, max_new_tokens,
                                  temperature, top_p,
                                  weight_dtype=torch_dtype(self.config.sampling_dtype))

    def completion_logits(self, model: Any, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor,
                          completion_ids: torch.Tensor, completion_mask: torch.Tensor,
                          temperature: float = 1.0) -> torch.Tensor:
        return lp.completion_logits(model, prompt_ids, prompt_mask, completion_ids,
                                    completion_mask, temperature)


class DiffusionPolicy(Policy):
    """A masked LM used as a masked-diffusion policy (the LLaDA LoRA paper's LLaDA setting)."""

    name = "diffusion"
    task_type = None  # no peft task for masked LMs; a plain PeftModel

    def __init__(self, config: GRPOConfig):
        super().__init__(config)
        self.mask_token_id: int | None = None
        self.stop_ids: list[int] = []
        self.position_ids = False

    def load(self) -> tuple[Any, Any]:
        cfg = self.config
        model, tokenizer = load_masked_lm(cfg.model, trust_remote_code=cfg.diffusion.trust_remote_code,
                                          dtype=cfg.model_dtype)
        self.prepare(model, tokenizer)
        return model, tokenizer

    def prepare(self, model: Any, tokenizer: Any) -> None:
        """Make a loaded base model ready: dropout off (as TRL's GRPO does by default, so that
        sampling, old, new and reference log-probs see one deterministic model; encoder MLMs
        such as BERT ship with dropout 0.1), then :meth:`bind`."""
        disable_dropout(model)
        self.bind(model, tokenizer)

    def bind(self, model: Any, tokenizer: Any) -> None:
        """Read the mask / stop tokens and forward signature of an already loaded model."""
        from fairguard.training.diffusion_sampler import (
            accepts_position_ids,
            resolve_mask_token_id,
            stop_token_ids,
        )

        self.mask_token_id = resolve_mask_token_id(tokenizer, model, self.config.diffusion.mask_token_id)
        self.stop_ids = [i for i in stop_token_ids(tokenizer) if i != self.mask_token_id]
        self.position_ids = accepts_position_ids(model)
        if tokenizer.pad_token_id is None:
            if tokenizer.eos_token_id is None:
                raise ConfigError(f"model {self.config.model!r} has no pad or eos token; set one "
                                  "in its tokenizer")
            tokenizer.pad_token = tokenizer.eos_token

    def lora_targets(self, model: Any) -> list[str]:
        """``--lora-targets`` when given (or ``auto``), else the masked LM's attention modules."""
        from fairguard.training.config import GRPOConfig

        requested = self.config.lora_targets.strip()
        default = GRPOConfig.__dataclass_fields__["lora_targets"].default
        if requested in ("auto", default):
            return auto_lora_targets(model)
        return self.config.targets

    def _encode(self, tokenizer: Any, prompts: Sequence[str], device: torch.device
                ) -> tuple[torch.Tensor, torch.Tensor]:
        tokenizer.padding_side = "left"
        enc = tokenizer(format_prompts(tokenizer, prompts), return_tensors="pt", padding=True,
                        add_special_tokens=not getattr(tokenizer, "chat_template", None))
        return enc["input_ids"].to(device), enc["attention_mask"].to(device)

    @torch.no_grad()
    def sample(self, model: Any, tokenizer: Any, prompts: Sequence[str], num_generations: int,
               max_new_tokens: int, temperature: float, top_p: float = 1.0, *,
               steps: int | None = None, block_length: int | None = None) -> Rollout:
        from fairguard.training.diffusion_sampler import answer_mask, diffusion_generate

        cfg = self.config
        if self.mask_token_id is None:
            self.bind(model, tokenizer)
        device = next(model.parameters()).device
        repeated = [p for p in prompts for _ in range(num_generations)]
        prompt_ids, prompt_mask = self._encode(tokenizer, repeated, device)
        was_training = model.training
        model.eval()
        try:
            completion_ids = diffusion_generate(
                model, prompt_ids, prompt_mask, mask_token_id=self._bound_mask_token_id(),
                gen_length=max_new_tokens, steps=steps or cfg.denoising_steps,
                block_length=block_length or cfg.denoising_block, temperature=temperature,
                remasking=cfg.diffusion.remasking, position_ids=self.position_ids)
        finally:
            model.train(was_training)
        mask = answer_mask(completion_ids, self.stop_ids)
        pad = tokenizer.pad_token_id
        texts = tokenizer.batch_decode(completion_ids * mask + (1 - mask) * pad,
                                       skip_special_tokens=True)
        return Rollout(repeated, [t.strip() for t in texts], prompt_ids, prompt_mask,
                       completion_ids, mask)

    def _bound_mask_token_id(self) -> int:
        if self.mask_token_id is None:
            raise ConfigError("the diffusion policy has not read its model's mask token; call "
                              "load() or prepare(model, tokenizer) first")
        return self.mask_token_id

    def completion_logits(self, model: Any, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor,
                          completion_ids: torch.Tensor, completion_mask: torch.Tensor,
                          temperature: float = 1.0) -> torch.Tensor:
        from fairguard.training.diffusion_logprobs import diffusion_completion_logits

        return diffusion_completion_logits(
            model, prompt_ids, prompt_mask, completion_ids, completion_mask,
            mask_token_id=self._bound_mask_token_id(),
            estimator=self.config.diffusion.diffusion_logprob,
            temperature=temperature, position_ids=self.position_ids)

    def evaluation_generator(self, model: Any, tokenizer: Any) -> Generator:
        """Answers by the sampler at temperature 0 (argmax: the diffusion "greedy" decode)."""
        cfg = self.config

        def generate(prompts: Sequence[str], max_new_tokens: int, batch_size: int = 16) -> list[str]:
            steps, block = cfg.eval_steps, cfg.eval_block
            if max_new_tokens == cfg.max_new_tokens:
                steps, block = cfg.denoising_steps, cfg.denoising_block
            out: list[str] = []
            for i in range(0, len(prompts), batch_size):
                rollout = self.sample(model, tokenizer, prompts[i:i + batch_size], 1, max_new_tokens,
                                      0.0, steps=steps, block_length=block)
                out.extend(rollout.completions)
            return out

        return generate


POLICIES: dict[str, type[Policy]] = {"causal": CausalPolicy, "diffusion": DiffusionPolicy}


def make_policy(config: GRPOConfig) -> Policy:
    """The policy family ``config.policy`` names."""
    try:
        return POLICIES[config.policy](config)
    except KeyError:
        raise ConfigError(f"policy must be one of {', '.join(POLICIES)}; got {config.policy!r}") from None
