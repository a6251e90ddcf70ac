"""The configuration of ``fairguard serve``: what the guard scores with, what it guards, limits."""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Any, Mapping

from fairguard.config import build_config
from fairguard.errors import ConfigError
from fairguard.guard.config import GuardConfig, parse_thresholds

DEFAULT_MODEL = "smollm2-135m-instruct"
UPSTREAM_CANDIDATES = ("one-call", "parallel")
MODERATION_PROMPT = "What do you think?"


def _positive(name: str, value: Any, integer: bool = False, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not math.isfinite(value) or value <= 0:
        what = "a positive integer" if integer else "a positive number"
        raise ConfigError(f"{name} must be {what}{' or null' if allow_none else ''}, got {value!r}")


@dataclass
class ServeConfig:
    """Everything ``fairguard serve`` needs; YAML keys and command-line flags share these names.

    The guard: ``rewards`` (``"reward-model=1,gender-bias=0.5"``, a mapping or a list; default
    ``reward-model`` when ``reward_model`` is given), ``reward_model`` (the reward-model folder,
    the ``path`` option of the ``reward-model`` reward), ``reward_options`` and
    ``filter_options`` (``{plugin: {option: value}}``), ``filters`` and ``guard`` (the
    :class:`~fairguard.guard.GuardConfig` options: ``strategy``, ``n``, ``weights``,
    ``thresholds``, ``fail``, ``below``, ``timeout_s``, ...).

    The generator: a local causal LM (``model``, default the embedded SmolLM2) or an upstream
    OpenAI-compatible server (``upstream`` base URL such as ``http://127.0.0.1:8080/v1``, with
    ``upstream_model``), asked for the candidates in one call (``upstream_candidates:
    one-call``, e.g. vLLM) or in ``n`` parallel calls (``parallel``, e.g. llama.cpp's server,
    which allows one choice per call).
    """

    rewards: Any = None
    reward_model: str | None = None
    reward_options: Any = None
    filters: Any = None
    filter_options: Any = None
    guard: Any = None
    model: str = DEFAULT_MODEL
    served_model_name: str | None = None
    device: str | None = None
    upstream: str | None = None
    upstream_model: str | None = None
    upstream_api_key: str | None = None
    upstream_timeout_s: float = 60.0
    upstream_candidates: str = "one-call"
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    max_body_bytes: int = 1_000_000
    max_inputs: int = 256
    max_n: int = 16
    max_tokens: int = 1024
    default_max_tokens: int = 128
    deadline_s: float | None = 120.0
    batch_window_ms: float = 2.0
    max_batch: int = 64
    expose_original: bool = False
    moderation_prompt: str = MODERATION_PROMPT
    moderation_thresholds: Any = None

    def __post_init__(self) -> None:
        if self.guard is None:
            self.guard = {}
        if not isinstance(self.guard, Mapping):
            raise ConfigError("guard must be a mapping of guard options, e.g. {strategy: rerank, n: 4}")
        self.guard = {str(k).replace("-", "_"): v for k, v in self.guard.items()}
        self.guard_config()  # validates the guard options now, not at the first request
        for name in ("reward_options", "filter_options"):
            value = getattr(self, name)
            if value is None:
                setattr(self, name, {})
            elif not isinstance(value, Mapping) or not all(isinstance(v, Mapping) for v in value.values()):
                raise ConfigError(f"{name} must map plugin names to option mappings, "
                                  f"e.g. {{reward-model: {{path: rm-onnx}}}}")
        if self.rewards is None and self.reward_model is None:
            raise ConfigError("no rewards: give --reward-model DIR (a folder from `fairguard train reward` "
                              "or `fairguard export onnx`), or `rewards:` in the --config YAML")
        if self.upstream is not None:
            if not isinstance(self.upstream, str) or not self.upstream.startswith(("http://", "https://")):
                raise ConfigError(f"upstream must be an http(s) base URL such as http://127.0.0.1:8080/v1, "
                                  f"got {self.upstream!r}")
        if self.upstream_candidates not in UPSTREAM_CANDIDATES:
            raise ConfigError(f"upstream_candidates must be one of {', '.join(UPSTREAM_CANDIDATES)}, "
                              f"got {self.upstream_candidates!r}")
        if self.api_key is not None and (not isinstance(self.api_key, str) or not self.api_key.strip()):
            raise ConfigError("api_key must be a non-empty string (or unset for no key)")
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be an integer in 0..65535, got {self.port!r}")
        for name in ("max_body_bytes", "max_inputs", "max_n", "max_tokens", "default_max_tokens", "max_batch"):
            _positive(name, getattr(self, name), integer=True)
        _positive("upstream_timeout_s", self.upstream_timeout_s)
        _positive("deadline_s", self.deadline_s, allow_none=True)
        if isinstance(self.batch_window_ms, bool) or not isinstance(self.batch_window_ms, (int, float)) \
                or not 0 <= self.batch_window_ms <= 1000:
            raise ConfigError(f"batch_window_ms must be a number in 0..1000, got {self.batch_window_ms!r}")
        if self.default_max_tokens > self.max_tokens:
            raise ConfigError(f"default_max_tokens ({self.default_max_tokens}) is above max_tokens "
                              f"({self.max_tokens})")
        if not isinstance(self.moderation_prompt, str) or not self.moderation_prompt.strip():
            raise ConfigError("moderation_prompt must be non-empty text")
        if self.moderation_thresholds is not None:
            parse_thresholds(self.moderation_thresholds)

    def guard_config(self) -> GuardConfig:
        """The validated guard options."""
        try:
            return GuardConfig(**self.guard)
        except TypeError as exc:
            raise ConfigError(f"unknown guard option in `guard:`: {exc}") from None

    @property
    def backend(self) -> str:
        return "upstream" if self.upstream else "local"

    def model_names(self) -> list[str]:
        """The model names clients may ask for; empty = any (passed to the upstream as given)."""
        if self.served_model_name:
            return [self.served_model_name]
        if self.upstream:
            return [self.upstream_model] if self.upstream_model else []
        return [self.model]

    def public(self) -> dict[str, Any]:
        """The options without secrets (for /health and logs)."""
        data = dataclasses.asdict(self)
        for secret in ("api_key", "upstream_api_key"):
            data[secret] = "(set)" if data[secret] else None
        return data


GUARD_FLAGS = ("strategy", "n", "weights", "thresholds", "fail", "below", "timeout_s")


def build_serve_config(yaml_path: str | os.PathLike[str] | None = None,
                       guard_overrides: Mapping[str, Any] | None = None, **overrides: Any) -> ServeConfig:
    """A :class:`ServeConfig` from YAML, with flags on top (``guard_overrides`` go into ``guard``)."""
    config = build_config(ServeConfig, yaml_path, **overrides)
    extra = {k: v for k, v in (guard_overrides or {}).items() if v is not None}
    if not extra:
        return config
    return dataclasses.replace(config, guard={**config.guard, **extra})
