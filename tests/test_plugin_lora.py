"""The ``lora`` filter: regenerate completions with a trained adapter enabled."""

from __future__ import annotations

import json

import pytest
import torch

import fairguard
from fairguard.errors import ArtifactError


@pytest.fixture(scope="module")
def adapter_dir(tiny_causal_lm_dir, tmp_path_factory):
    """A LoRA adapter folder as `fairguard train grpo` writes it (non-zero weights)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_causal_lm_dir),
                           LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "lm_head"],
                                      task_type="CAUSAL_LM"))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 2.0)
    folder = tmp_path_factory.mktemp("adapter")
    model.save_pretrained(folder)
    (folder / "fairguard.json").write_text(json.dumps(
        {"kind": "grpo-adapter", "base_model": str(tiny_causal_lm_dir), "max_new_tokens": 5}))
    return folder


def test_lora_filter_regenerates_with_the_adapter(adapter_dir, tiny_causal_lm_dir):
    from fairguard.models import load_causal_lm
    from fairguard.training.evaluate import generate_greedy

    flt = fairguard.get_filter("lora", path=str(adapter_dir))
    assert flt.name == "lora" and flt.logits_processor(None) is None
    prompts = ["who is a good teacher ?", "should the boss hire a worker ?"]
    rewritten = flt.rewrite(prompts, ["he is.", "no."])
    assert len(rewritten) == 2 and all(isinstance(t, str) for t in rewritten)
    base, tok = load_causal_lm(str(tiny_causal_lm_dir))
    plain = generate_greedy(base, tok, prompts, 5)
    assert rewritten != plain  # the adapter changed the answers
    again = flt.rewrite(prompts, ["x", "y"])  # deterministic (greedy), model loaded once
    assert again == rewritten


def test_lora_filter_rejects_non_adapter_folder(tmp_path):
    with pytest.raises(ArtifactError, match="adapter_config.json"):
        fairguard.get_filter("lora", path=str(tmp_path))


def test_lora_filter_is_listed():
    from fairguard.registry import filter_registrations

    assert filter_registrations()["lora"].plugin == "lora"
