"""GRPO / REINFORCE training of a masked-diffusion policy (tiny random BertForMaskedLM), and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from training_rewards import FAVOURED, PROMPTS, FavourWords

from fairguard.cli import cli
from fairguard.config import build_config
from fairguard.errors import ConfigError
from fairguard.scoring import WeightedRewards
from fairguard.testing import save_tiny, tiny_masked_lm, tiny_tokenizer
from fairguard.training import GRPOConfig
from fairguard.training.trainer import Trainer


def config(model_dir, **kw):
    base = {"model": str(model_dir), "policy": "diffusion", "max_steps": 2, "max_new_tokens": 8,
                "diffusion_steps": 4, "block_length": 4, "prompts_per_step": 2, "num_generations": 4,
                "save_every": 2, "eval": False, "lora_r": 4, "lora_alpha": 8, "learning_rate": 1e-2,
                "temperature": 1.0}
    base.update(kw)
    return build_config(GRPOConfig, **base)


def make(model_dir, out, **kw):
    return Trainer(config(model_dir, **kw), out, progress=False,
                   rewards=WeightedRewards([FavourWords()]), train_prompts=PROMPTS,
                   eval_prompts=PROMPTS[:2]).setup()


def favoured_mass(trainer) -> float:
    """Mean probability of FAVOURED words at fully masked answer positions (what the sampler's
    first iteration sees)."""
    tok = trainer.tokenizer
    family = trainer.policy
    ids = torch.tensor(tok.convert_tokens_to_ids(FAVOURED))
    tok.padding_side = "left"
    enc = tok(PROMPTS, return_tensors="pt", padding=True).to(trainer.peft_model.device)
    masked = torch.full((len(PROMPTS), 8), family.mask_token_id, device=trainer.peft_model.device)
    with torch.no_grad():
        x = torch.cat([enc["input_ids"], masked], 1)
        att = torch.cat([enc["attention_mask"], torch.ones_like(masked)], 1)
        logits = trainer.peft_model(input_ids=x, attention_mask=att).logits[:, enc["input_ids"].shape[1]:]
    return float(torch.softmax(logits.float(), -1)[..., ids].sum(-1).mean())


@pytest.mark.parametrize("steps, kw", [
    (16, {"algorithm": "grpo", "diffusion_logprob": "clean"}),
    (8, {"algorithm": "reinforce", "baseline": "mean", "diffusion_logprob": "masked"}),
])
def test_planted_reward_raises_favoured_words_and_only_adapter_changes(tiny_masked_lm_dir, tmp_path,
                                                                       steps, kw):
    # as in the causal test, an adapter on the output layer (BERT's tied decoder) lets the random
    # tiny model show a clear move in a few steps
    trainer = make(tiny_masked_lm_dir, tmp_path / "out", max_steps=steps, learning_rate=5e-2,
                   lora_targets="query,value,decoder", **kw)
    before = {n: p.detach().clone() for n, p in trainer.peft_model.named_parameters()}
    mass_before = favoured_mass(trainer)
    rewards = [trainer.train_step(step)["rewards"]["total"]["mean"] for step in range(steps)]
    mass_after = favoured_mass(trainer)
    changed = {n for n, p in trainer.peft_model.named_parameters() if not torch.equal(p, before[n])}
    assert changed, "nothing was trained"
    assert all("lora_" in n for n in changed), sorted(changed)[:5]
    assert mass_after > mass_before + 0.1, (mass_before, mass_after)
    assert np.mean(rewards[-3:]) > np.mean(rewards[:3]), rewards


@pytest.mark.parametrize("kw", [
    {"loss_type": "dr_grpo"},
    {"loss_type": "dapo", "gradient_accumulation_steps": 2},
    {"num_iterations": 2, "beta": 0.1, "diffusion_logprob": "masked"},
    {"algorithm": "reinforce", "temperature": 0.7, "remasking": "random"},
    {"algorithm": "reinforce", "temperature": 0.0, "num_generations": 1},
])
def test_loss_types_and_algorithms_train(tiny_masked_lm_dir, tmp_path, kw):
    trainer = make(tiny_masked_lm_dir, tmp_path / "out", **kw)
    rows = [trainer.train_step(step) for step in range(2)]
    for row in rows:
        assert np.isfinite(row["loss"]) and np.isfinite(row["grad_norm"])
        assert row["completion_length"] <= 8
        if kw.get("algorithm") == "reinforce":
            assert np.isfinite(row["kl"]) and row["kl"] >= 0


def test_train_writes_loadable_adapter_metrics_and_diffusion_evaluation(tiny_masked_lm_dir, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForMaskedLM

    out = tmp_path / "out"
    trainer = Trainer(config(tiny_masked_lm_dir, eval=True, eval_prompts=2, eval_max_new_tokens=4),
                      out, progress=False, rewards=WeightedRewards([FavourWords()]),
                      train_prompts=PROMPTS, eval_prompts=PROMPTS[:2])
    trainer.setup().train()
    for name in ("adapter_config.json", "adapter_model.safetensors", "fairguard.json",
                 "metrics.jsonl", "metrics.json", "rewards.png", "kl.png", "loss.png"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    for when in ("before", "after"):
        assert metrics[when]["n"] == 2 and set(metrics[when]["heads"]) == {"favour"}
        assert "diffusion sampler" in metrics[when]["evaluator"]
        assert all(len(e["completion"].split()) <= 4 for e in metrics[when]["examples"])
    meta = json.loads((out / "fairguard.json").read_text())
    assert meta["policy"] == "diffusion" and meta["config"]["block_length"] == 4
    assert meta["lora_targets"] == ["query", "key", "value", "attention.output.dense"]
    loaded = PeftModel.from_pretrained(AutoModelForMaskedLM.from_pretrained(tiny_masked_lm_dir), out)
    trained = dict(trainer.peft_model.named_parameters())
    lora = [n for n, _ in loaded.named_parameters() if "lora_" in n]
    assert lora
    for name, param in loaded.named_parameters():
        if "lora_" in name:
            torch.testing.assert_close(param, trained[name].cpu(), atol=0, rtol=0)


def test_resume_repeats_the_straight_run(tiny_masked_lm_dir, tmp_path):
    straight = make(tiny_masked_lm_dir, tmp_path / "a", max_steps=4, save_every=2)
    for step in range(4):
        straight.train_step(step)
    first = make(tiny_masked_lm_dir, tmp_path / "b", max_steps=4, save_every=2)
    for step in range(2):
        first.train_step(step)
    first.save_checkpoint(2)
    resumed = Trainer(config(tiny_masked_lm_dir, max_steps=4, save_every=2), tmp_path / "b",
                      progress=False, resume=True, rewards=WeightedRewards([FavourWords()]),
                      train_prompts=PROMPTS).setup()
    assert resumed.start_step == 2
    for step in range(2, 4):
        resumed.train_step(step)
    a = dict(straight.peft_model.named_parameters())
    for name, param in resumed.peft_model.named_parameters():
        if "lora_" in name:
            torch.testing.assert_close(param, a[name], atol=0, rtol=0)


def test_model_without_mask_token_is_a_clear_error(tmp_path):
    model, _ = tiny_masked_lm()
    folder = save_tiny(model, tiny_tokenizer("causal"), tmp_path / "no-mask")
    with pytest.raises(ConfigError, match="no mask token"):
        make(folder, tmp_path / "out")


# ------------------------------------------------------------------------------------ CLI


@pytest.mark.parametrize("algorithm", ["grpo", "reinforce"])
def test_cli_policy_diffusion_end_to_end(tiny_masked_lm_dir, tmp_path, length_plugin, algorithm):
    out = tmp_path / "adapter"
    args = ["train", "grpo", "--policy", "diffusion", "--model", str(tiny_masked_lm_dir),
            "--out", str(out), "--reward", "length=1", "--algorithm", algorithm,
            "--max-steps", "2", "--max-new-tokens", "8", "--diffusion-steps", "4",
            "--block-length", "4", "--num-generations", "2", "--eval-prompts", "2",
            "--lora-r", "4", "--temperature", "1.0", "--quiet"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "held-out evaluation" in result.output and "length" in result.output
    meta = json.loads((out / "fairguard.json").read_text())
    assert meta["policy"] == "diffusion" and meta["algorithm"] == algorithm
    assert meta["config"]["diffusion_steps"] == 4 and meta["config"]["trust_remote_code"] is False
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]


@pytest.mark.parametrize("args, message", [
    (["--max-new-tokens", "8", "--block-length", "3"], "multiple of block_length"),
    (["--max-new-tokens", "8", "--block-length", "4", "--diffusion-steps", "5"], "number of blocks"),
])
def test_cli_bad_diffusion_options_fail_cleanly(tiny_masked_lm_dir, tmp_path, args, message):
    result = CliRunner().invoke(cli, ["train", "grpo", "--policy", "diffusion", "--model",
                                      str(tiny_masked_lm_dir), "--out", str(tmp_path / "o"),
                                      "--quiet", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_causal_model_as_diffusion_policy_fails_cleanly(tiny_causal_lm_dir, tmp_path):
    result = CliRunner().invoke(cli, ["train", "grpo", "--policy", "diffusion", "--model",
                                      str(tiny_causal_lm_dir), "--out", str(tmp_path / "o"),
                                      "--quiet", "--max-steps", "1"])
    assert result.exit_code != 0
    assert "not a masked LM" in result.output and "Traceback" not in result.output


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_diffusion_training_on_gpu_in_bf16(tiny_masked_lm_dir, tmp_path):
    trainer = make(tiny_masked_lm_dir, tmp_path / "out", model_dtype="bfloat16", mixed_precision="bf16")
    assert next(trainer.peft_model.parameters()).is_cuda
    rows = [trainer.train_step(step) for step in range(2)]
    assert all(np.isfinite(r["loss"]) for r in rows)
