"""Generation with a policy LM: chat formatting of prompts, batched response generation
(greedy or sampled), and loading a policy LM with an optional peft adapter.

The trainer's rollouts (``training/rollout.py``) and every evaluation runner format prompts with
:func:`format_prompts` from here."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Sequence

from fairguard.errors import ConfigError
from fairguard.inputs import check_texts


@dataclass(frozen=True)
class DecodingConfig:
    """How responses are generated: greedy by default, sampled with ``do_sample``."""

    max_new_tokens: int = 64
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    batch_size: int = 8
    seed: int = 0
    chat_template: bool | None = None  # None: use the tokenizer's chat template when it has one
    max_prompt_tokens: int = 512

    def __post_init__(self) -> None:
        for name in ("max_new_tokens", "batch_size", "max_prompt_tokens"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(self.temperature, (int, float)) or not math.isfinite(self.temperature) \
                or self.temperature <= 0:
            raise ConfigError(f"temperature must be a positive number, got {self.temperature!r}")
        if not isinstance(self.top_p, (int, float)) or not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p must be in (0, 1], got {self.top_p!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_policy(model: str, adapter: str | None = None) -> tuple[Any, Any]:
    """Load ``(model, tokenizer)`` of a causal LM name, with a peft adapter folder applied."""
    from fairguard.models import load_causal_lm, load_peft_adapter

    lm, tokenizer = load_causal_lm(model)
    if adapter is None:
        return lm, tokenizer
    return load_peft_adapter(lm, adapter, base_name=model), tokenizer


def uses_chat_template(tokenizer: Any, chat_template: bool | None) -> bool:
    """Whether prompts are wrapped in the chat template (``None``: when the tokenizer has one)."""
    has = bool(getattr(tokenizer, "chat_template", None))
    if chat_template and not has:
        raise ConfigError("the tokenizer has no chat template; leave chat_template unset or False")
    return has if chat_template is None else bool(chat_template)


def chat_text(tokenizer: Any, messages: Sequence[dict[str, str]]) -> str:
    """The text fed to the LM for a chat (``[{"role", "content"}, ...]``): the tokenizer's chat
    template with the generation prompt appended; tokenize it without special tokens."""
    return tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)


def format_prompts(tokenizer: Any, prompts: Sequence[str], chat_template: bool | None = None) -> list[str]:
    """The text fed to the LM for each prompt: a one-turn user chat (:func:`chat_text`) when the
    chat template is used, the prompt itself otherwise."""
    if not uses_chat_template(tokenizer, chat_template):
        return list(prompts)
    return [chat_text(tokenizer, [{"role": "user", "content": p}]) for p in prompts]


def generate_responses(model: Any, tokenizer: Any, prompts: Sequence[str],
                       config: DecodingConfig | None = None, *,
                       logits_processors: Sequence[Any] | None = None,
                       progress: bool = True) -> list[str]:
    """Generate one response per prompt, in batches (left padding); returns decoded new text.

    Sampling uses ``config.seed`` inside a forked RNG, so the caller's random state is untouched
    and the same seed gives the same responses. ``logits_processors`` (e.g. a REFINE-LM layer)
    are applied at every step.
    """
    import torch
    from tqdm.auto import tqdm
    from transformers import LogitsProcessorList

    config = config or DecodingConfig()
    prompts = check_texts(prompts, "prompts")
    texts = format_prompts(tokenizer, prompts, config.chat_template)
    add_special = not uses_chat_template(tokenizer, config.chat_template)
    if tokenizer.pad_token_id is None:
        if tokenizer.eos_token_id is None:
            raise ConfigError("the tokenizer has neither a pad nor an EOS token; cannot batch prompts")
        tokenizer.pad_token = tokenizer.eos_token
    device = next(model.parameters()).device
    kwargs: dict[str, Any] = {"max_new_tokens": config.max_new_tokens, "do_sample": config.do_sample,
                              "pad_token_id": tokenizer.pad_token_id}
    if config.do_sample:
        kwargs.update(temperature=config.temperature, top_p=config.top_p)
    else:
        kwargs.update(temperature=None, top_p=None, top_k=None)
    if logits_processors:
        kwargs["logits_processor"] = LogitsProcessorList(list(logits_processors))
    responses: list[str] = []
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    devices = [device] if device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(config.seed)
            batches = range(0, len(texts), config.batch_size)
            for start in tqdm(batches, desc="generating", unit="batch", disable=not progress):
                batch = texts[start:start + config.batch_size]
                enc = tokenizer(batch, return_tensors="pt", padding=True, truncation=True,
                                max_length=config.max_prompt_tokens, add_special_tokens=add_special)
                enc = {k: v.to(device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
                with torch.no_grad():
                    out = model.generate(**enc, **kwargs)
                new = out[:, enc["input_ids"].shape[1]:]
                responses.extend(t.strip() for t in tokenizer.batch_decode(new, skip_special_tokens=True))
    finally:
        tokenizer.padding_side = side
    return responses

