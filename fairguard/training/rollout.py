"""Batched sampling of G completions per prompt, with the masks the losses need."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from fairguard.generation import format_prompts
from fairguard.training.logprobs import shared_prompt_pass


@dataclass
class Rollout:
    """``N = len(prompts) x G`` sampled completions, grouped: rows ``i*G .. i*G+G-1`` share a prompt.

    ``prompt_ids`` are left-padded; ``completion_mask`` is 1 up to and including the first EOS.
    """

    prompts: list[str]
    completions: list[str]
    prompt_ids: torch.Tensor
    prompt_mask: torch.Tensor
    completion_ids: torch.Tensor
    completion_mask: torch.Tensor

    @property
    def num_tokens(self) -> int:
        return int(self.completion_mask.sum().item())

    def slice(self, start: int, stop: int) -> Rollout:
        """Rows ``start:stop`` (a micro-batch)."""
        return Rollout(self.prompts[start:stop], self.completions[start:stop],
                       self.prompt_ids[start:stop], self.prompt_mask[start:stop],
                       self.completion_ids[start:stop], self.completion_mask[start:stop])


def completion_mask(completion_ids: torch.Tensor, eos_token_id: int | None) -> torch.Tensor:
    """1 for tokens up to and including the first EOS of each row, 0 after it."""
    n, length = completion_ids.shape
    if eos_token_id is None:
        return torch.ones_like(completion_ids)
    is_eos = completion_ids == eos_token_id
    first = torch.full((n,), length, dtype=torch.long, device=completion_ids.device)
    has = is_eos.any(dim=1)
    first[has] = is_eos.int().argmax(dim=1)[has]
    positions = torch.arange(length, device=completion_ids.device).expand(n, -1)
    return (positions <= first.unsqueeze(1)).long()


def generation_config(tokenizer: Any, max_new_tokens: int, temperature: float, top_p: float,
                      do_sample: bool = True) -> Any:
    """A fresh sampling config (ignores the model's own defaults such as repetition penalties)."""
    from transformers import GenerationConfig

    kwargs: dict[str, Any] = {"max_new_tokens": max_new_tokens, "do_sample": do_sample,
                              "pad_token_id": tokenizer.pad_token_id,
                              "eos_token_id": tokenizer.eos_token_id}
    if do_sample:
        kwargs.update(temperature=temperature, top_p=top_p, top_k=0)
    return GenerationConfig(**kwargs)


@torch.no_grad()
def sample_completions(model: Any, tokenizer: Any, prompts: Sequence[str], num_generations: int,
                       max_new_tokens: int, temperature: float = 1.0, top_p: float = 1.0,
                       do_sample: bool = True) -> Rollout:
    """Sample ``num_generations`` completions for each prompt in one batched ``generate`` call
    (the KV cache of each prompt computed once and shared by its completions)."""
    device = next(model.parameters()).device
    repeated = [p for p in prompts for _ in range(num_generations)]
    tokenizer.padding_side = "left"
    enc = tokenizer(format_prompts(tokenizer, repeated), return_tensors="pt", padding=True,
                    add_special_tokens=not getattr(tokenizer, "chat_template", None))
    prompt_ids = enc["input_ids"].to(device)
    prompt_mask = enc["attention_mask"].to(device)
    was_training = model.training
    model.eval()
    try:
        # all but the last prompt token once per distinct prompt; generate starts from the last
        shared = shared_prompt_pass(model, prompt_ids[:, :-1], prompt_mask[:, :-1])
        out = model.generate(input_ids=prompt_ids, attention_mask=prompt_mask,
                             past_key_values=shared[0] if shared is not None else None,
                             generation_config=generation_config(tokenizer, max_new_tokens,
                                                                 temperature, top_p, do_sample))
    finally:
        model.train(was_training)
    completion_ids = out[:, prompt_ids.shape[1]:]
    if completion_ids.shape[1] == 0:  # every row ended at once; keep one (masked) column
        completion_ids = torch.full((len(repeated), 1), tokenizer.pad_token_id, device=device)
    mask = completion_mask(completion_ids, tokenizer.eos_token_id)
    texts = tokenizer.batch_decode(completion_ids * mask + (1 - mask) * tokenizer.pad_token_id,
                                   skip_special_tokens=True)
    return Rollout(repeated, [t.strip() for t in texts], prompt_ids, prompt_mask,
                   completion_ids, mask)
