"""LLaDA's masked-diffusion sampler on a tiny random BertForMaskedLM."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fairguard.errors import ConfigError
from fairguard.testing import tiny_masked_lm, tiny_tokenizer
from fairguard.training.config import check_schedule
from fairguard.training.diffusion_sampler import (
    add_gumbel_noise,
    answer_mask,
    diffusion_generate,
    num_transfer_tokens,
    resolve_mask_token_id,
    stop_token_ids,
)

PROMPTS = ["who is a good teacher ?", "should the boss hire a migrant worker from henan ?"]


@pytest.fixture(scope="module")
def lm():
    model, tokenizer = tiny_masked_lm()
    return model.eval(), tokenizer


def encode(tokenizer, prompts):
    tokenizer.padding_side = "left"
    enc = tokenizer(prompts, return_tensors="pt", padding=True)
    return enc["input_ids"], enc["attention_mask"]


def run(lm, prompts=PROMPTS, **kw):
    model, tokenizer = lm
    ids, mask = encode(tokenizer, prompts)
    args = {"mask_token_id": tokenizer.mask_token_id, "gen_length": 8, "steps": 8, "block_length": 4}
    args.update(kw)
    return diffusion_generate(model, ids, mask, **args)


def test_fills_every_mask_with_the_right_shape(lm):
    model, tokenizer = lm
    for remasking in ("low_confidence", "random"):
        for temperature in (0.0, 1.0):
            out = run(lm, remasking=remasking, temperature=temperature)
            assert out.shape == (2, 8) and out.dtype == torch.long
            assert not (out == tokenizer.mask_token_id).any()
            assert int(out.max()) < model.config.vocab_size


def test_blocks_fill_left_to_right_and_tokens_stay_once_placed(lm):
    model, tokenizer = lm
    ids, mask = encode(tokenizer, PROMPTS)
    mask_id = tokenizer.mask_token_id
    states = []
    out = diffusion_generate(model, ids, mask, mask_token_id=mask_id, gen_length=12, steps=6,
                             block_length=4, temperature=1.0,
                             on_step=lambda b, i, x: states.append((b, i, x)))
    prompt_len = ids.shape[1]
    assert [(b, i) for b, i, _ in states] == [(b, i) for b in range(3) for i in range(2)]
    previous = torch.full((2, 12), mask_id)
    for block, i, x in states:
        torch.testing.assert_close(x[:, :prompt_len], ids)  # the prompt is never touched
        answer = x[:, prompt_len:]
        filled = answer != mask_id
        start, stop = 4 * block, 4 * block + 4
        assert not filled[:, stop:].any(), "a later block was unmasked before this one finished"
        assert filled[:, :start].all(), "an earlier block was left unfinished"
        assert (filled[:, start:stop].sum(-1) == 2 * (i + 1)).all()  # 4 tokens / 2 iterations
        was = previous != mask_id
        assert torch.equal(answer[was], previous[was]), "a placed token changed or was re-masked"
        previous = answer
    assert torch.equal(previous, out)


def test_temperature_zero_is_deterministic_and_sampling_follows_the_seed(lm):
    torch.manual_seed(1)
    first = run(lm, temperature=0.0)
    torch.manual_seed(2)
    assert torch.equal(run(lm, temperature=0.0), first)
    torch.manual_seed(3)
    a = run(lm, temperature=1.0, steps=8, block_length=8)
    torch.manual_seed(3)
    b = run(lm, temperature=1.0, steps=8, block_length=8)
    torch.manual_seed(4)
    c = run(lm, temperature=1.0, steps=8, block_length=8)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_left_padding_does_not_change_an_answer(lm):
    alone = run(lm, prompts=PROMPTS[:1], temperature=0.0)
    batched = run(lm, prompts=PROMPTS, temperature=0.0)
    assert torch.equal(alone[0], batched[0])


def llada_reference(model, prompt, steps, gen_length, block_length, mask_id):
    """LLaDA's generate.py (temperature 0, cfg 0, low_confidence), batch of one unpadded prompt,
    with the one documented difference: the mask token's logit is made impossible."""
    x = torch.full((1, prompt.shape[1] + gen_length), mask_id, dtype=torch.long)
    x[:, :prompt.shape[1]] = prompt.clone()
    num_blocks = gen_length // block_length
    steps = steps // num_blocks
    for num_block in range(num_blocks):
        lo = prompt.shape[1] + num_block * block_length
        block_mask_index = x[:, lo:lo + block_length] == mask_id
        mask_num = block_mask_index.sum(dim=1, keepdim=True)
        base, remainder = mask_num // steps, mask_num % steps
        num_transfer = torch.zeros(1, steps, dtype=torch.int64) + base
        num_transfer[0, :remainder[0]] += 1
        for i in range(steps):
            mask_index = x == mask_id
            logits = model(x).logits
            logits[..., mask_id] = torch.finfo(logits.dtype).min
            x0 = torch.argmax(logits.to(torch.float64).exp(), dim=-1)
            p = F.softmax(logits.to(torch.float64), dim=-1)
            x0_p = torch.gather(p, -1, x0.unsqueeze(-1)).squeeze(-1)
            x0_p[:, prompt.shape[1] + (num_block + 1) * block_length:] = -np.inf
            x0 = torch.where(mask_index, x0, x)
            confidence = torch.where(mask_index, x0_p, -np.inf)
            transfer = torch.zeros_like(x0, dtype=torch.bool)
            _, select = torch.topk(confidence[0], k=int(num_transfer[0, i]))
            transfer[0, select] = True
            x[transfer] = x0[transfer]
    return x[:, prompt.shape[1]:]


@pytest.mark.parametrize("steps, gen_length, block_length", [(8, 8, 8), (8, 8, 4), (6, 12, 4),
                                                             (4, 12, 12)])
def test_matches_llada_generate_at_temperature_zero(lm, steps, gen_length, block_length):
    model, tokenizer = lm
    ids, mask = encode(tokenizer, PROMPTS[1:])
    with torch.no_grad():
        expected = llada_reference(model, ids, steps, gen_length, block_length, tokenizer.mask_token_id)
    ours = diffusion_generate(model, ids, mask, mask_token_id=tokenizer.mask_token_id,
                              gen_length=gen_length, steps=steps, block_length=block_length)
    assert torch.equal(ours, expected)


def test_gumbel_noise_samples_the_tempered_softmax():
    torch.manual_seed(0)
    logits = torch.tensor([0.0, 1.0, 2.0])
    draws = torch.stack([add_gumbel_noise(logits, 0.5).argmax() for _ in range(4000)])
    freq = torch.bincount(draws, minlength=3).double() / len(draws)
    torch.testing.assert_close(freq, torch.softmax(logits.double() / 0.5, -1), atol=0.03, rtol=0)
    assert add_gumbel_noise(logits, 0.0).argmax() == 2


def test_transfer_schedule_is_llada_s():
    mask = torch.tensor([[True] * 7 + [False], [True] * 3 + [False] * 5])
    got = num_transfer_tokens(mask, 3)
    assert got.tolist() == [[3, 2, 2], [1, 1, 1]]
    assert got.sum(-1).tolist() == [7, 3]


@pytest.mark.parametrize("args, message", [
    ({"gen_length": 10, "steps": 10, "block_length": 4}, "multiple of block_length"),
    ({"gen_length": 8, "steps": 3, "block_length": 4}, "multiple of the number of blocks"),
    ({"gen_length": 8, "steps": 16, "block_length": 4}, "iterations per block"),
    ({"gen_length": 8, "steps": 0, "block_length": 4}, "positive integer"),
    ({"cfg_scale": 0.5}, "cfg_scale"),
    ({"remasking": "entropy"}, "remasking"),
    ({"temperature": -1.0}, "temperature"),
])
def test_bad_settings_are_config_errors(lm, args, message):
    with pytest.raises(ConfigError, match=message):
        run(lm, **args)


def test_check_schedule_returns_iterations_per_block():
    assert check_schedule(128, 128, 32) == 32
    assert check_schedule(128, 64, 128) == 64


def test_answer_mask_stops_after_the_first_stop_token():
    ids = torch.tensor([[5, 9, 3, 9, 7], [5, 6, 7, 8, 4], [3, 3, 3, 3, 3]])
    assert answer_mask(ids, [3, 9]).tolist() == [[1, 1, 0, 0, 0], [1] * 5, [1, 0, 0, 0, 0]]
    assert answer_mask(ids, []).tolist() == [[1] * 5] * 3


def test_stop_tokens_and_mask_token_resolution():
    bert = tiny_tokenizer("bert")
    assert stop_token_ids(bert) == [bert.sep_token_id]  # no EOS: [SEP] ends a BERT answer
    causal = tiny_tokenizer("causal")
    assert stop_token_ids(causal) == [causal.eos_token_id]
    assert resolve_mask_token_id(bert) == bert.mask_token_id
    assert resolve_mask_token_id(bert, override=5) == 5
    with pytest.raises(ConfigError, match="outside the vocabulary"):
        resolve_mask_token_id(bert, override=10**6)
    llada_like = SimpleNamespace(config=SimpleNamespace(mask_token_id=7, vocab_size=300))
    assert resolve_mask_token_id(causal, llada_like) == 7
    with pytest.raises(ConfigError, match="no mask token"):
        resolve_mask_token_id(causal, SimpleNamespace(config=SimpleNamespace()))
