"""The validated configuration of a :class:`fairguard.Guard`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

from fairguard.errors import ConfigError
from fairguard.inputs import DEFAULT_MAX_CHARS
from fairguard.scoring import TOTAL, parse_named_numbers

Strategy = Literal["score", "rerank", "rewrite"]
FailPolicy = Literal["open", "closed"]
BelowPolicy = Literal["refuse", "flag", "raise"]
STRATEGIES = get_args(Strategy)
FAIL_POLICIES = get_args(FailPolicy)
BELOW_POLICIES = get_args(BelowPolicy)
DEFAULT_REFUSAL = ("I'm sorry, I can't give that answer. "
                   "[withheld by fairguard: it did not meet the guard's policy]")


def parse_thresholds(spec: str | Mapping[str, float] | None) -> dict[str, float]:
    """``"fairness=0.5,total=1.2"`` (or a mapping) -> ``{head or "total": minimum score}``."""
    return parse_named_numbers(spec, "threshold", "fairness=0.5 or total=1.0")


@dataclass
class GuardConfig:
    """How a guard scores, chooses, rewrites and fails.

    - ``strategy``: ``score`` (generate once, annotate), ``rerank`` (best of ``n``) or
      ``rewrite`` (best of ``n``, then filters when it is under threshold).
    - ``thresholds``: minimum score per head name, and/or ``"total"`` for the weighted total.
      An output meets the policy when every threshold is met.
    - ``fail``: what a plugin error, NaN or timeout does: ``open`` passes the text through and
      records the error; ``closed`` treats the output as under threshold (then ``below`` applies).
    - ``below``: what an output under threshold becomes: ``refuse`` (the refusal text, decision
      ``block``), ``flag`` (the best text, decision ``flag``) or ``raise``
      (:class:`fairguard.errors.GuardBlockedError`).
    - ``timeout_s``: limit of one plugin call in seconds (``None`` or 0: no limit).
    """

    strategy: Strategy = field(default="rerank", metadata={
        "help": "score (generate once, annotate), rerank (best of --n) or rewrite (best of --n, "
                "then the filters when it is under threshold)."})
    n: int = field(default=4, metadata={"help": "Candidates per prompt for rerank / rewrite."})
    # {head: weight} or "fairness=1,relevance=0.5"; None = 1.0 for every head
    weights: Any = field(default=None, metadata={
        "help": "Per-head weights, e.g. fairness=1,relevance=0.5.", "default_text": "1 each"})
    # {head or "total": minimum} or "fairness=0.5"; None = from the rewards
    thresholds: Any = field(default=None, metadata={
        "help": "Minimum scores per head or total, e.g. fairness=0.5.",
        "default_text": "the reward model's"})
    fail: FailPolicy = field(default="closed", metadata={
        "help": "When a plugin fails, times out or gives NaN: closed treats the answer as under "
                "threshold, open lets it through."})
    timeout_s: float | None = field(default=10.0, metadata={
        "help": "Seconds for one plugin call (0: no limit).", "aliases": ("timeout",)})
    below: BelowPolicy = field(default="flag", metadata={
        "help": "An answer under threshold: refuse (the refusal text), flag, or raise (an error)."})
    refusal_text: str = field(default=DEFAULT_REFUSAL, metadata={
        "help": "What --below refuse answers.", "default_text": "a short refusal"})
    max_rewrites: int = field(default=3, metadata={
        "help": "Rewrite attempts at most per answer (--strategy rewrite)."})
    max_chars: int = field(default=DEFAULT_MAX_CHARS, metadata={
        "help": "Longest text checked, in characters: longer prompts are refused, longer "
                "answers scored on their start."})
    threshold_map: dict[str, float] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}")
        if self.fail not in FAIL_POLICIES:
            raise ConfigError(f"fail must be 'open' or 'closed', got {self.fail!r}")
        if self.below not in BELOW_POLICIES:
            raise ConfigError(f"below must be one of {', '.join(BELOW_POLICIES)}, got {self.below!r}")
        if isinstance(self.n, bool) or not isinstance(self.n, int) or not 1 <= self.n <= 64:
            raise ConfigError(f"n (candidates per prompt) must be an integer in 1..64, got {self.n!r}")
        if isinstance(self.max_rewrites, bool) or not isinstance(self.max_rewrites, int) \
                or self.max_rewrites < 0:
            raise ConfigError(f"max_rewrites must be a non-negative integer, got {self.max_rewrites!r}")
        if isinstance(self.max_chars, bool) or not isinstance(self.max_chars, int) or self.max_chars < 1:
            raise ConfigError(f"max_chars must be a positive integer, got {self.max_chars!r}")
        if self.timeout_s is not None:
            if isinstance(self.timeout_s, bool) or not isinstance(self.timeout_s, (int, float)) \
                    or not math.isfinite(self.timeout_s) or self.timeout_s < 0:
                raise ConfigError(f"timeout_s must be a non-negative number of seconds or None, "
                                  f"got {self.timeout_s!r}")
            self.timeout_s = float(self.timeout_s) if self.timeout_s > 0 else None
        if not isinstance(self.refusal_text, str):
            raise ConfigError("refusal_text must be a string")
        self.threshold_map = parse_thresholds(self.thresholds)

    def to_dict(self) -> dict[str, Any]:
        """The options as a plain dict (for logs and ``fairguard.json``-style records)."""
        data = asdict(self)
        data.pop("threshold_map")
        data["thresholds"] = dict(self.threshold_map)
        return data


__all__ = [
    "BELOW_POLICIES",
    "DEFAULT_REFUSAL",
    "FAIL_POLICIES",
    "STRATEGIES",
    "TOTAL",
    "GuardConfig",
    "parse_thresholds",
]
