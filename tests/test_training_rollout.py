"""Batched sampling of G completions per prompt, the completion mask, the decoding loop, its
draw and the decoding copies of the linear layers (LoRA merged, weights prepacked)."""

from __future__ import annotations

import pytest
import torch

from fairguard.training.rollout import (
    _onednn_linear_works,
    bf16_decoding_supported,
    completion_mask,
    decode,
    decoding_linears,
    draw,
    next_token_picker,
    sample_completions,
)


def test_completion_mask_keeps_tokens_through_first_eos():
    ids = torch.tensor([[5, 2, 7, 2], [5, 6, 7, 8], [2, 2, 2, 2]])
    mask = completion_mask(ids, eos_token_id=2)
    assert mask.tolist() == [[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]]


def test_sample_groups_and_masks(tiny_causal_lm_dir):
    from fairguard.models import load_causal_lm

    model, tok = load_causal_lm(str(tiny_causal_lm_dir))
    prompts = ["who is a good teacher ?", "are young people lazy at work ?"]
    torch.manual_seed(0)
    r = sample_completions(model, tok, prompts, 3, max_new_tokens=5)
    assert r.prompts == [prompts[0]] * 3 + [prompts[1]] * 3
    assert r.completion_ids.shape[0] == 6 and r.completion_ids.shape[1] <= 5
    assert r.prompt_ids.shape == r.prompt_mask.shape
    assert (r.prompt_mask[:, -1] == 1).all()  # left padding
    assert r.num_tokens == int(r.completion_mask.sum())
    assert len(set(r.completions)) > 1  # sampled, not all equal
    torch.manual_seed(0)
    again = sample_completions(model, tok, prompts, 3, max_new_tokens=5)
    assert again.completions == r.completions
    part = r.slice(3, 6)
    assert part.prompts == [prompts[1]] * 3 and part.completion_ids.shape[0] == 3


def test_shared_prompt_cache_samples_what_plain_generate_samples(tiny_causal_lm_dir, monkeypatch):
    """Sampling reuses each prompt's cache for its G completions; the draws are unchanged."""
    from fairguard.models import load_causal_lm
    from fairguard.training import rollout

    model, tok = load_causal_lm(str(tiny_causal_lm_dir))
    prompts = ["who is a good teacher ?", "should the boss hire a migrant worker today ?"]
    torch.manual_seed(0)
    shared = sample_completions(model, tok, prompts, 3, max_new_tokens=6)
    monkeypatch.setattr(rollout, "shared_prompt_pass", lambda *args, **kwargs: None)
    torch.manual_seed(0)
    plain = sample_completions(model, tok, prompts, 3, max_new_tokens=6)
    assert torch.equal(shared.completion_ids, plain.completion_ids)
    assert shared.completions == plain.completions


ONEDNN = _onednn_linear_works()
SWAPPED = 2 * 7 + 1 if ONEDNN else 2 * 4  # every linear layer and the LM head; else LoRA layers


def _lora(model, seed: int = 0):
    """The trainer's LoRA (q/k/v/o) with a non-zero update, as after some training."""
    from peft import LoraConfig, get_peft_model

    peft = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, task_type="CAUSAL_LM",
                                            target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]))
    gen = torch.Generator().manual_seed(seed)
    for name, param in peft.named_parameters():
        if "lora_B" in name:
            param.data.copy_(torch.randn(param.shape, generator=gen) * 0.3)
    return peft


def generation_config(tokenizer, max_new_tokens, temperature, top_p, do_sample=True):
    """transformers' generate with the same law as the decoding loop (no model defaults)."""
    from transformers import GenerationConfig

    kwargs = {"max_new_tokens": max_new_tokens, "do_sample": do_sample,
              "pad_token_id": tokenizer.pad_token_id, "eos_token_id": tokenizer.eos_token_id}
    if do_sample:
        kwargs.update(temperature=temperature, top_p=top_p, top_k=0)
    return GenerationConfig(**kwargs)


def _encode(tok, prompts, repeat):
    from fairguard.generation import format_prompts

    tok.padding_side = "left"
    texts = format_prompts(tok, [p for p in prompts for _ in range(repeat)])
    enc = tok(texts, return_tensors="pt", padding=True,
              add_special_tokens=not getattr(tok, "chat_template", None))
    return enc["input_ids"], enc["attention_mask"]


def test_draw_follows_the_probabilities_and_never_picks_a_zero():
    probs = torch.tensor([0.0, 0.1, 0.0, 0.25, 0.3, 0.0, 0.0, 0.05, 0.3, 0.0, 0.0])  # 11: padded
    torch.manual_seed(0)
    for block in (4, 256):  # several blocks, one padded block
        draws = draw(probs.expand(40_000, -1).contiguous(), block=block)
        freq = torch.bincount(draws, minlength=len(probs)).double() / len(draws)
        assert freq[probs == 0].sum() == 0
        torch.testing.assert_close(freq, probs.double(), atol=0.01, rtol=0)  # sd <= 0.0025
    unnormalised = torch.tensor([[0.0, 2.0, 0.0, 6.0]]).expand(20_000, -1).contiguous()
    freq = torch.bincount(draw(unnormalised, block=2), minlength=4).double() / 20_000
    torch.testing.assert_close(freq, torch.tensor([0.0, 0.25, 0.0, 0.75], dtype=torch.float64),
                               atol=0.015, rtol=0)
    torch.manual_seed(1)
    first = draw(probs.expand(50, -1).contiguous())
    torch.manual_seed(1)
    assert torch.equal(first, draw(probs.expand(50, -1).contiguous()))  # the seed decides


def test_picker_greedy_and_nucleus():
    logits = torch.log(torch.tensor([[0.05, 0.5, 0.3, 0.15]])).expand(4000, -1)
    assert (next_token_picker(1.0, 1.0, do_sample=False)(logits) == 1).all()
    torch.manual_seed(0)
    nucleus = next_token_picker(1.0, 0.7, do_sample=True)(logits)  # keeps 0.5 and 0.3
    assert set(nucleus.tolist()) == {1, 2}
    assert abs((nucleus == 1).double().mean().item() - 0.5 / 0.8) < 0.03
    torch.manual_seed(0)
    cold = next_token_picker(0.25, 1.0, do_sample=True)(logits)  # p^4, renormalised
    want = torch.tensor([0.05, 0.5, 0.3, 0.15]) ** 4
    assert abs((cold == 1).double().mean().item() - (want[1] / want.sum()).item()) < 0.03


@pytest.mark.parametrize("repeat", [1, 3])  # plain prefill; one shared pass per distinct prompt
def test_greedy_decode_matches_generate_with_lora_unmerged(repeat):
    """The decoding loop (LoRA merged, weights prepacked) makes what transformers' generate makes with the LoRA
    layers as they are, EOS and padding included."""
    from fairguard.testing import tiny_causal_lm

    model, tok = tiny_causal_lm()
    peft = _lora(model)
    prompts = ["who is a good teacher ?", "should the boss hire a migrant worker today ?"]
    ids, mask = _encode(tok, prompts, repeat)
    config = generation_config(tok, 8, 1.0, 1.0, do_sample=False)
    with torch.no_grad():
        plain = peft.generate(input_ids=ids, attention_mask=mask, generation_config=config)
    plain = plain[:, ids.shape[1]:]
    eos = int(plain[0, 2])  # an EOS that one row reaches early: the rest of it is padding
    config.eos_token_id = eos
    with torch.no_grad():
        want = peft.generate(input_ids=ids, attention_mask=mask, generation_config=config)
        with decoding_linears(peft, rows=len(ids)) as swapped:
            got = decode(peft, ids, mask, 8, next_token_picker(1.0, 1.0, False), eos,
                         tok.pad_token_id)
    assert swapped == SWAPPED
    assert torch.equal(got, want[:, ids.shape[1]:])
    assert (got == tok.pad_token_id).any()


def test_merged_sampling_draws_what_unmerged_sampling_draws():
    from fairguard.testing import tiny_causal_lm

    model, tok = tiny_causal_lm()
    peft = _lora(model).eval()
    ids, mask = _encode(tok, ["who is a good teacher ?", "are young people lazy at work ?"], 3)
    pick = next_token_picker(0.7, 1.0, do_sample=True)
    with torch.no_grad():
        torch.manual_seed(0)
        unmerged = decode(peft, ids, mask, 10, pick, None, tok.pad_token_id)
        torch.manual_seed(0)
        with decoding_linears(peft, rows=len(ids)):
            merged = decode(peft, ids, mask, 10, pick, None, tok.pad_token_id)
    assert unmerged.shape == (6, 10)
    assert torch.equal(merged, unmerged)


def test_decoding_linears_restores_the_layers_and_weights_also_on_error():
    from peft.tuners.lora import Linear as LoraLinear

    from fairguard.testing import tiny_causal_lm

    model, tok = tiny_causal_lm()
    peft = _lora(model)
    before = {n: p.detach().clone() for n, p in peft.named_parameters()}
    ids, mask = _encode(tok, ["who is a good teacher ?"], 1)
    base = _logits_without_adapter(peft, ids, mask)
    with torch.no_grad():
        want = peft(input_ids=ids, attention_mask=mask).logits
        with decoding_linears(peft) as swapped:
            assert swapped == SWAPPED
            assert not any(isinstance(m, LoraLinear) for m in peft.modules())
            assert not any(type(m) is torch.nn.Linear for m in peft.modules()) or not ONEDNN
            torch.testing.assert_close(peft(input_ids=ids, attention_mask=mask).logits, want,
                                       atol=1e-5, rtol=1e-5)
        with pytest.raises(RuntimeError, match="boom"), decoding_linears(peft):
            raise RuntimeError("boom")
        with peft.disable_adapter(), decoding_linears(peft) as swapped:  # the reference
            assert swapped == SWAPPED - 8  # the LoRA layers stay, switched off
            assert sum(isinstance(m, LoraLinear) for m in peft.modules()) == 8
            torch.testing.assert_close(peft(input_ids=ids, attention_mask=mask).logits,
                                       base, atol=1e-5, rtol=1e-5)
    assert sum(isinstance(m, LoraLinear) for m in peft.modules()) == 8
    for name, param in peft.named_parameters():
        assert torch.equal(param, before[name]), name  # bit for bit: the base is never written
    with torch.no_grad():
        assert torch.equal(peft(input_ids=ids, attention_mask=mask).logits, want)


def _logits_without_adapter(peft, ids, mask):
    with peft.disable_adapter(), torch.no_grad():
        return peft(input_ids=ids, attention_mask=mask).logits


def test_lora_trains_after_sampling():
    from fairguard.testing import tiny_causal_lm
    from fairguard.training.logprobs import completion_logprobs

    model, tok = tiny_causal_lm()
    peft = _lora(model).train()
    torch.manual_seed(0)
    r = sample_completions(peft, tok, ["who is a good teacher ?", "is a rural student smart ?"], 2,
                           max_new_tokens=6, temperature=0.7)
    assert peft.training
    logprobs = completion_logprobs(peft, r.prompt_ids, r.prompt_mask, r.completion_ids,
                                   r.completion_mask)
    (logprobs * r.completion_mask).sum().backward()
    grads = {n: p.grad for n, p in peft.named_parameters() if p.requires_grad}
    assert len(grads) == 16 and all("lora_" in n for n in grads)
    assert all(g is not None and g.abs().sum() > 0 for g in grads.values())


@pytest.mark.skipif(not ONEDNN, reason="no oneDNN prepacked linear ops in this torch")
def test_sampling_under_bf16_autocast():
    """`--mixed-precision bf16` on a CPU: the model's forward runs under autocast, so the
    prepacked float32 decoding layers get bfloat16 inputs (they raised a oneDNN error)."""
    from fairguard.testing import tiny_causal_lm

    model, tok = tiny_causal_lm()
    peft = _lora(model)
    ids, mask = _encode(tok, ["who is a good teacher ?"], 2)
    name = "base_model.model.model.layers.0.mlp.up_proj"
    weight = peft.get_submodule(name).weight.detach().clone()
    x = torch.randn(2, 3, weight.shape[1]).to(torch.bfloat16)
    with torch.no_grad():
        with decoding_linears(peft, rows=len(ids)) as swapped:
            assert swapped == SWAPPED
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out = peft.get_submodule(name)(x)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), torch.nn.functional.linear(x.float(), weight),
                               atol=0.05, rtol=0.02)
    torch.manual_seed(0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        r = sample_completions(peft, tok, ["who is a good teacher ?"], 2, max_new_tokens=5,
                               temperature=0.7)
    assert r.completion_ids.shape[0] == 2 and r.completion_mask.sum() > 0


@pytest.mark.skipif(not bf16_decoding_supported(), reason="oneDNN has no native bfloat16 here")
def test_bf16_decoding_weights():
    """`--sampling-dtype bfloat16`: the decoding copies are bfloat16, a layer's output stays
    float32 and within bfloat16 rounding of the float32 product (bias added in float32), the
    logits of a whole forward too, and the model's own weights are untouched."""
    from fairguard.testing import tiny_causal_lm

    model, tok = tiny_causal_lm()
    peft = _lora(model).eval()
    before = {n: p.detach().clone() for n, p in peft.named_parameters()}
    ids, mask = _encode(tok, ["who is a good teacher ?", "are young people lazy at work ?"], 2)
    name = "base_model.model.model.layers.0.mlp.up_proj"
    weight = peft.get_submodule(name).weight.detach().clone()
    bias = torch.randn(weight.shape[0])
    x = torch.randn(4, 3, weight.shape[1])
    with torch.no_grad():
        want = peft(input_ids=ids, attention_mask=mask).logits
        with decoding_linears(peft, rows=len(ids), weight_dtype=torch.bfloat16) as swapped:
            assert swapped == SWAPPED
            layer = peft.get_submodule(name)
            assert layer.weight.dtype == torch.bfloat16
            assert layer(x).dtype == torch.float32
            torch.testing.assert_close(layer(x), torch.nn.functional.linear(x, weight),
                                       atol=0.05, rtol=0.02)
            layer.bias = bias
            torch.testing.assert_close(layer(x), torch.nn.functional.linear(x, weight, bias),
                                       atol=0.05, rtol=0.02)
            layer.bias = None
            got = peft(input_ids=ids, attention_mask=mask).logits
        assert got.dtype == torch.float32
        assert not torch.equal(got, want)  # bfloat16 products, not the float32 ones
        torch.testing.assert_close(got, want, atol=0.05, rtol=0.05)
    torch.manual_seed(0)
    r = sample_completions(peft, tok, ["who is a good teacher ?"], 2, max_new_tokens=5,
                           temperature=0.7, weight_dtype=torch.bfloat16)
    assert r.completion_ids.shape[0] == 2 and r.completion_mask.sum() > 0
    for n, param in peft.named_parameters():
        assert torch.equal(param, before[n]), n


def test_bf16_decoding_falls_back_to_float32_without_native_bf16(monkeypatch):
    from fairguard.training import rollout

    monkeypatch.setattr(rollout, "bf16_decoding_supported", lambda: False)
    layer = rollout._packed_linear(torch.randn(16, 8), None, 2, torch.bfloat16)
    if layer is None:  # no oneDNN at all: nothing is packed either way
        assert not ONEDNN
        return
    assert layer.weight.dtype == torch.float32


def test_sampling_dtype_option():
    from fairguard.errors import ConfigError
    from fairguard.training.config import GRPOConfig

    assert GRPOConfig(model="m", reward_model="r").sampling_dtype == "float32"
    assert GRPOConfig(model="m", reward_model="r", sampling_dtype="bfloat16").sampling_dtype == "bfloat16"
    with pytest.raises(ConfigError, match="sampling_dtype"):
        GRPOConfig(model="m", reward_model="r", sampling_dtype="float16")


def test_without_onednn_only_lora_layers_are_merged(monkeypatch):
    from fairguard.testing import tiny_causal_lm
    from fairguard.training import rollout

    monkeypatch.setattr(rollout, "_onednn_linear_works", lambda: False)
    model, tok = tiny_causal_lm()
    peft = _lora(model).eval()
    ids, mask = _encode(tok, ["who is a good teacher ?"], 2)
    with torch.no_grad():
        want = peft(input_ids=ids, attention_mask=mask).logits
        with decoding_linears(peft) as swapped:
            assert swapped == 8
            assert sum(type(m) is torch.nn.Linear for m in peft.modules()) == 2 * 3 + 1
            torch.testing.assert_close(peft(input_ids=ids, attention_mask=mask).logits, want,
                                       atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("repeat", [1, 3])
def test_a_model_without_a_cache_decodes_what_the_cached_one_does(repeat):
    """A model that returns no key/value cache re-reads the sequence each step: the same greedy
    tokens, one forward per token (plus the shared pass over distinct prompts, which finds no
    cache), where it used to fall back to transformers' generate and run the prompt again."""
    from types import SimpleNamespace

    from fairguard.testing import tiny_causal_lm

    model, tok = tiny_causal_lm()
    calls = []

    def cacheless(**kwargs):
        calls.append(kwargs["input_ids"].shape)
        kwargs.pop("past_key_values", None)
        out = model(**{**kwargs, "use_cache": False})
        return SimpleNamespace(logits=out.logits, past_key_values=None)

    ids, mask = _encode(tok, ["who is a good teacher ?", "should the boss hire a worker ?"], repeat)
    pick = next_token_picker(1.0, 1.0, False)
    with torch.no_grad():
        want = decode(model, ids, mask, 6, pick, None, tok.pad_token_id)
        got = decode(cacheless, ids, mask, 6, pick, None, tok.pad_token_id)
    assert torch.equal(got, want)
    distinct = 2 if repeat > 1 else 0  # the shared prompt pass, when rows share prompts
    assert len(calls) == 6 + (1 if distinct else 0)
    calls.clear()  # the model is known to return no cache now: the shared pass is not tried again
    with torch.no_grad():
        assert torch.equal(decode(cacheless, ids, mask, 6, pick, None, tok.pad_token_id), want)
    assert len(calls) == 6
