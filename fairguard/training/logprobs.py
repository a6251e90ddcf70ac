"""Per-token log-probabilities of completions under the policy and under the base model.

The reference (base) model is the same peft model with its adapter disabled
(``with model.disable_adapter():``); no second copy of the weights is ever made.
"""

from __future__ import annotations

import contextlib
import functools
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import torch


def position_ids_from_mask(mask: torch.Tensor) -> torch.Tensor:
    """Positions that skip left padding, as ``generate`` uses them."""
    positions = mask.long().cumsum(-1) - 1
    return positions.clamp(min=0)


def completion_logits(model: Any, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor,
                      completion_ids: torch.Tensor, completion_mask: torch.Tensor,
                      temperature: float = 1.0) -> torch.Tensor:
    """Float32 logits (divided by ``temperature``) that predict each completion token: (N, C, V).

    Completions that share a prompt (GRPO's G per prompt) share one pass over it: each distinct
    prompt runs once and its cached keys and values serve all of its completions (gradients
    flow back through the cache), which saves (G - 1) / G of the prompt's compute.
    """
    logits = _shared_prompt_logits(model, prompt_ids, prompt_mask, completion_ids, completion_mask)
    if logits is None:
        logits = _full_sequence_logits(model, prompt_ids, prompt_mask, completion_ids,
                                       completion_mask)
    logits = logits.float()
    return logits / temperature if temperature != 1.0 else logits


def _full_sequence_logits(model: Any, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor,
                          completion_ids: torch.Tensor, completion_mask: torch.Tensor
                          ) -> torch.Tensor:
    """One pass over every row's prompt + completion."""
    input_ids = torch.cat([prompt_ids, completion_ids], dim=1)
    attention_mask = torch.cat([prompt_mask, completion_mask], dim=1)
    keep = completion_ids.shape[1]
    kwargs = {"input_ids": input_ids, "attention_mask": attention_mask,
              "position_ids": position_ids_from_mask(attention_mask), "use_cache": False}
    logits = forward_keeping(model, keep + 1, **kwargs).logits
    return logits[:, -(keep + 1):-1, :]


def forward_keeping(model: Any, keep: int, **kwargs: Any) -> Any:
    """``model(**kwargs)`` computing logits for the last ``keep`` positions only where the model
    takes ``logits_to_keep``, for every position where it does not. Any other error raises."""
    try:
        return model(**kwargs, logits_to_keep=keep)
    except TypeError as exc:
        if "logits_to_keep" not in str(exc):
            raise
        return model(**kwargs)


# Models whose forward returned no selectable key/value cache: the shared pass is not tried again.
_NO_SHARED_CACHE: weakref.WeakSet[Any] = weakref.WeakSet()


def shared_prompt_pass(model: Any, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor
                       ) -> tuple[Any, torch.Tensor] | None:
    """Run each distinct prompt row once with a key/value cache; return the cache selected back
    to every row and each row's last-position logits. None when no two rows share a prompt or
    the model cannot do it (no cache: found out once per model, on its first call; DDP allows
    one forward per backward)."""
    if isinstance(model, torch.nn.parallel.DistributedDataParallel) or prompt_ids.shape[1] == 0:
        return None
    try:
        if model in _NO_SHARED_CACHE:
            return None
    except TypeError:  # not weak-referenceable: always try
        pass
    width = prompt_ids.shape[1]
    rows = torch.cat([prompt_ids, prompt_mask.to(prompt_ids.dtype)], dim=1)
    distinct, inverse = torch.unique(rows, dim=0, return_inverse=True)
    if len(distinct) == len(rows):
        return None
    mask = distinct[:, width:].to(prompt_mask.dtype)
    out = forward_keeping(model, 1, input_ids=distinct[:, :width], attention_mask=mask,
                          position_ids=position_ids_from_mask(mask), use_cache=True)
    cache = getattr(out, "past_key_values", None)
    if cache is None or not hasattr(cache, "batch_select_indices"):
        try:
            _NO_SHARED_CACHE.add(model)
        except TypeError:
            pass
        return None
    cache.batch_select_indices(inverse)
    return cache, out.logits[:, -1:, :][inverse]


def _shared_prompt_logits(model: Any, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor,
                          completion_ids: torch.Tensor, completion_mask: torch.Tensor
                          ) -> torch.Tensor | None:
    """The distinct prompts once (:func:`shared_prompt_pass`), then every completion on its
    prompt's cache; None where the shared pass does not apply."""
    shared = shared_prompt_pass(model, prompt_ids, prompt_mask)
    if shared is None:
        return None
    cache, first = shared  # first: the logits that predict each completion's first token
    if completion_ids.shape[1] == 1:
        return first
    attention_mask = torch.cat([prompt_mask, completion_mask], dim=1)[:, :-1]
    rest = model(input_ids=completion_ids[:, :-1], attention_mask=attention_mask,
                 position_ids=position_ids_from_mask(attention_mask)[:, prompt_ids.shape[1]:],
                 past_key_values=cache, use_cache=True).logits
    return torch.cat([first, rest], dim=1)


def token_logprobs(logits: torch.Tensor, token_ids: torch.Tensor) -> torch.Tensor:
    """log softmax(logits)[token] for every position: (N, C)."""
    picked = torch.gather(logits, -1, token_ids.unsqueeze(-1)).squeeze(-1)
    return picked - torch.logsumexp(logits, dim=-1)


LogitsFn = Callable[..., torch.Tensor]
"""``logits_fn(model, prompt_ids, prompt_mask, completion_ids, completion_mask, temperature)``:
float32 logits that score each completion token, (N, C, V). :func:`completion_logits` for causal
LMs; a policy family passes its own (the masked-diffusion estimate)."""


def completion_logprobs(model: Any, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor,
                        completion_ids: torch.Tensor, completion_mask: torch.Tensor,
                        temperature: float = 1.0, logits_fn: LogitsFn = completion_logits
                        ) -> torch.Tensor:
    """Per-token log-probs of the completion tokens under ``model`` (grad flows if enabled)."""
    logits = logits_fn(model, prompt_ids, prompt_mask, completion_ids, completion_mask, temperature)
    return token_logprobs(logits, completion_ids)


@contextlib.contextmanager
def adapter_disabled(model: Any) -> Iterator[Any]:
    """The base model: the peft ``model`` with its adapter switched off inside the block."""
    if hasattr(model, "disable_adapter"):
        with model.disable_adapter():
            yield model
    else:  # not a peft model: it is its own reference
        yield model


def batched(fn: Any, tensors: tuple[torch.Tensor, ...], micro_batch: int | None) -> torch.Tensor:
    """Apply ``fn(*rows)`` over row chunks of ``tensors`` and concatenate (saves memory)."""
    n = tensors[0].shape[0]
    step = n if not micro_batch else micro_batch
    return torch.cat([fn(*(t[i:i + step] for t in tensors)) for i in range(0, n, step)], dim=0)


@torch.no_grad()
def policy_logprobs(model: Any, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor,
                    completion_ids: torch.Tensor, completion_mask: torch.Tensor,
                    temperature: float = 1.0, micro_batch: int | None = None,
                    logits_fn: LogitsFn = completion_logits) -> torch.Tensor:
    """Per-token log-probs under the current policy, no grad (the "old" log-probs)."""
    rows = functools.partial(completion_logprobs, model, temperature=temperature,
                             logits_fn=logits_fn)
    return batched(rows, (prompt_ids, prompt_mask, completion_ids, completion_mask), micro_batch)


@torch.no_grad()
def reference_logprobs(model: Any, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor,
                       completion_ids: torch.Tensor, completion_mask: torch.Tensor,
                       temperature: float = 1.0, micro_batch: int | None = None,
                       logits_fn: LogitsFn = completion_logits) -> torch.Tensor:
    """Per-token log-probs under the base model (adapter disabled), no grad."""
    with adapter_disabled(model):
        return policy_logprobs(model, prompt_ids, prompt_mask, completion_ids, completion_mask,
                               temperature, micro_batch, logits_fn)


def full_kl(policy_logits: torch.Tensor, reference_logits: torch.Tensor,
            mask: torch.Tensor) -> torch.Tensor:
    """The LLaDA LoRA paper's KL: per sequence, mean over generated tokens of sum_v p log(p / q): (N,)."""
    logp = torch.log_softmax(policy_logits, dim=-1)
    logq = torch.log_softmax(reference_logits, dim=-1)
    per_token = (logp.exp() * (logp - logq)).sum(-1)
    mask = mask.to(per_token.dtype)
    return (per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)


@torch.no_grad()
def sequence_kl(model: Any, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor,
                completion_ids: torch.Tensor, completion_mask: torch.Tensor,
                temperature: float = 1.0, micro_batch: int | None = None,
                logits_fn: LogitsFn = completion_logits) -> torch.Tensor:
    """Per-sequence mean full-vocabulary KL(policy || base) over completion tokens: (N,)."""

    def one(p_ids: torch.Tensor, p_mask: torch.Tensor, c_ids: torch.Tensor,
            c_mask: torch.Tensor) -> torch.Tensor:
        policy = logits_fn(model, p_ids, p_mask, c_ids, c_mask, temperature)
        with adapter_disabled(model):
            ref = logits_fn(model, p_ids, p_mask, c_ids, c_mask, temperature)
        return full_kl(policy, ref, c_mask)

    return batched(one, (prompt_ids, prompt_mask, completion_ids, completion_mask), micro_batch)
