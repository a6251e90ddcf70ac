"""Policy families: the causal wrapper keeps the original numbers; LoRA targets (masked-LM
loading: tests/test_models.py)."""

from __future__ import annotations

import pytest
import torch
from peft import LoraConfig, get_peft_model

from fairguard.config import build_config
from fairguard.errors import ConfigError
from fairguard.testing import save_tiny, tiny_causal_lm, tiny_masked_lm, tiny_tokenizer
from fairguard.training import logprobs as lp
from fairguard.training.config import GRPOConfig
from fairguard.training.policy import (
    CausalPolicy,
    DiffusionPolicy,
    auto_lora_targets,
    make_policy,
)
from fairguard.training.rollout import sample_completions

PROMPTS = ["who is a good teacher ?", "should the boss hire a migrant worker ?"]


def test_make_policy_follows_the_config():
    assert isinstance(make_policy(GRPOConfig()), CausalPolicy)
    assert isinstance(make_policy(GRPOConfig(policy="diffusion")), DiffusionPolicy)


def test_causal_policy_gives_the_original_numbers_bit_for_bit():
    model, tokenizer = tiny_causal_lm()
    peft = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                            task_type="CAUSAL_LM"))
    for name, param in peft.named_parameters():
        if "lora_B" in name:
            param.data.normal_(0, 0.3)
    policy = CausalPolicy(GRPOConfig())
    torch.manual_seed(0)
    rollout = policy.sample(peft, tokenizer, PROMPTS, 2, 5, 1.0, 1.0)
    torch.manual_seed(0)
    original = sample_completions(peft, tokenizer, PROMPTS, 2, 5, 1.0, 1.0)
    assert torch.equal(rollout.completion_ids, original.completion_ids)
    assert rollout.completions == original.completions
    tensors = (rollout.prompt_ids, rollout.prompt_mask, rollout.completion_ids, rollout.completion_mask)
    pairs = [
        (policy.completion_logprobs(peft, *tensors, temperature=0.7),
         lp.completion_logprobs(peft, *tensors, temperature=0.7)),
        (policy.reference_logprobs(peft, *tensors, micro_batch=2),
         lp.reference_logprobs(peft, *tensors, micro_batch=2)),
        (policy.policy_logprobs(peft, *tensors), lp.policy_logprobs(peft, *tensors)),
        (policy.sequence_kl(peft, *tensors), lp.sequence_kl(peft, *tensors)),
    ]
    for got, want in pairs:
        assert torch.equal(got, want)


def test_diffusion_generic_helpers_are_consistent():
    model, tokenizer = tiny_masked_lm()
    policy = DiffusionPolicy(GRPOConfig(policy="diffusion", max_new_tokens=4))
    policy.prepare(model, tokenizer)  # what load() does: dropout off, mask / stop tokens read
    assert policy.mask_token_id == tokenizer.mask_token_id and policy.position_ids
    peft = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["query", "value"]))
    peft.train()  # the trainer's mode: still deterministic (BERT's dropout 0.1 is switched off)
    for name, param in peft.named_parameters():
        if "lora_B" in name:
            param.data.normal_(0, 0.3)
    torch.manual_seed(0)
    rollout = policy.sample(peft, tokenizer, PROMPTS, 3, 4, 1.0)
    assert rollout.completion_ids.shape == (6, 4) and len(rollout.completions) == 6
    assert rollout.prompts == [p for p in PROMPTS for _ in range(3)]
    tensors = (rollout.prompt_ids, rollout.prompt_mask, rollout.completion_ids, rollout.completion_mask)
    with torch.no_grad():
        now = policy.completion_logprobs(peft, *tensors)
    torch.testing.assert_close(policy.policy_logprobs(peft, *tensors, micro_batch=4), now)
    ref = policy.reference_logprobs(peft, *tensors, micro_batch=4)
    kl = policy.sequence_kl(peft, *tensors)
    assert ref.shape == now.shape and kl.shape == (6,)
    assert not torch.allclose(ref, now) and (kl > 0).all() and torch.isfinite(kl).all()


def test_auto_lora_targets_by_architecture():
    from transformers import DebertaV2Config, DebertaV2ForMaskedLM

    bert, _ = tiny_masked_lm()
    assert auto_lora_targets(bert) == ["query", "key", "value", "attention.output.dense"]
    deberta = DebertaV2ForMaskedLM(DebertaV2Config(vocab_size=64, hidden_size=16, intermediate_size=32,
                                                   num_hidden_layers=1, num_attention_heads=2))
    assert auto_lora_targets(deberta) == ["query_proj", "key_proj", "value_proj", "attention.output.dense"]

    class Block(torch.nn.Module):  # LLaDA's module names
        def __init__(self):
            super().__init__()
            for name in ("q_proj", "k_proj", "v_proj", "attn_out", "ff_proj", "ff_out"):
                setattr(self, name, torch.nn.Linear(4, 4))

    llada = torch.nn.Sequential(Block(), Block())
    assert auto_lora_targets(llada) == ["q_proj", "k_proj", "v_proj", "attn_out"]
    with pytest.raises(ConfigError, match="--lora-targets"):
        auto_lora_targets(torch.nn.Sequential(torch.nn.Conv1d(2, 2, 1)))


def test_diffusion_lora_targets_default_auto_or_explicit():
    bert, _ = tiny_masked_lm()
    auto = ["query", "key", "value", "attention.output.dense"]
    assert DiffusionPolicy(GRPOConfig(policy="diffusion")).lora_targets(bert) == auto
    assert DiffusionPolicy(GRPOConfig(policy="diffusion", lora_targets="auto")).lora_targets(bert) == auto
    explicit = GRPOConfig(policy="diffusion", lora_targets="query,decoder")
    assert DiffusionPolicy(explicit).lora_targets(bert) == ["query", "decoder"]


def test_a_masked_lm_without_a_mask_token_is_refused(tmp_path):
    model, _ = tiny_masked_lm()
    folder = save_tiny(model, tiny_tokenizer("causal"), tmp_path / "no-mask")
    with pytest.raises(ConfigError, match="no mask token"):
        DiffusionPolicy(GRPOConfig(policy="diffusion", model=str(folder))).load()


@pytest.mark.parametrize("kw, message", [
    ({"policy": "flow"}, "policy"),
    ({"policy": "diffusion", "max_new_tokens": 8, "block_length": 3}, "multiple of block_length"),
    ({"policy": "diffusion", "max_new_tokens": 8, "block_length": 4, "diffusion_steps": 3},
     "multiple of the number of blocks"),
    ({"policy": "diffusion", "max_new_tokens": 8, "diffusion_steps": 16}, "iterations per block"),
    ({"policy": "diffusion", "remasking": "entropy"}, "remasking"),
    ({"policy": "diffusion", "diffusion_logprob": "exact"}, "diffusion_logprob"),
    ({"policy": "diffusion", "temperature": -0.5}, "temperature"),
    ({"policy": "diffusion", "max_new_tokens": 8, "block_length": 4, "eval_max_new_tokens": 6},
     "eval_max_new_tokens"),
    ({"trust_remote_code": True}, "diffusion only"),
    ({"model_dtype": "int8"}, "model_dtype"),
])
def test_diffusion_config_errors(kw, message):
    with pytest.raises(ConfigError, match=message):
        build_config(GRPOConfig, **kw)


def test_diffusion_config_schedule_and_temperature_zero():
    cfg = build_config(GRPOConfig, policy="diffusion", temperature=0.0, max_new_tokens=16,
                       diffusion_steps=8, block_length=4, eval_max_new_tokens=32)
    assert (cfg.denoising_steps, cfg.denoising_block) == (8, 4)
    assert (cfg.eval_steps, cfg.eval_block) == (16, 4)  # 2 iterations per block of 4, 8 blocks
    one_block = GRPOConfig(policy="diffusion", max_new_tokens=16, eval_max_new_tokens=8)
    assert (one_block.denoising_steps, one_block.denoising_block) == (16, 16)
    assert (one_block.eval_steps, one_block.eval_block) == (8, 8)
