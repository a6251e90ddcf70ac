"""Atomic checkpoints: write, find the latest, load back, prune."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from fairguard.errors import ArtifactError
from fairguard.training import checkpoint as ckpt


@pytest.fixture()
def parts(tiny_causal_lm_dir):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_causal_lm_dir),
                           LoraConfig(r=2, target_modules=["q_proj"], task_type="CAUSAL_LM"))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 / (s + 1))
    return model, opt, sched, params


def _train_once(model, opt, sched, params):
    loss = sum((p ** 2).sum() for p in params) + sum(p.sum() for p in params)
    loss.backward()
    opt.step()
    sched.step()
    opt.zero_grad()


def test_roundtrip_restores_weights_optimizer_scheduler_and_rng(parts, tmp_path):
    model, opt, sched, params = parts
    _train_once(model, opt, sched, params)
    random.seed(3)
    np.random.seed(3)
    torch.manual_seed(3)
    path = ckpt.save_checkpoint(tmp_path, 1, model, opt, sched, {"note": "x"})
    expected_draws = (random.random(), float(np.random.rand()), float(torch.rand(1)))
    weights = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    _train_once(model, opt, sched, params)  # move everything on
    assert ckpt.latest_checkpoint(tmp_path) == path
    state = ckpt.load_checkpoint(path, model, opt, sched)
    assert state["step"] == 1 and state["note"] == "x"
    for n, p in model.named_parameters():
        if p.requires_grad:
            torch.testing.assert_close(p, weights[n], atol=0, rtol=0)
    assert sched.last_epoch == 1 and opt.state_dict()["state"][0]["step"] == 1
    assert (random.random(), float(np.random.rand()), float(torch.rand(1))) == expected_draws


def test_pointer_names_the_newest_and_old_ones_are_pruned(parts, tmp_path):
    model, opt, sched, _ = parts
    for step in (2, 4, 6):
        ckpt.save_checkpoint(tmp_path, step, model, opt, sched, {}, keep=2)
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["step-000004", "step-000006"]
    assert ckpt.latest_checkpoint(tmp_path).name == "step-000006"
    assert ckpt.latest_checkpoint(tmp_path / "nothing") is None


def test_half_written_checkpoint_is_ignored_and_broken_pointer_is_an_error(parts, tmp_path):
    model, opt, sched, _ = parts
    ckpt.save_checkpoint(tmp_path, 2, model, opt, sched, {})
    (tmp_path / "checkpoints" / ".tmp-step-000004").mkdir()  # a kill during the next write
    assert ckpt.latest_checkpoint(tmp_path).name == "step-000002"
    (tmp_path / "latest").write_text("step-000009\n")
    with pytest.raises(ArtifactError, match="--overwrite"):
        ckpt.latest_checkpoint(tmp_path)
