"""Batched sampling of G completions per prompt, with the masks the losses need."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from fairguard.generation import format_prompts
from fairguard.training.logprobs import forward_keeping, position_ids_from_mask, shared_prompt_pass


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


@contextlib.contextmanager
def decoding_linears(model: Any, rows: int = 16, weight_dtype: torch.dtype = torch.float32
                     ) -> Iterator[int]:
    """Inside the block, the linear layers of ``model`` are frozen copies made for no-grad
    decoding of ``rows``-row batches; the original layers are back on exit, also on error.

    Each plain LoRA linear layer of a peft model (active adapters, no variant such as DoRA, an
    ``nn.Linear`` base) becomes one layer whose weight is the base weight plus the adapters'
    updates: one product instead of three. On a CPU with oneDNN, that weight and every other
    float32 ``nn.Linear`` weight (the MLP, the LM head) is also prepacked for small batches
    (oneDNN's ``_reorder_linear_weight``, as torch.compile's CPU freezing does), which runs the
    skinny products of decoding about 1.5-3x faster at float32 precision. The base weights are
    never written (the new weights are copies, without gradient), so nothing drifts; the copies
    live only inside the block (at most one more copy of the linear weights). With
    ``weight_dtype=torch.bfloat16`` (where oneDNN computes bfloat16 natively) the prepacked copies
    are bfloat16 and each product's result, rounded to bfloat16, comes back as float32:
    decoding reads its weights from memory once per token, and half the bytes cost about half
    the time (the error, about 0.4 % of a product, only in sampling). Yields the number of
    replaced layers."""
    try:
        from peft.tuners.lora import Linear as LoraLinear
    except ImportError:  # pragma: no cover - peft is a dependency
        LoraLinear = ()  # noqa: N806
    swaps: list[tuple[torch.nn.Module, str, torch.nn.Module, torch.nn.Module]] = []
    try:
        with torch.no_grad():
            inside: tuple[str, ...] = ()  # names of LoRA layers met so far: their children are not swapped alone
            for name, module in list(model.named_modules()):
                if name.startswith(inside):
                    continue
                if isinstance(module, LoraLinear):
                    inside = (*inside, name + ".")
                    weight = _merged_weight(module)
                    if weight is None:
                        continue
                    bias = module.base_layer.bias
                elif type(module) is torch.nn.Linear:
                    weight, bias = module.weight, module.bias
                else:
                    continue
                fast = _packed_linear(weight, bias, rows, weight_dtype)
                if fast is None:
                    if not isinstance(module, LoraLinear):
                        continue  # without oneDNN a plain layer stays as it is
                    fast = _FrozenLinear(weight, bias)
                parent_name, _, child = name.rpartition(".")
                swaps.append((model.get_submodule(parent_name), child, module, fast))
        for parent, child, _, fast in swaps:
            setattr(parent, child, fast)
        yield len(swaps)
    finally:
        for parent, child, original, _ in swaps:
            setattr(parent, child, original)


def _merged_weight(module: Any) -> torch.Tensor | None:
    """Base weight + the active adapters' updates of a peft LoRA ``Linear``; None where decoding
    should keep the layer as it is (disabled or merged adapters, LoRA variants, other bases)."""
    if type(module.base_layer) is not torch.nn.Linear or module.merged or module.disable_adapters:
        return None
    adapters = [a for a in module.active_adapters if a in module.lora_A]
    if not adapters or any(a in module.lora_variant for a in adapters):
        return None
    weight = module.base_layer.weight.detach().clone()
    for adapter in adapters:
        weight += module.get_delta_weight(adapter).to(weight.dtype)
    return weight


def _packed_linear(weight: torch.Tensor, bias: torch.Tensor | None, rows: int,
                   dtype: torch.dtype = torch.float32) -> torch.nn.Module | None:
    """A oneDNN linear layer with ``weight`` prepacked in ``dtype`` (float32, or bfloat16 where
    :func:`bf16_decoding_supported`) for ``rows``-row inputs; None where oneDNN does not apply
    (not a float32 CPU weight, no oneDNN, another torch)."""
    if weight.device.type != "cpu" or weight.dtype != torch.float32 or not _onednn_linear_works():
        return None
    if dtype == torch.bfloat16 and not bf16_decoding_supported():
        dtype = torch.float32
    packed = torch.ops.mkldnn._reorder_linear_weight(weight.detach().to(dtype), rows)
    return _PackedLinear(packed, None if bias is None else bias.detach())


@functools.cache
def bf16_decoding_supported() -> bool:
    """Whether oneDNN computes bfloat16 natively on this CPU (AVX-512 BF16 or AMX), so that
    bfloat16 decoding weights pay; elsewhere it would emulate them, slower than float32."""
    try:
        return bool(_onednn_linear_works() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


@functools.cache
def _onednn_linear_works() -> bool:
    """Whether this torch has oneDNN's prepacked linear ops and they compute ``x W^T + b``."""
    if not torch.backends.mkldnn.is_available():
        return False
    gen = torch.Generator().manual_seed(0)
    weight, bias, x = (torch.randn(shape, generator=gen) for shape in ((24, 8), (24,), (3, 2, 8)))
    try:
        with torch.no_grad():
            layer = _PackedLinear(torch.ops.mkldnn._reorder_linear_weight(weight, 3), bias)
            return bool(torch.allclose(layer(x), torch.nn.functional.linear(x, weight, bias),
                                       atol=1e-5, rtol=1e-5))
    except (AttributeError, RuntimeError, TypeError):
        return False


class _FrozenLinear(torch.nn.Module):
    """``x W^T + b`` with fixed tensors (no parameters): a merged LoRA layer for decoding."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None):
        super().__init__()
        self.weight = weight
        self.bias = bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.linear(x, self.weight, self.bias)


class _PackedLinear(_FrozenLinear):
    """``x W^T + b`` with ``W`` prepacked by oneDNN (no parameters, no gradient).

    The product runs in the packed weight's dtype (float32, or bfloat16 with a bfloat16
    result) whatever ``x`` is: an input of another dtype (bfloat16 under a mixed-precision
    autocast) is cast for it, a bfloat16 result made float32 before the bias is added, and the
    result cast back to ``x``'s dtype."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        if self.weight.dtype == torch.float32:
            out = torch.ops.mkldnn._linear_pointwise(x.contiguous().to(torch.float32), self.weight,
                                                     self.bias, "none", [], "")
        else:
            out = torch.ops.mkldnn._linear_pointwise(x.contiguous().to(self.weight.dtype),
                                                     self.weight, None, "none", [], "").float()
            if self.bias is not None:
                out = out + self.bias
        return out if dtype == torch.float32 else out.to(dtype)


def draw(probs: torch.Tensor, block: int = 256) -> torch.Tensor:
    """One index per row of ``probs`` (N, V), with probability proportional to its entries (the law
    of ``torch.multinomial(probs, 1)``; one uniform per row from torch's global generator).

    The inverse of the cumulative distribution, in float64 as torch's CPU multinomial sums, in
    two levels: the cumulative sums of ``block``-wide sums pick a block, then the cumulative sums
    inside that block pick the token. Much cheaper on a CPU than multinomial or a full float64
    cumulative sum over a 50k vocabulary."""
    n, width = probs.shape
    if width % block:
        probs = torch.nn.functional.pad(probs, (0, block - width % block))
    blocks = probs.view(n, -1, block)
    block_cdf = blocks.sum(-1, dtype=torch.float64).cumsum(-1)  # (N, V / block)
    total = block_cdf[:, -1:]
    u = torch.rand(total.shape, dtype=torch.float64, device=probs.device) * total
    u = torch.minimum(u, torch.nextafter(total, torch.zeros_like(total)))  # u < total
    chosen = torch.searchsorted(block_cdf, u, right=True)  # a block of positive mass: (N, 1)
    before = torch.where(chosen > 0, block_cdf.gather(1, (chosen - 1).clamp(min=0)), 0.0)
    rows = torch.arange(n, device=probs.device)
    inner = blocks[rows, chosen.squeeze(1)].double().cumsum(-1)  # (N, block)
    rest = torch.minimum(u - before, torch.nextafter(inner[:, -1:], torch.zeros_like(total)))
    token = torch.searchsorted(inner, rest.clamp(min=0.0), right=True)  # a token of p > 0
    return (chosen * block + token).squeeze(1)


def next_token_picker(temperature: float, top_p: float, do_sample: bool
                      ) -> Callable[[torch.Tensor], torch.Tensor]:
    """``pick(logits) -> tokens`` for (N, V) last-position logits, as ``generate`` picks them:
    the argmax, or a draw from softmax(logits / temperature) restricted to the top-p nucleus
    (transformers' own ``TopPLogitsWarper``)."""
    if not do_sample:
        return lambda logits: logits.argmax(-1)
    nucleus = None
    if top_p < 1.0:
        from transformers.generation.logits_process import TopPLogitsWarper

        nucleus = TopPLogitsWarper(top_p)

    def pick(logits: torch.Tensor) -> torch.Tensor:
        scores = logits.float()
        if temperature != 1.0:
            scores = scores / temperature
        if nucleus is not None:
            scores = nucleus(None, scores)
        return draw(torch.softmax(scores, dim=-1))

    return pick


def decode(model: Any, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor, max_new_tokens: int,
           pick: Callable[[torch.Tensor], torch.Tensor], eos_token_id: int | None,
           pad_token_id: int) -> torch.Tensor:
    """New tokens (N, <= max_new_tokens) after left-padded prompts, one forward per token on a
    key/value cache, as ``generate`` makes them: rows that ended (EOS) continue with
    ``pad_token_id``, decoding stops when every row has ended. Each distinct prompt is run once
    (:func:`shared_prompt_pass`). A model that returns no cache re-reads the whole sequence at
    each step (as ``generate`` does for it), after the prompt pass it already made."""
    shared = shared_prompt_pass(model, prompt_ids, prompt_mask)
    if shared is not None:
        cache, logits = shared
    else:
        out = forward_keeping(model, 1, input_ids=prompt_ids, attention_mask=prompt_mask,
                              position_ids=position_ids_from_mask(prompt_mask), use_cache=True)
        cache, logits = getattr(out, "past_key_values", None), out.logits
    n = prompt_ids.shape[0]
    mask = prompt_mask
    position = position_ids_from_mask(prompt_mask)[:, -1:]
    running = torch.ones(n, dtype=torch.bool, device=prompt_ids.device)
    tokens: list[torch.Tensor] = []
    for step in range(max_new_tokens):
        token = torch.where(running, pick(logits[:, -1, :]), pad_token_id)
        tokens.append(token)
        if eos_token_id is not None:
            running &= token != eos_token_id
        if step + 1 == max_new_tokens or not bool(running.any()):
            break
        mask = torch.cat([mask, mask.new_ones(n, 1)], dim=1)
        position = position + 1
        if cache is None:
            sequence = torch.cat([prompt_ids, torch.stack(tokens, dim=1)], dim=1)
            logits = forward_keeping(model, 1, input_ids=sequence, attention_mask=mask,
                                     position_ids=position_ids_from_mask(mask),
                                     use_cache=False).logits
            continue
        out = forward_keeping(model, 1, input_ids=token[:, None], attention_mask=mask,
                              position_ids=position, past_key_values=cache, use_cache=True)
        cache, logits = out.past_key_values, out.logits
    return torch.stack(tokens, dim=1)


@torch.no_grad()
def sample_completions(model: Any, tokenizer: Any, prompts: Sequence[str], num_generations: int,
                       max_new_tokens: int, temperature: float = 1.0, top_p: float = 1.0,
                       do_sample: bool = True, weight_dtype: torch.dtype = torch.float32) -> Rollout:
    """Sample ``num_generations`` completions for each prompt in one batch: the KV cache of each
    prompt computed once and shared by its completions, LoRA merged and weights prepacked (in
    ``weight_dtype``) for the duration (:func:`decoding_linears`), :func:`decode` with
    :func:`next_token_picker`'s law."""
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
        with decoding_linears(model, rows=prompt_ids.shape[0], weight_dtype=weight_dtype):
            completion_ids = decode(model, prompt_ids, prompt_mask, max_new_tokens,
                                    next_token_picker(temperature, top_p, do_sample),
                                    tokenizer.eos_token_id, tokenizer.pad_token_id)
    finally:
        model.train(was_training)
    if completion_ids.shape[1] == 0:  # every row ended at once; keep one (masked) column
        completion_ids = torch.full((len(repeated), 1), tokenizer.pad_token_id, device=device)
    mask = completion_mask(completion_ids, tokenizer.eos_token_id)
    texts = tokenizer.batch_decode(completion_ids * mask + (1 - mask) * tokenizer.pad_token_id,
                                   skip_special_tokens=True)
    return Rollout(repeated, [t.strip() for t in texts], prompt_ids, prompt_mask,
                   completion_ids, mask)
