"""The fast SDPA path (vmap-free masks, grouped-query attention without key/value copies) gives
the same outputs and gradients on padded batches."""

from __future__ import annotations

import torch

from fairguard.attention import grouped_sdpa_attention, use_fast_sdpa
from fairguard.training.logprobs import completion_logprobs
from fairguard.training.rollout import sample_completions

PROMPTS = ["who is a good teacher ?", "should the boss hire an old migrant worker from henan ?"]


def test_same_samples_and_logprobs(tiny_causal_lm_dir):
    from fairguard.models import load_causal_lm

    default, tok = load_causal_lm(str(tiny_causal_lm_dir), fast_attention=False)
    fast, _ = load_causal_lm(str(tiny_causal_lm_dir), fast_attention=False)
    assert fast.config.num_key_value_heads < fast.config.num_attention_heads  # grouped heads
    assert use_fast_sdpa(fast)
    assert fast.config._attn_implementation == "fairguard_sdpa"
    assert default.config._attn_implementation == "sdpa"  # other models are untouched
    outs = []
    for model in (default, fast):
        torch.manual_seed(0)
        r = sample_completions(model, tok, PROMPTS, 2, max_new_tokens=6)
        t = (r.prompt_ids, r.prompt_mask, r.completion_ids, r.completion_mask)
        with torch.no_grad():
            outs.append((r.completions, completion_logprobs(model, *t)))
    assert outs[0][0] == outs[1][0]
    torch.testing.assert_close(outs[0][1], outs[1][1], atol=1e-6, rtol=0)
    assert not use_fast_sdpa(fast)  # already switched


def test_same_gradients_on_a_padded_batch(tiny_causal_lm_dir):
    from fairguard.models import load_causal_lm

    grads = []
    for fast in (False, True):
        model, tok = load_causal_lm(str(tiny_causal_lm_dir), fast_attention=False)
        if fast:
            assert use_fast_sdpa(model)
        tok.padding_side = "left"
        enc = tok(PROMPTS, return_tensors="pt", padding=True)
        assert not bool(enc["attention_mask"].all())  # the short prompt is padded
        out = model(**enc)
        loss = (out.logits * enc["attention_mask"][..., None]).square().mean()
        loss.backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()
                      if "self_attn" in n and p.grad is not None})
    assert grads[0] and grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name], atol=1e-6, rtol=1e-5)


def test_loaded_models_take_the_fast_path_with_the_same_greedy_answers(tiny_causal_lm_dir):
    from fairguard.generation import DecodingConfig, generate_responses
    from fairguard.models import load_causal_lm

    fast, tok = load_causal_lm(str(tiny_causal_lm_dir))
    plain, _ = load_causal_lm(str(tiny_causal_lm_dir), fast_attention=False)
    assert fast.config._attn_implementation == "fairguard_sdpa"
    assert plain.config._attn_implementation == "sdpa"
    config = DecodingConfig(max_new_tokens=8, batch_size=2, chat_template=False)
    answers = [generate_responses(m, tok, PROMPTS, config, progress=False) for m in (plain, fast)]
    assert answers[0] == answers[1] and any(answers[0])


def test_grouped_attention_matches_copied_heads():
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    class Module:
        num_key_value_groups = 3
        is_causal = True

    torch.manual_seed(0)
    batch, kv_heads, dim = 2, 2, 8
    for q_len, k_len in ((1, 7), (5, 5)):
        query = torch.randn(batch, kv_heads * 3, q_len, dim)
        key, value = torch.randn(2, batch, kv_heads, k_len, dim)
        mask = torch.ones(batch, 1, q_len, k_len, dtype=torch.bool).tril(k_len - q_len)
        mask[0, ..., :2] = False  # left padding of the first row
        want, _ = sdpa_attention_forward(Module(), query, key, value, mask)
        got, _ = grouped_sdpa_attention(Module(), query, key, value, mask)
        torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5)


def test_grouped_attention_takes_outputs_in_any_memory_layout(monkeypatch):
    """CUDA's fused kernels return SDPA's output in (batch, q_len, heads, dim) memory order, which
    cannot be viewed across heads; the same values in that layout give the same answer."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    class Module:
        num_key_value_groups = 3
        is_causal = True

    sdpa = torch.nn.functional.scaled_dot_product_attention

    def sequence_major(*args, **kwargs):
        out = sdpa(*args, **kwargs)
        return out.transpose(1, 2).contiguous().transpose(1, 2)  # same values, other strides

    torch.manual_seed(0)
    query = torch.randn(2, 6, 5, 8)
    key, value = torch.randn(2, 2, 2, 5, 8)
    mask = torch.ones(2, 1, 5, 5, dtype=torch.bool).tril()
    want, _ = sdpa_attention_forward(Module(), query, key, value, mask)
    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", sequence_major)
    assert not sequence_major(query[:, :2], key, value).is_contiguous()
    got, _ = grouped_sdpa_attention(Module(), query, key, value, mask)
    torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5)
