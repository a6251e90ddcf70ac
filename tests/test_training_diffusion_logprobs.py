"""The single-pass log-prob estimates of a masked-diffusion policy's answers."""

from __future__ import annotations

import pytest
import torch
from peft import LoraConfig, get_peft_model

from fairguard.testing import tiny_masked_lm
from fairguard.training.diffusion_logprobs import diffusion_completion_logits
from fairguard.training.logprobs import adapter_disabled, token_logprobs


@pytest.fixture()
def setup():
    model, tokenizer = tiny_masked_lm()
    peft = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["query", "value"]))
    tokenizer.padding_side = "left"
    enc = tokenizer(["who is a good teacher ?", "is a rural applicant from henan qualified ?"],
                    return_tensors="pt", padding=True)
    torch.manual_seed(0)
    answer = torch.randint(10, len(tokenizer), (2, 6))
    return peft, tokenizer, enc["input_ids"], enc["attention_mask"], answer


def logits_of(peft, tokenizer, ids, mask, answer, **kw):
    return diffusion_completion_logits(peft, ids, mask, answer, torch.ones_like(answer),
                                       mask_token_id=tokenizer.mask_token_id, position_ids=True, **kw)


def manual(model, tokenizer, ids, mask, answer, masked):
    shown = torch.full_like(answer, tokenizer.mask_token_id) if masked else answer
    x = torch.cat([ids, shown], 1)
    att = torch.cat([mask, torch.ones_like(answer)], 1)
    logits = model(input_ids=x, attention_mask=att,
                   position_ids=(att.cumsum(-1) - 1).clamp(min=0)).logits[:, ids.shape[1]:].float()
    logits[..., tokenizer.mask_token_id] = torch.finfo(logits.dtype).min
    return torch.log_softmax(logits, -1).gather(-1, answer.unsqueeze(-1)).squeeze(-1)


@pytest.mark.parametrize("estimator", ["clean", "masked"])
def test_estimates_are_the_documented_single_pass(setup, estimator):
    peft, tokenizer, ids, mask, answer = setup
    got = token_logprobs(logits_of(peft, tokenizer, ids, mask, answer, estimator=estimator), answer)
    with torch.no_grad():
        want = manual(peft, tokenizer, ids, mask, answer, masked=estimator == "masked")
        torch.testing.assert_close(got.detach(), want)
        again = token_logprobs(logits_of(peft, tokenizer, ids, mask, answer, estimator=estimator), answer)
    assert torch.equal(again, got.detach())  # deterministic: old / new / reference agree
    assert got.shape == answer.shape and (got < 0).all()


def test_masked_estimate_does_not_see_the_answer(setup):
    peft, tokenizer, ids, mask, answer = setup
    other = answer.flip(-1)
    a = logits_of(peft, tokenizer, ids, mask, answer, estimator="masked")
    b = logits_of(peft, tokenizer, ids, mask, other, estimator="masked")
    assert torch.equal(a, b)
    c = logits_of(peft, tokenizer, ids, mask, other, estimator="clean")
    assert not torch.allclose(logits_of(peft, tokenizer, ids, mask, answer, estimator="clean"), c)


def test_gradient_reaches_only_the_adapter_and_reference_is_the_base(setup):
    peft, tokenizer, ids, mask, answer = setup
    for name, param in peft.named_parameters():  # a non-zero adapter so that policy != base
        if "lora_B" in name:
            param.data.normal_(0, 0.5)
    logps = token_logprobs(logits_of(peft, tokenizer, ids, mask, answer), answer)
    logps.sum().backward()
    grads = {n for n, p in peft.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
    assert grads and all("lora_" in n for n in grads)
    assert not any(p.requires_grad for n, p in peft.named_parameters() if "lora_" not in n)
    with torch.no_grad(), adapter_disabled(peft):
        ref = token_logprobs(logits_of(peft, tokenizer, ids, mask, answer), answer)
        base = manual(peft.get_base_model(), tokenizer, ids, mask, answer, masked=False)
    torch.testing.assert_close(ref, base)
    assert not torch.allclose(ref, logps.detach())


def test_temperature_divides_the_logits_and_zero_means_one(setup):
    peft, tokenizer, ids, mask, answer = setup
    with torch.no_grad():
        one = logits_of(peft, tokenizer, ids, mask, answer)
        half = logits_of(peft, tokenizer, ids, mask, answer, temperature=0.5)
        zero = logits_of(peft, tokenizer, ids, mask, answer, temperature=0.0)
    keep = torch.ones(one.shape[-1], dtype=torch.bool)
    keep[tokenizer.mask_token_id] = False
    torch.testing.assert_close(half[..., keep], one[..., keep] / 0.5)
    assert torch.isfinite(half).all()  # the excluded mask token stays finite (no NaN in a KL)
    assert torch.equal(zero, one)
