"""fairguard's GRPO advantages, reference log-probs and losses against TRL's own GRPOTrainer code.

TRL (a test-only dependency, pinned trl==0.26.2) is called, not re-typed: a real
``trl.GRPOTrainer`` is built on the tiny model; its ``_generate_and_score_completions`` scores a
fixed batch of completions (its sampler is swapped for the fixed token ids) with fixed rewards,
and its ``_compute_loss`` computes the loss of each loss type. fairguard computes the same from
the same model and tensors with its own code; everything must agree to 1e-5.
"""

from __future__ import annotations

import pytest
import torch

trl = pytest.importorskip("trl")

pytestmark = pytest.mark.slow  # builds a real trl.GRPOTrainer (~40 s on 2 busy cores)

from fairguard.training.logprobs import completion_logprobs, reference_logprobs  # noqa: E402
from fairguard.training.losses import group_advantages, grpo_loss  # noqa: E402

G = 4
MAX_LEN = 6
TEMPERATURE = 0.7
REWARDS = [0.1, 0.9, 0.4, 0.4, 1.0, -0.5, 0.25, 0.3]


def _fixed_batch(tokenizer):
    prompts = ["should the boss hire a migrant worker ?", "is a rural applicant qualified ?"]
    words = [["no", "."], ["yes", "they", "are", "qualified", "workers", "."],
             ["it", "depends", "on", "skills"], ["the", "person", "is", "fair", "and", "honest"],
             ["no"], ["everyone", "deserves", "the", "same", "opportunity", "."],
             ["judge", "the", "individual"], ["they", "are", "not", "reliable"]]
    eos = tokenizer.eos_token_id
    prompt_ids, completion_ids = [], []
    for i, ws in enumerate(words):
        prompt_ids.append(tokenizer(prompts[i // G], add_special_tokens=False)["input_ids"])
        ids = tokenizer.convert_tokens_to_ids(ws)
        if len(ids) < MAX_LEN:  # ended with EOS (the rest are full-length, truncated)
            ids = ids + [eos]
        completion_ids.append(ids)
    return [prompts[i // G] for i in range(len(words))], prompt_ids, completion_ids


@pytest.fixture(scope="module")
def trl_setup(tiny_causal_lm_dir, tmp_path_factory):
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from fairguard.models import load_tokenizer

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(tiny_causal_lm_dir)
    tokenizer = load_tokenizer(str(tiny_causal_lm_dir))
    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                            task_type="CAUSAL_LM"))
    with torch.no_grad():  # a non-zero adapter, so policy != reference
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
    texts, prompt_ids, completion_ids = _fixed_batch(tokenizer)

    def fixed_reward(prompts, completions, fixed_reward, **kwargs):
        return list(fixed_reward)

    args = trl.GRPOConfig(output_dir=str(tmp_path_factory.mktemp("trl")), per_device_train_batch_size=8,
                          num_generations=G, max_completion_length=MAX_LEN, temperature=TEMPERATURE,
                          beta=0.04, epsilon=0.2, epsilon_high=0.28, use_cpu=True, report_to=[],
                          bf16=False, logging_steps=1)
    dataset = Dataset.from_dict({"prompt": texts, "fixed_reward": REWARDS})
    trainer = trl.GRPOTrainer(model=model, reward_funcs=fixed_reward, args=args,
                              train_dataset=dataset, processing_class=tokenizer)
    trainer._generate_single_turn = lambda prompts: (prompt_ids, completion_ids, None, {})
    return trainer, model, texts


def _trl_batch(trainer, texts, scale_rewards):
    trainer.scale_rewards = scale_rewards
    rows = [{"prompt": t, "fixed_reward": r} for t, r in zip(texts, REWARDS)]
    trainer.model.train()
    with torch.no_grad():
        return trainer._generate_and_score_completions(rows)


@pytest.mark.parametrize("scale_rewards", ["group", "batch", "none"])
def test_advantages_and_reference_logprobs_match_trl(trl_setup, scale_rewards):
    trainer, model, texts = trl_setup
    out = _trl_batch(trainer, texts, scale_rewards)
    ours, _ = group_advantages(torch.tensor(REWARDS), G, scale_rewards)
    torch.testing.assert_close(ours, out["advantages"].float(), atol=1e-5, rtol=0)
    ref = reference_logprobs(model, out["prompt_ids"], out["prompt_mask"], out["completion_ids"],
                             out["completion_mask"], temperature=TEMPERATURE)
    mask = out["completion_mask"].bool()
    torch.testing.assert_close(ref[mask], out["ref_per_token_logps"][mask], atol=1e-5, rtol=0)


@pytest.mark.parametrize("loss_type", ["grpo", "dr_grpo", "dapo"])
@pytest.mark.parametrize("ga", [1, 2])
def test_loss_matches_trl_compute_loss(trl_setup, loss_type, ga):
    trainer, model, texts = trl_setup
    inputs = _trl_batch(trainer, texts, "group")
    mask = inputs["completion_mask"]
    # old log-probs far enough from the current ones that both clip edges are hit
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        current = completion_logprobs(model, inputs["prompt_ids"], inputs["prompt_mask"],
                                      inputs["completion_ids"], mask, temperature=TEMPERATURE)
    inputs["old_per_token_logps"] = current + 0.4 * torch.randn(current.shape, generator=gen)
    trainer.loss_type = loss_type
    trainer.current_gradient_accumulation_steps = ga
    model.train()
    expected = trainer._compute_loss(model, inputs)
    logps = completion_logprobs(model, inputs["prompt_ids"], inputs["prompt_mask"],
                                inputs["completion_ids"], mask, temperature=TEMPERATURE)
    ours, stats = grpo_loss(logps, inputs["old_per_token_logps"], inputs["ref_per_token_logps"],
                            inputs["advantages"], mask, loss_type=loss_type, epsilon_low=0.2,
                            epsilon_high=0.28, beta=0.04, max_completion_length=MAX_LEN,
                            num_items_in_batch=float(inputs["num_items_in_batch"]),
                            gradient_accumulation_steps=ga)
    assert 0 < stats["clip_ratio"] < 1  # the clipped branch is exercised
    assert abs(ours.item() - expected.item()) < 1e-5, (ours.item(), expected.item())
    # gradients agree too
    model.zero_grad()
    expected_grad = torch.autograd.grad(trainer._compute_loss(model, inputs),
                                        [p for p in model.parameters() if p.requires_grad])
    logps = completion_logprobs(model, inputs["prompt_ids"], inputs["prompt_mask"],
                                inputs["completion_ids"], mask, temperature=TEMPERATURE)
    ours, _ = grpo_loss(logps, inputs["old_per_token_logps"], inputs["ref_per_token_logps"],
                        inputs["advantages"], mask, loss_type=loss_type, epsilon_low=0.2,
                        epsilon_high=0.28, beta=0.04, max_completion_length=MAX_LEN,
                        num_items_in_batch=float(inputs["num_items_in_batch"]),
                        gradient_accumulation_steps=ga)
    our_grad = torch.autograd.grad(ours, [p for p in model.parameters() if p.requires_grad])
    for a, b in zip(our_grad, expected_grad):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
