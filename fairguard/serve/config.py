"""The configuration of ``fairguard serve``: what the guard scores with, what it guards, limits."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from fairguard.config import build_config, plugin_options
from fairguard.errors import ConfigError
from fairguard.guard.config import GuardConfig, parse_thresholds

DEFAULT_MODEL = "smollm2-135m-instruct"
UpstreamCandidates = Literal["one-call", "parallel"]
UPSTREAM_CANDIDATES = get_args(UpstreamCandidates)
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

    reward_model: str | None = field(default=None, metadata={
        "help": "Reward-model folder (from `fairguard train reward` or `fairguard export onnx`)."})
    rewards: Any = field(default=None, metadata={
        "help": "Rewards and their weights, e.g. reward-model=1,gender-bias=0.5.",
        "default_text": "reward-model"})
    reward_options: Any = field(default=None, metadata={
        "help": "{plugin: {option: value}} for the rewards (YAML only).", "cli": False})
    filters: Any = field(default=None, metadata={
        "help": "Filters tried in order by --strategy rewrite, comma-separated, e.g. neutralize."})
    filter_options: Any = field(default=None, metadata={
        "help": "{plugin: {option: value}} for the filters (YAML only).", "cli": False})
    guard: Any = field(default=None, metadata={
        "help": "The guard's options (GuardConfig); flags such as --strategy override them.",
        "cli": False})
    model: str = field(default=DEFAULT_MODEL, metadata={
        "help": "Local causal LM: an embedded name, a folder or a hub id."})
    served_model_name: str | None = field(default=None, metadata={
        "help": "The model name clients use.", "default_text": "--model or --upstream-model"})
    device: str | None = field(default=None, metadata={
        "help": "Device of the local model (cpu, cuda, ...)."})
    upstream: str | None = field(default=None, metadata={
        "help": "Base URL of an OpenAI-compatible server to guard instead of the local model, "
                "e.g. http://127.0.0.1:8080/v1."})
    upstream_model: str | None = field(default=None, metadata={
        "help": "Model name to ask the upstream for (and the only name clients may use)."})
    upstream_api_key: str | None = field(default=None, metadata={
        "help": "Bearer key for the upstream.", "envvar": "FAIRGUARD_UPSTREAM_API_KEY"})
    upstream_timeout_s: float = field(default=60.0, metadata={
        "help": "Seconds for one upstream call."})
    upstream_candidates: UpstreamCandidates = field(default="one-call", metadata={
        "help": "Ask the upstream for n candidates in one call (vLLM) or n parallel calls "
                "(llama.cpp)."})
    host: str = field(default="127.0.0.1", metadata={
        "help": "Address to bind (127.0.0.1: this machine only)."})
    port: int = field(default=8000, metadata={"help": "Port."})
    api_key: str | None = field(default=None, metadata={
        "help": "Require 'Authorization: Bearer KEY' on every endpoint but /health.",
        "envvar": "FAIRGUARD_API_KEY"})
    max_body_bytes: int = field(default=1_000_000, metadata={"help": "Largest request body."})
    max_inputs: int = field(default=256, metadata={
        "help": "Most messages, prompts or moderation inputs in one request."})
    max_n: int = field(default=16, metadata={"help": "Largest n a client may ask for."})
    max_tokens: int = field(default=1024, metadata={
        "help": "Largest max_tokens a client may ask for."})
    default_max_tokens: int = field(default=128, metadata={
        "help": "max_tokens of a request that gives none."})
    deadline_s: float | None = field(default=120.0, metadata={
        "help": "Seconds for a whole request, generation included.", "aliases": ("deadline",)})
    batch_window_ms: float = field(default=2.0, metadata={
        "help": "Milliseconds the scorer waits to batch concurrent requests."})
    max_batch: int = field(default=64, metadata={"help": "Most pairs scored in one batch."})
    expose_original: bool = field(default=False, metadata={
        "help": "Show the original text of a rewritten or refused answer in its record."})
    moderation_prompt: str = field(default=MODERATION_PROMPT, metadata={
        "help": "Prompt the texts of /v1/moderations are scored as answers to."})
    moderation_thresholds: Any = field(default=None, metadata={
        "help": "Minimum scores of /v1/moderations, e.g. fairness=0.5.",
        "default_text": "the guard's, without relevance"})

    def __post_init__(self) -> None:
        if self.guard is None:
            self.guard = {}
        if not isinstance(self.guard, Mapping):
            raise ConfigError("guard must be a mapping of guard options, e.g. {strategy: rerank, n: 4}")
        self.guard = {str(k).replace("-", "_"): v for k, v in self.guard.items()}
        self.guard_config()  # validates the guard options now, not at the first request
        for name in ("reward_options", "filter_options"):
            setattr(self, name, plugin_options(name, getattr(self, name)))
        if self.rewards is None and self.reward_model is None:
            raise ConfigError("no rewards: give --reward-model DIR (a folder from `fairguard train reward` "
                              "or `fairguard export onnx`), or `rewards:` in the --config YAML")
        if self.upstream is not None and (not isinstance(self.upstream, str)
                                          or not self.upstream.startswith(("http://", "https://"))):
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
