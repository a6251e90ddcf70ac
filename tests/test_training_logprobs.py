"""Per-token log-probs, the adapter-disabled reference, and the LLaDA LoRA paper's full KL."""

from __future__ import annotations

import pytest
import torch

from fairguard.training.logprobs import (
    completion_logprobs,
    full_kl,
    reference_logprobs,
    sequence_kl,
)
from fairguard.training.rollout import sample_completions


@pytest.fixture(scope="module")
def peft_model(tiny_causal_lm_dir):
    from peft import LoraConfig, get_peft_model

    from fairguard.models import load_causal_lm

    base, tok = load_causal_lm(str(tiny_causal_lm_dir))
    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                            task_type="CAUSAL_LM"))
    torch.manual_seed(0)
    rollout = sample_completions(model, tok, ["who is a good teacher ?", "is a rural student smart ?"],
                                 2, max_new_tokens=4)
    return model, tok, rollout


def _tensors(r):
    return r.prompt_ids, r.prompt_mask, r.completion_ids, r.completion_mask


def test_logprobs_match_a_plain_forward_per_row(peft_model):
    model, _, r = peft_model
    logps = completion_logprobs(model, *_tensors(r))
    for i in range(r.completion_ids.shape[0]):  # unpadded, one row at a time
        p = r.prompt_ids[i][r.prompt_mask[i].bool()]
        c = r.completion_ids[i]
        with torch.no_grad():
            logits = model(input_ids=torch.cat([p, c]).unsqueeze(0)).logits[0, len(p) - 1:-1]
        expected = torch.log_softmax(logits, -1).gather(-1, c.unsqueeze(-1)).squeeze(-1)
        m = r.completion_mask[i].bool()
        torch.testing.assert_close(logps[i][m], expected[m], atol=1e-5, rtol=0)


def test_reference_is_the_base_model_and_kl_grows_with_the_adapter(peft_model):
    model, _, r = peft_model
    ref0 = reference_logprobs(model, *_tensors(r))
    torch.testing.assert_close(ref0, completion_logprobs(model, *_tensors(r)).detach())  # B = 0
    assert float(sequence_kl(model, *_tensors(r)).abs().max()) < 1e-6
    saved = {n: p.detach().clone() for n, p in model.named_parameters() if "lora_B" in n}
    try:
        with torch.no_grad():
            for n, p in model.named_parameters():
                if "lora_B" in n:
                    p.normal_(0, 0.5)
        ref1 = reference_logprobs(model, *_tensors(r))
        torch.testing.assert_close(ref1, ref0)  # adapter disabled: still the base model
        assert not torch.allclose(completion_logprobs(model, *_tensors(r)), ref0)
        assert float(sequence_kl(model, *_tensors(r)).min()) > 0
        assert len([m for m in model.modules() if m.__class__.__name__ == "LlamaForCausalLM"]) == 1
    finally:
        with torch.no_grad():
            for n, p in model.named_parameters():
                if n in saved:
                    p.copy_(saved[n])


def test_full_kl_of_known_distributions():
    p = torch.log(torch.tensor([[[0.5, 0.5], [0.9, 0.1]]]))
    q = torch.log(torch.tensor([[[0.5, 0.5], [0.5, 0.5]]]))
    kl = full_kl(p, q, torch.tensor([[1, 1]]))
    expected = (0.0 + (0.9 * torch.log(torch.tensor(1.8)) + 0.1 * torch.log(torch.tensor(0.2)))) / 2
    torch.testing.assert_close(kl, expected.reshape(1))


def test_shared_prompt_pass_gives_the_full_pass_logits_and_gradients(peft_model):
    """Completions of one prompt share one cached pass over it; values and LoRA gradients are
    those of running every row's prompt + completion in full."""
    from fairguard.training.logprobs import (
        _full_sequence_logits,
        _shared_prompt_logits,
        shared_prompt_pass,
        token_logprobs,
    )

    model, _, r = peft_model
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.3)
    grads = []
    for logits_of in (_full_sequence_logits, _shared_prompt_logits):
        model.zero_grad()
        logits = logits_of(model, *_tensors(r)).float()
        (token_logprobs(logits, r.completion_ids) * r.completion_mask).sum().backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters() if p.requires_grad]))
        if logits_of is _full_sequence_logits:
            full = logits.detach()
    torch.testing.assert_close(logits.detach(), full, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(grads[1], grads[0], atol=1e-5, rtol=1e-4)
    model.zero_grad()
    distinct_rows = r.prompt_ids[::2], r.prompt_mask[::2]  # one row per prompt: nothing to share
    assert shared_prompt_pass(model, *distinct_rows) is None


def test_forward_keeping_falls_back_only_for_logits_to_keep(peft_model):
    from types import SimpleNamespace

    from fairguard.training.logprobs import forward_keeping

    model, tok, _ = peft_model
    ids = tok(["who is a good teacher ?"], return_tensors="pt")["input_ids"]
    with torch.no_grad():
        full = model(input_ids=ids).logits
        assert torch.allclose(forward_keeping(model, 1, input_ids=ids).logits, full[:, -1:],
                              atol=1e-5)

        def no_keep(input_ids):  # an older model: no logits_to_keep, every position computed
            return SimpleNamespace(logits=model(input_ids=input_ids).logits)

        assert forward_keeping(no_keep, 1, input_ids=ids).logits.shape == full.shape

        def broken(input_ids, logits_to_keep=None):  # a bug on the kept path must surface,
            if logits_to_keep is not None:  # not be retried as if the option were missing
                raise TypeError("unsupported operand type(s) for +: 'int' and 'NoneType'")
            return SimpleNamespace(logits=model(input_ids=input_ids).logits)

        with pytest.raises(TypeError, match="unsupported operand"):
            forward_keeping(broken, 1, input_ids=ids)
