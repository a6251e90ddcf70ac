"""A faster attention-mask builder for padded batches (same masks, same outputs).

With left-padded batches, transformers 4.5x builds every SDPA mask with ``torch.vmap``
(``sdpa_mask_recent_torch``), which costs about 25 ms per forward on a busy CPU — more than
the tiny models' matmuls and about half of each decoding step of a sampled rollout. The older
broadcasting builder (``sdpa_mask_older_torch``) yields identical masks without vmap. This
registers it, with the unchanged SDPA kernel, under the extra implementation name
``fairguard_sdpa`` and switches only the given model to it; nothing else in the process changes.
"""

from __future__ import annotations

from typing import Any

NAME = "fairguard_sdpa"


def use_fast_sdpa_masks(model: Any) -> bool:
    """Switch an SDPA model to the vmap-free mask builder; return whether it was switched."""
    config = getattr(model, "config", None)
    if getattr(config, "_attn_implementation", None) != "sdpa":
        return False
    try:
        from transformers import AttentionInterface
        from transformers.masking_utils import (
            AttentionMaskInterface,
            sdpa_mask_older_torch,
        )
        from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

        AttentionInterface.register(NAME, ALL_ATTENTION_FUNCTIONS["sdpa"])
        AttentionMaskInterface.register(NAME, sdpa_mask_older_torch)
        model.set_attn_implementation(NAME)
    except (ImportError, AttributeError, KeyError, ValueError, TypeError):
        return False  # another transformers version: keep the default, which is correct too
    return True
