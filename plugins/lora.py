"""Built-in filter ``lora``: regenerate completions with a trained debiasing LoRA adapter.

``get_filter("lora", path=ADAPTER_DIR)`` loads the base model named in the adapter's
``fairguard.json`` (written by ``fairguard train grpo``) with the adapter enabled; its
``rewrite(prompts, completions)`` answers each prompt afresh (greedy; for an adapter trained with
``--policy diffusion``, the masked-diffusion sampler at temperature 0) and returns those answers
in place of the given completions, so the guard's rewrite strategy can use what training produced.
``device`` (default: CUDA when available, else the CPU) is where the model runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from fairguard.errors import ArtifactError, ConfigError
from fairguard.hookspecs import hookimpl
from fairguard.inputs import check_pairs
from fairguard.protocols import BaseFilter

DEFAULT_MAX_NEW_TOKENS = 64


class LoraFilter(BaseFilter):
    """Text-rewrite filter: the answer of base model + adapter to each prompt."""

    name = "lora"

    def __init__(self, path: str, base_model: str | None = None, max_new_tokens: int | None = None,
                 batch_size: int = 8, device: str | None = None):
        from fairguard.artifacts import METADATA_FILE, read_metadata
        from fairguard.reward_model.inference import resolve_device

        folder = Path(path)
        if not (folder / "adapter_config.json").is_file():
            raise ArtifactError(f"{folder} is not a peft adapter folder (no adapter_config.json); "
                                "point path= at the output of `fairguard train grpo`")
        meta: dict[str, Any] = read_metadata(folder) if (folder / METADATA_FILE).is_file() else {}
        self.path = folder
        self.base_model = base_model or meta.get("base_model")
        if not self.base_model:
            raise ConfigError(f"{folder} names no base model; pass base_model= to the lora filter")
        self.max_new_tokens = int(max_new_tokens or meta.get("max_new_tokens") or DEFAULT_MAX_NEW_TOKENS)
        if self.max_new_tokens < 1 or batch_size < 1:
            raise ConfigError("lora filter: max_new_tokens and batch_size must be >= 1")
        self.batch_size = batch_size
        self.device = resolve_device(device)
        self.policy = meta.get("policy", "causal")
        self._train_config: dict[str, Any] = dict(meta.get("config") or {})
        self._model: Any = None
        self._tokenizer: Any = None
        self._generate: Any = None

    def _load(self) -> None:
        if self._model is not None:
            return
        from fairguard.models import load_peft_adapter

        family = self._policy_family()
        base, tokenizer = family.load()
        self._model = load_peft_adapter(base, self.path, base_name=self.base_model).to(self.device)
        self._tokenizer = tokenizer
        self._generate = family.evaluation_generator(self._model, tokenizer)

    def _policy_family(self) -> Any:
        """The trainer's policy family (causal LM, or masked-diffusion LM with its sampler
        settings) rebuilt from the adapter's training config."""
        from fairguard.training.config import GRPOConfig
        from fairguard.training.policy import make_policy

        options = {**self._train_config, "model": self.base_model, "policy": self.policy}
        try:
            config = GRPOConfig.from_dict(options)
        except ConfigError as exc:
            raise ArtifactError(f"{self.path}/fairguard.json has an unreadable training config ({exc}); "
                                "re-train the adapter") from exc
        return make_policy(config)

    def rewrite(self, prompts: Sequence[str], completions: Sequence[str]) -> list[str]:
        prompts, completions = check_pairs(prompts, completions)
        self._load()
        if self._generate is not None:  # masked-diffusion policy: its sampler at temperature 0
            return self._generate(prompts, self.max_new_tokens, batch_size=self.batch_size)
        from fairguard.evaluation.held_out import generate_greedy

        return generate_greedy(self._model, self._tokenizer, prompts, self.max_new_tokens,
                               batch_size=self.batch_size)


@hookimpl
def register_filters(register: Callable[..., None]) -> None:
    register("lora", LoraFilter,
             "regenerate with a debiasing LoRA adapter from `fairguard train grpo` "
             "(options path=DIR, device=auto|cpu|cuda)")
