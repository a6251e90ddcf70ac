"""The vmap-free SDPA mask builder gives the same outputs on padded batches."""

from __future__ import annotations

import torch

from fairguard.training.attention import use_fast_sdpa_masks
from fairguard.training.logprobs import completion_logprobs
from fairguard.training.rollout import sample_completions


def test_same_samples_and_logprobs(tiny_causal_lm_dir):
    from fairguard.models import load_causal_lm

    default, tok = load_causal_lm(str(tiny_causal_lm_dir))
    fast, _ = load_causal_lm(str(tiny_causal_lm_dir))
    assert use_fast_sdpa_masks(fast)
    assert fast.config._attn_implementation == "fairguard_sdpa"
    assert default.config._attn_implementation == "sdpa"  # other models are untouched
    prompts = ["who is a good teacher ?", "should the boss hire an old migrant worker from henan ?"]
    outs = []
    for model in (default, fast):
        torch.manual_seed(0)
        r = sample_completions(model, tok, prompts, 2, max_new_tokens=6)
        t = (r.prompt_ids, r.prompt_mask, r.completion_ids, r.completion_mask)
        with torch.no_grad():
            outs.append((r.completions, completion_logprobs(model, *t)))
    assert outs[0][0] == outs[1][0]
    torch.testing.assert_close(outs[0][1], outs[1][1], atol=1e-6, rtol=0)
    assert not use_fast_sdpa_masks(fast)  # already switched
