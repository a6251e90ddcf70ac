"""Chat formatting, batched generation and loading a policy LM with an adapter (tiny causal LM)."""

from __future__ import annotations

import pytest
import torch

from fairguard.errors import ArtifactError, ConfigError
from fairguard.generation import (
    DecodingConfig,
    format_prompts,
    generate_responses,
    load_policy,
)

PROMPTS = ["should the landlord rent to the rider", "who is a good teacher", "is the migrant worker honest"]


@pytest.fixture(scope="module")
def tiny(tiny_causal_lm_dir):
    return load_policy(str(tiny_causal_lm_dir))


def test_greedy_generation_is_batch_independent_and_repeatable(tiny):
    model, tok = tiny
    side = tok.padding_side
    one = generate_responses(model, tok, PROMPTS, DecodingConfig(max_new_tokens=6, batch_size=1), progress=False)
    three = generate_responses(model, tok, PROMPTS, DecodingConfig(max_new_tokens=6, batch_size=3), progress=False)
    assert one == three and len(one) == 3
    assert all(isinstance(r, str) for r in one)
    assert tok.padding_side == side


def test_sampling_is_seeded_and_leaves_global_rng_alone(tiny):
    model, tok = tiny
    cfg = DecodingConfig(max_new_tokens=12, do_sample=True, seed=3)
    state = torch.get_rng_state()
    a = generate_responses(model, tok, PROMPTS, cfg, progress=False)
    assert torch.equal(state, torch.get_rng_state())
    b = generate_responses(model, tok, PROMPTS, cfg, progress=False)
    c = generate_responses(model, tok, PROMPTS, DecodingConfig(max_new_tokens=12, do_sample=True, seed=4),
                           progress=False)
    assert a == b and a != c


def test_chat_template_choice(tiny):
    _, tok = tiny
    assert format_prompts(tok, PROMPTS) == PROMPTS  # the tiny tokenizer has no chat template
    with pytest.raises(ConfigError, match="no chat template"):
        format_prompts(tok, PROMPTS, chat_template=True)


@pytest.mark.parametrize("options, message", [
    ({"max_new_tokens": 0}, "max_new_tokens"),
    ({"temperature": 0.0}, "temperature"),
    ({"top_p": 1.5}, "top_p"),
    ({"batch_size": True}, "batch_size"),
])
def test_generation_config_validation(options, message):
    with pytest.raises(ConfigError, match=message):
        DecodingConfig(**options)


def test_adapter_is_applied_and_bad_adapter_is_clear(tmp_path, tiny_causal_lm_dir):
    from peft import LoraConfig, PeftModel, get_peft_model

    base, tok = load_policy(str(tiny_causal_lm_dir))
    peft_model = get_peft_model(base, LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    for name, param in peft_model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(param, std=0.5)
    peft_model.save_pretrained(tmp_path / "adapter")
    lm, _ = load_policy(str(tiny_causal_lm_dir), str(tmp_path / "adapter"))
    assert isinstance(lm, PeftModel)
    plain, _ = load_policy(str(tiny_causal_lm_dir))
    ids = tok(PROMPTS[0], return_tensors="pt")["input_ids"]
    with torch.no_grad():
        assert not torch.allclose(lm(input_ids=ids).logits, plain(input_ids=ids).logits)
    with pytest.raises(ArtifactError, match="adapter_config.json"):
        load_policy(str(tiny_causal_lm_dir), str(tmp_path))


def test_chat_text_and_format_prompts_use_the_template(tiny_causal_lm_dir):
    from fairguard.generation import chat_text
    from fairguard.models import load_tokenizer

    tok = load_tokenizer(str(tiny_causal_lm_dir))
    tok.chat_template = ("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
                         "{% if add_generation_prompt %}assistant:{% endif %}")
    assert chat_text(tok, [{"role": "user", "content": "hi"}]) == "user: hi\nassistant:"
    assert format_prompts(tok, ["hi", "yo"]) == ["user: hi\nassistant:", "user: yo\nassistant:"]
    assert format_prompts(tok, ["hi"], chat_template=False) == ["hi"]
