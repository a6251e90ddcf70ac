"""The GRPO / REINFORCE trainer on the tiny random causal LM."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from training_rewards import FAVOURED, PROMPTS, FavourWords

from fairguard.errors import ArtifactError, ConfigError, PluginError
from fairguard.scoring import WeightedRewards
from fairguard.training import GRPOConfig
from fairguard.training import checkpoint as ckpt
from fairguard.training.trainer import Trainer


class BreaksAt:
    """A reward that returns NaN (or raises) from its ``at``-th call on."""

    name = "flaky"
    heads = ("flaky",)

    def __init__(self, at: int, mode: str = "nan"):
        self.at, self.mode, self.calls = at, mode, 0

    def score(self, prompts, completions):
        self.calls += 1
        if self.calls >= self.at:
            if self.mode == "raise":
                raise RuntimeError("scorer crashed")
            return {"flaky": np.full(len(prompts), np.nan)}
        return {"flaky": np.arange(len(prompts)) / len(prompts)}


def config(model_dir, **kw):
    base = {"model": str(model_dir), "max_steps": 2, "max_new_tokens": 4, "prompts_per_step": 2,
                "num_generations": 4, "save_every": 2, "eval": False, "lora_r": 4, "lora_alpha": 8,
                "lora_targets": "q_proj,v_proj", "learning_rate": 1e-2, "temperature": 1.0, "beta": 0.04}
    base.update(kw)
    return GRPOConfig(**base)


def make(model_dir, out, reward=None, **kw):
    return Trainer(config(model_dir, **kw), out, progress=False,
                   rewards=WeightedRewards([reward or FavourWords()]),
                   train_prompts=PROMPTS, eval_prompts=PROMPTS[:2]).setup()


def favoured_mass(trainer) -> float:
    """Mean probability mass on FAVOURED words at the first completion position."""
    tok = trainer.tokenizer
    ids = torch.tensor(tok.convert_tokens_to_ids(FAVOURED))
    enc = tok(PROMPTS, return_tensors="pt", padding=True).to(trainer.peft_model.device)
    with torch.no_grad():
        logits = trainer.peft_model(**enc).logits[:, -1, :]
    return float(torch.softmax(logits, -1)[:, ids].sum(-1).mean())


def test_planted_reward_raises_favoured_words_and_only_adapter_changes(tiny_causal_lm_dir, tmp_path):
    # the random tiny LM's logits are nearly flat; an adapter on lm_head lets a few steps show
    # 16 steps: after 8, the favoured mass had risen by 0.1 for only some sampling seeds
    trainer = make(tiny_causal_lm_dir, tmp_path / "out", max_steps=16, learning_rate=5e-2,
                   lora_targets="q_proj,v_proj,lm_head")
    before = {n: p.detach().clone() for n, p in trainer.peft_model.named_parameters()}
    mass_before = favoured_mass(trainer)
    for step in range(16):
        trainer.train_step(step)
    mass_after = favoured_mass(trainer)
    changed = {n for n, p in trainer.peft_model.named_parameters() if not torch.equal(p, before[n])}
    assert changed, "nothing was trained"
    assert all("lora_" in n for n in changed), sorted(changed)[:5]
    assert any("lora_B" in n for n in changed)
    assert mass_after > mass_before + 0.1, (mass_before, mass_after)


def test_train_writes_loadable_adapter_and_metrics(tiny_causal_lm_dir, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    out = tmp_path / "out"
    trainer = Trainer(config(tiny_causal_lm_dir, max_steps=2, eval=True, eval_prompts=2), out,
                      progress=False, rewards=WeightedRewards([FavourWords()]),
                      train_prompts=PROMPTS, eval_prompts=PROMPTS[:2])
    trainer.setup().train()
    for name in ("adapter_config.json", "adapter_model.safetensors", "fairguard.json",
                 "metrics.jsonl", "metrics.json", "rewards.png", "kl.png", "loss.png"):
        assert (out / name).is_file(), name
    assert not ckpt.run_dir(out).exists()  # the working folder goes once the artifact is complete
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    assert {"favour", "total"} <= set(rows[0]["rewards"])
    assert {"loss", "kl", "clip_ratio", "grad_norm", "lr", "completion_length"} <= set(rows[0])
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["before"]["heads"]) == {"favour"} and metrics["after"]["n"] == 2
    paired = metrics["change_paired"]["favour"]
    assert paired["n"] == 2 and paired["change"] == pytest.approx(metrics["change"]["favour"])
    assert paired["change"] == pytest.approx(
        sum(metrics["after"]["scores"]["favour"]) / 2 - sum(metrics["before"]["scores"]["favour"]) / 2)
    meta = json.loads((out / "fairguard.json").read_text())
    assert meta["kind"] == "grpo-adapter" and meta["base_model"] == str(tiny_causal_lm_dir)
    base = AutoModelForCausalLM.from_pretrained(tiny_causal_lm_dir)
    loaded = PeftModel.from_pretrained(base, out)
    trained = dict(trainer.peft_model.named_parameters())
    for name, param in loaded.named_parameters():
        if "lora_" in name:
            torch.testing.assert_close(param, trained[name].cpu(), atol=0, rtol=0)
    with pytest.raises(ArtifactError, match="already exists"):
        Trainer(config(tiny_causal_lm_dir), out, rewards=WeightedRewards([FavourWords()]),
                train_prompts=PROMPTS).setup()
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ArtifactError, match="afile is a file, not a folder"):  # before any model loads
        Trainer(config(tiny_causal_lm_dir), tmp_path / "afile" / "out",
                rewards=WeightedRewards([FavourWords()]), train_prompts=PROMPTS).setup()


@pytest.mark.parametrize("mode", ["nan", "raise"])
def test_broken_reward_stops_with_plugin_name_and_keeps_checkpoint(tiny_causal_lm_dir, tmp_path, mode):
    out = tmp_path / "out"
    trainer = make(tiny_causal_lm_dir, out, reward=BreaksAt(3, mode), max_steps=4, save_every=2)
    with pytest.raises(PluginError) as info:
        trainer.train()
    message = str(info.value)
    assert info.value.plugin == "flaky" and "'flaky'" in message
    assert "step 3" in message and "step-000002" in message and "--resume" in message
    assert not out.exists()
    latest = ckpt.latest_checkpoint(ckpt.run_dir(out))
    assert latest is not None and latest.name == "step-000002"
    assert ckpt.read_state(latest)["step"] == 2
    assert (latest / "adapter" / "adapter_model.safetensors").is_file()
    rows = (ckpt.run_dir(out) / "metrics.jsonl").read_text().splitlines()
    assert len(rows) == 2


def test_resume_repeats_the_straight_run_exactly(tiny_causal_lm_dir, tmp_path):
    kw = {"max_steps": 4, "save_every": 2, "lr_schedule": "cosine", "warmup_steps": 1}
    straight = make(tiny_causal_lm_dir, tmp_path / "a", **kw)
    straight.train()

    class Killed(Exception):
        pass

    first = make(tiny_causal_lm_dir, tmp_path / "b", **kw)
    original = first.train_step

    def dies_at_three(step):
        if step == 2:
            raise Killed()
        return original(step)

    first.train_step = dies_at_three
    with pytest.raises(Killed):
        first.train()
    assert not (tmp_path / "b").exists()
    with pytest.raises(ArtifactError, match="--resume"):
        make(tiny_causal_lm_dir, tmp_path / "b", **kw)
    with pytest.raises(ConfigError, match="learning_rate"):
        Trainer(config(tiny_causal_lm_dir, learning_rate=0.5, **kw), tmp_path / "b", resume=True,
                rewards=WeightedRewards([FavourWords()]), train_prompts=PROMPTS).setup()
    resumed = Trainer(config(tiny_causal_lm_dir, **kw), tmp_path / "b", resume=True, progress=False,
                      rewards=WeightedRewards([FavourWords()]), train_prompts=PROMPTS,
                      eval_prompts=PROMPTS[:2]).setup()
    assert resumed.start_step == 2
    resumed.train()
    a = dict(straight.peft_model.named_parameters())
    for name, param in resumed.peft_model.named_parameters():
        if "lora_" in name:
            torch.testing.assert_close(param, a[name], atol=0, rtol=0)
    rows = [json.loads(x) for x in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]


@pytest.mark.parametrize("kw", [
    {"loss_type": "dr_grpo"},
    {"loss_type": "dapo", "scale_rewards": "batch"},
    {"loss_type": "grpo", "num_iterations": 2, "gradient_accumulation_steps": 2, "scale_rewards": "none"},
    {"algorithm": "reinforce", "num_generations": 2, "baseline": "mean"},
])
def test_loss_types_and_algorithms_train(tiny_causal_lm_dir, tmp_path, kw):
    trainer = make(tiny_causal_lm_dir, tmp_path / "out", **kw)
    before = {n: p.detach().clone() for n, p in trainer.peft_model.named_parameters() if "lora_B" in n}
    rows = [trainer.train_step(s) for s in range(2)]
    assert all(np.isfinite(r["loss"]) for r in rows)
    assert any(not torch.equal(p, before[n]) for n, p in trainer.peft_model.named_parameters() if n in before)
    if kw.get("algorithm") == "reinforce":
        assert rows[1]["kl"] > 0  # the adapter moved away from the base after one update
        assert "returns" in rows[0]
    if kw.get("num_iterations") == 2:  # the second step reuses the first step's completions
        assert rows[0]["sample"] == rows[1]["sample"] and rows[1]["clip_ratio"] >= 0


@pytest.fixture
def fresh_accelerator_state():
    """accelerate keeps one mixed-precision setting per process; a test that asks for another
    starts from a clean state and leaves one."""
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    yield
    AcceleratorState._reset_state(reset_partial_state=True)


def test_bf16_mixed_precision_trains_on_cpu(tiny_causal_lm_dir, tmp_path, fresh_accelerator_state):
    """`--mixed-precision bf16` without a GPU: the forward runs under CPU autocast, sampling too."""
    trainer = make(tiny_causal_lm_dir, tmp_path / "out", mixed_precision="bf16")
    assert trainer.accelerator.mixed_precision == "bf16"
    before = {n: p.detach().clone() for n, p in trainer.peft_model.named_parameters() if "lora_B" in n}
    rows = [trainer.train_step(s) for s in range(2)]
    assert all(np.isfinite(r["loss"]) and r["tokens"] > 0 for r in rows)
    after = dict(trainer.peft_model.named_parameters())
    assert any(not torch.equal(after[n], p) for n, p in before.items())
    assert all(after[n].dtype == torch.float32 for n in before)  # the adapter's weights stay fp32


def test_bf16_sampling_weights_train(tiny_causal_lm_dir, tmp_path, monkeypatch):
    """`--sampling-dtype bfloat16`: the sampler gets bfloat16 decoding weights (packed in
    bfloat16 where oneDNN computes it natively), the loss is computed in float32 and trains."""
    from fairguard.training import rollout

    seen = []
    real = rollout.sample_completions

    def spy(*args, **kwargs):
        seen.append(kwargs.get("weight_dtype"))
        return real(*args, **kwargs)

    monkeypatch.setattr(rollout, "sample_completions", spy)
    trainer = make(tiny_causal_lm_dir, tmp_path / "out", sampling_dtype="bfloat16")
    before = {n: p.detach().clone() for n, p in trainer.peft_model.named_parameters() if "lora_B" in n}
    rows = [trainer.train_step(s) for s in range(2)]
    assert seen and all(d == torch.bfloat16 for d in seen)
    assert all(np.isfinite(r["loss"]) and r["tokens"] > 0 for r in rows)
    after = dict(trainer.peft_model.named_parameters())
    assert any(not torch.equal(after[n], p) for n, p in before.items())
    assert all(after[n].dtype == torch.float32 for n in before)


def test_reinforce_loss_is_the_reward_guided_lora_formula(tiny_causal_lm_dir, tmp_path):
    """-mean(logp_sum x R) with R = reward - 0.1 KL, recomputed by hand on the step's batch."""
    from fairguard.training.logprobs import completion_logprobs, sequence_kl

    trainer = make(tiny_causal_lm_dir, tmp_path / "out", algorithm="reinforce", num_generations=2)
    with torch.no_grad():  # move the adapter so that KL > 0
        for n, p in trainer.peft_model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.3)
    batch = trainer.make_batch(0)
    r = batch.rollout
    kl = sequence_kl(trainer.peft_model, r.prompt_ids, r.prompt_mask, r.completion_ids, r.completion_mask).cpu()
    reward = torch.tensor(FavourWords().score(r.prompts, r.completions)["favour"], dtype=torch.float32)
    torch.testing.assert_close(batch.advantages.cpu(), reward - 0.1 * kl, atol=1e-6, rtol=0)
    assert float(kl.min()) > 0
    logps = completion_logprobs(trainer.peft_model, r.prompt_ids, r.prompt_mask, r.completion_ids,
                                r.completion_mask)
    expected = -((logps * r.completion_mask).sum(-1).cpu() * (reward - 0.1 * kl)).mean()
    row = trainer.train_step(0)
    assert abs(row["loss"] - expected.item()) < 1e-5
