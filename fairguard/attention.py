"""Faster SDPA attention for padded batches (same masks, same outputs).

Two costs of transformers 4.5x's SDPA path on a CPU, with left-padded batches:

- every mask is built with ``torch.vmap`` (``sdpa_mask_recent_torch``), about 25 ms per
  forward on a busy CPU, more than the tiny models' matmuls and about half of each decoding
  step of a sampled rollout; the older broadcasting builder (``sdpa_mask_older_torch``) yields
  identical masks without vmap;
- with a mask, grouped-query attention (fewer key/value heads than query heads, as in
  SmolLM2 and Llama) copies every key and value head once per query head that reads it
  (``repeat_kv``) in every layer at every step: while sampling, a copy of the whole key/value
  cache per generated token. :func:`grouped_sdpa_attention` instead folds the query heads
  that share a key/value head into the query length and runs SDPA on the cache as it is:
  SmolLM2-135M samples 1.2x faster, the same tokens (docs/grpo.md, "Grouped-query attention
  without copies").

:func:`use_fast_sdpa` registers both, under the extra implementation name ``fairguard_sdpa``,
and switches only the given model to it; nothing else in the process changes.
:func:`fairguard.models.load_causal_lm` switches every causal LM it loads (GRPO's policy, the
evaluation commands' policies, the server's local backend); a model a user loads and hands to
a :class:`~fairguard.guard.Guard` is left as it is.
"""

from __future__ import annotations

from typing import Any

import torch

NAME = "fairguard_sdpa"


def grouped_sdpa_attention(module: Any, query: torch.Tensor, key: torch.Tensor,
                           value: torch.Tensor, attention_mask: torch.Tensor | None,
                           dropout: float = 0.0, scaling: float | None = None,
                           is_causal: bool | None = None, **kwargs: Any) -> tuple[torch.Tensor, None]:
    """transformers' SDPA attention function, without copying key/value heads for a mask.

    ``query`` is ``(batch, heads, q_len, dim)``, ``key``/``value`` ``(batch, kv_heads, k_len,
    dim)``; query head ``h`` reads key/value head ``h // (heads // kv_heads)``, as ``repeat_kv``
    pairs them. Anything else (no mask, one query head per key/value head, a per-head mask,
    attention weights asked for) goes to transformers' own function."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    groups = int(getattr(module, "num_key_value_groups", 1) or 1)
    if (groups == 1 or attention_mask is None or attention_mask.ndim != 4
            or attention_mask.shape[1] != 1 or is_causal or kwargs.get("output_attentions")
            or kwargs.get("head_mask") is not None or query.shape[1] != key.shape[1] * groups):
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout,
                                      scaling=scaling, is_causal=is_causal, **kwargs)
    batch, heads, q_len, dim = query.shape
    kv_heads, k_len = key.shape[1], key.shape[-2]
    mask = attention_mask[:, :, :, :k_len]
    # Row (g, i) of a key/value head's folded queries is query position i of its g-th head.
    folded = query.reshape(batch, kv_heads, groups * q_len, dim)
    if q_len > 1:
        mask = mask.unsqueeze(2).expand(mask.shape[0], 1, groups, q_len, k_len)
        mask = mask.reshape(mask.shape[0], 1, groups * q_len, k_len)
    out = torch.nn.functional.scaled_dot_product_attention(
        folded, key, value, attn_mask=mask, dropout_p=dropout, scale=scaling, is_causal=False)
    # (batch, kv_heads, groups * q_len, dim) -> (batch, q_len, heads, dim); CUDA kernels may return
    # ``out`` with a (batch, q_len, heads, dim) memory layout, so no ``view`` across its heads.
    out = out.unflatten(2, (groups, q_len)).permute(0, 3, 1, 2, 4)
    return out.reshape(batch, q_len, heads, dim), None


def use_fast_sdpa(model: Any) -> bool:
    """Switch an SDPA model to the vmap-free mask builder and :func:`grouped_sdpa_attention`;
    return whether it was switched."""
    config = getattr(model, "config", None)
    if getattr(config, "_attn_implementation", None) != "sdpa":
        return False
    try:
        from transformers import AttentionInterface
        from transformers.masking_utils import (
            AttentionMaskInterface,
            sdpa_mask_older_torch,
        )

        AttentionInterface.register(NAME, grouped_sdpa_attention)
        AttentionMaskInterface.register(NAME, sdpa_mask_older_torch)
        model.set_attn_implementation(NAME)
    except (ImportError, AttributeError, KeyError, ValueError, TypeError):
        return False  # another transformers version: keep the default, which is correct too
    return True
