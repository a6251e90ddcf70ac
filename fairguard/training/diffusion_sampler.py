"""LLaDA's masked-diffusion sampler: denoise a fully masked answer in blocks.

The prompt (left-padded, batched) is followed by ``gen_length`` mask tokens. The answer is
split into ``gen_length / block_length`` blocks filled left to right (semi-autoregressive);
``steps`` iterations in all are split evenly across the blocks. In each iteration of a block:

1. logits ``l`` of the whole sequence come from the model (the LoRA policy);
2. Gumbel noise at temperature ``T``: ``l~ = exp(l) / (-ln U)^T`` with ``U ~ Uniform(0, 1)``
   (float64, as LLaDA's ``add_gumbel_noise``); ``x0 = argmax l~`` at every position. ``T = 0`` is
   the plain argmax (deterministic); otherwise ``x0`` is a sample of ``softmax(l / T)``;
3. the confidence of each still-masked position of the current block is ``softmax(l)[x0]``
   (``low_confidence``) or a uniform random number (``random``); positions of later blocks
   never count;
4. the ``k`` most confident masked positions take their ``x0`` (``k`` spreads the block's masks
   evenly over its iterations, LLaDA's ``get_num_transfer_tokens``); the rest stay masked
   (are "re-masked") for the next iteration.

This is LLaDA's ``generate.py`` with ``cfg_scale = 0`` (the LLaDA LoRA paper trains with no classifier-free
guidance; other scales are rejected), batched with an attention mask over left padding. Only
the current block's logits enter steps 2-4 (the others could not be chosen anyway), which keeps
the float64 work to ``block_length`` positions, and the mask token itself is never chosen
(its logit is set to the lowest finite value, so every mask is filled; LLaDA never predicts it anyway). Everything
after the first end-of-sequence token
of an answer is masked out of rewards and losses (``completion_mask``), as LLaDA's chat pads the
answer with EOS tokens after ``<|eot_id|>``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import torch

from fairguard.errors import ConfigError
from fairguard.training.config import REMASKING, check_schedule

# end-of-answer tokens of masked-diffusion chat models (LLaDA: <|eot_id|>, then <|endoftext|>)
STOP_TOKENS = ("<|eot_id|>", "<|endoftext|>", "<|im_end|>")
LLADA_MASK_TOKEN = "<|mdm_mask|>"


def num_transfer_tokens(block_mask: torch.Tensor, steps: int) -> torch.Tensor:
    """Tokens to unmask at each of ``steps`` iterations, per row: (N, steps) (LLaDA's schedule)."""
    count = block_mask.sum(dim=1, keepdim=True)
    base = count // steps
    remainder = count % steps
    out = torch.zeros(count.size(0), steps, device=block_mask.device, dtype=torch.int64) + base
    columns = torch.arange(steps, device=block_mask.device).unsqueeze(0)
    return out + (columns < remainder).long()


def add_gumbel_noise(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """``exp(l) / (-ln U)^T`` in float64 (float32 on MPS); its argmax samples ``softmax(l / T)``."""
    dtype = torch.float32 if logits.device.type == "mps" else torch.float64
    logits = logits.to(dtype)
    if temperature == 0:
        return logits  # the argmax of exp(l) is the argmax of l; no noise drawn
    noise = torch.rand_like(logits, dtype=dtype)
    return logits.exp() / (-torch.log(noise)) ** temperature


def accepts_position_ids(model: Any) -> bool:
    """Whether the (base) model's forward takes ``position_ids`` (BERT-likes do; LLaDA does not)."""
    base = model
    for attr in ("module", "get_base_model"):  # DDP wrapper, then peft
        if attr == "module" and hasattr(base, "module"):
            base = base.module
        if attr == "get_base_model" and hasattr(base, "get_base_model"):
            base = base.get_base_model()
    try:
        return "position_ids" in inspect.signature(base.forward).parameters
    except (TypeError, ValueError):
        return False


def forward_logits(model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                   position_ids: bool) -> torch.Tensor:
    """The mask predictor's logits ``(N, T, V)``; positions skip left padding when supported."""
    kwargs: dict[str, Any] = {"input_ids": input_ids, "attention_mask": attention_mask}
    if position_ids:
        kwargs["position_ids"] = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
    return model(**kwargs).logits


def without_mask_token(logits: torch.Tensor, mask_token_id: int) -> torch.Tensor:
    """``logits`` with the mask token made impossible (a filled position must not stay masked).

    The lowest finite value rather than -inf keeps ``p * (log p - log q)`` of a KL at 0, not NaN.
    """
    if mask_token_id >= logits.shape[-1]:
        return logits
    logits = logits.clone()
    logits[..., mask_token_id] = torch.finfo(logits.dtype).min
    return logits


@torch.no_grad()
def diffusion_generate(model: Any, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor, *,
                       mask_token_id: int, gen_length: int, steps: int, block_length: int,
                       temperature: float = 0.0, remasking: str = "low_confidence",
                       cfg_scale: float = 0.0, position_ids: bool | None = None,
                       on_step: Callable[[int, int, torch.Tensor], None] | None = None
                       ) -> torch.Tensor:
    """Denoise ``gen_length`` masked tokens after each (left-padded) prompt: (N, gen_length).

    ``on_step(block, iteration, x)`` is called after every iteration with the whole sequence
    (prompt + answer so far, mask tokens where still masked); tests use it to watch the order.
    """
    if cfg_scale != 0:
        raise ConfigError(f"cfg_scale {cfg_scale!r} is not supported: the sampler implements seed "
                          "003's generation without classifier-free guidance (cfg_scale 0)")
    if remasking not in REMASKING:
        raise ConfigError(f"remasking must be one of {', '.join(REMASKING)}; got {remasking!r}")
    if temperature < 0:
        raise ConfigError(f"temperature must be >= 0; got {temperature!r}")
    per_block = check_schedule(gen_length, steps, block_length)
    if position_ids is None:
        position_ids = accepts_position_ids(model)
    n, prompt_len = prompt_ids.shape
    device = prompt_ids.device
    x = torch.full((n, prompt_len + gen_length), mask_token_id, dtype=torch.long, device=device)
    x[:, :prompt_len] = prompt_ids
    attention_mask = torch.cat([prompt_mask.long(),
                                torch.ones(n, gen_length, dtype=torch.long, device=device)], dim=1)
    for block in range(gen_length // block_length):
        start = prompt_len + block * block_length
        stop = start + block_length
        schedule = num_transfer_tokens(x[:, start:stop] == mask_token_id, per_block)
        for i in range(per_block):
            window = x[:, start:stop]
            masked = window == mask_token_id
            logits = forward_logits(model, x, attention_mask, position_ids)[:, start:stop]
            logits = without_mask_token(logits, mask_token_id)
            x0 = torch.argmax(add_gumbel_noise(logits, temperature), dim=-1)
            if remasking == "low_confidence":
                dtype = torch.float32 if device.type == "mps" else torch.float64
                probs = torch.softmax(logits.to(dtype), dim=-1)
                x0_p = torch.gather(probs, -1, x0.unsqueeze(-1)).squeeze(-1)
            else:
                x0_p = torch.rand(x0.shape, device=device)
            confidence = torch.where(masked, x0_p, torch.full_like(x0_p, -float("inf")))
            transfer = torch.zeros_like(masked)
            for row in range(n):
                k = int(schedule[row, i])
                if k:
                    transfer[row, torch.topk(confidence[row], k=k).indices] = True
            x[:, start:stop] = torch.where(transfer, x0, window)
            if on_step is not None:
                on_step(block, i, x.clone())
    return x[:, prompt_len:]


def stop_token_ids(tokenizer: Any) -> list[int]:
    """Token ids that end an answer: EOS, chat end-of-turn tokens, or [SEP] for BERT-likes."""
    ids: list[int] = []
    if tokenizer.eos_token_id is not None:
        ids.append(int(tokenizer.eos_token_id))
    vocab = tokenizer.get_vocab()
    ids.extend(int(vocab[t]) for t in STOP_TOKENS if t in vocab)
    if not ids and getattr(tokenizer, "sep_token_id", None) is not None:
        ids.append(int(tokenizer.sep_token_id))
    return sorted(set(ids))


def answer_mask(completion_ids: torch.Tensor, stop_ids: Sequence[int]) -> torch.Tensor:
    """1 for answer tokens up to and including the first stop token of each row, 0 after it."""
    n, length = completion_ids.shape
    if not stop_ids:
        return torch.ones_like(completion_ids)
    is_stop = torch.isin(completion_ids, torch.tensor(list(stop_ids), device=completion_ids.device))
    first = torch.full((n,), length, dtype=torch.long, device=completion_ids.device)
    has = is_stop.any(dim=1)
    first[has] = is_stop.int().argmax(dim=1)[has]
    positions = torch.arange(length, device=completion_ids.device).expand(n, -1)
    return (positions <= first.unsqueeze(1)).long()


def resolve_mask_token_id(tokenizer: Any, model: Any = None, override: int | None = None) -> int:
    """The mask token id: ``override``, the tokenizer's mask token, the model config's
    ``mask_token_id`` (LLaDA) or LLaDA's ``<|mdm_mask|>``; ConfigError when there is none."""
    if override is not None:
        vocab_size = len(tokenizer)
        config_size = getattr(getattr(model, "config", None), "vocab_size", None) or vocab_size
        if not 0 <= override < max(vocab_size, config_size):
            raise ConfigError(f"mask_token_id {override} is outside the vocabulary (size "
                              f"{max(vocab_size, config_size)})")
        return int(override)
    if getattr(tokenizer, "mask_token_id", None) is not None:
        return int(tokenizer.mask_token_id)
    from_config = getattr(getattr(model, "config", None), "mask_token_id", None)
    if from_config is not None:
        return int(from_config)
    vocab = tokenizer.get_vocab()
    if LLADA_MASK_TOKEN in vocab:
        return int(vocab[LLADA_MASK_TOKEN])
    raise ConfigError("the model has no mask token (its tokenizer has no mask_token and its config "
                      "no mask_token_id), so it cannot be a masked-diffusion policy; use a masked "
                      "LM, pass --mask-token-id, or train it with --policy causal")
