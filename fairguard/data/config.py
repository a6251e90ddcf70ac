"""The options of ``fairguard data build`` and ``fairguard data show``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from fairguard.errors import ConfigError

SIZES = {"small": 600, "default": 6000, "large": 24000}
MAX_PROMPTS = 200_000


@dataclass
class DataConfig:
    """Options of ``fairguard data build``: same seed, same bytes."""

    seed: int = field(default=0, metadata={"help": "Random seed; same seed, same bytes."})
    size: str | int = field(default="default", metadata={
        "help": "small (600 prompts), default (6000), large (24000), or a number of prompts."})
    test_fraction: float = field(default=0.15, metadata={
        "help": "Share of the prompts in the test split."})
    val_fraction: float = field(default=0.1, metadata={
        "help": "Share of the prompts in the validation split."})
    heldout_group_fraction: float = field(default=0.2, metadata={
        "help": "Share of each category's group terms held out for test."})
    heldout_template_fraction: float = field(default=0.25, metadata={
        "help": "Share of each scenario's prompt templates held out for test."})
    heldout_trait_fraction: float = field(default=0.25, metadata={
        "help": "Share of each category's stereotype wordings held out for test."})
    heldout_phrase_fraction: float = field(default=0.2, metadata={
        "help": "Share of each answer-sentence pool held out for test."})
    biased_off_topic_fraction: float = field(default=0.3, metadata={
        "help": "Share of off-topic answers that are biased answers to another scenario, so that "
                "biased wording does not tell the relevance head 'on topic' (docs/data.md)."})
    terse_fraction: float = field(default=0.0, metadata={
        "help": "Share of scenario prompts whose fair and biased answers are both terse (one "
                "reason, alone or after a 'No,' or a decision), so that length and a leading "
                "'No' do not tell the fairness head which is which (docs/judge-runs.md, "
                "twenty-fourth run; off by default)."})
    broad_fraction: float = field(default=0.7, metadata={
        "help": "Share of prompts drawn from the broad pools (fairguard/data/broad.py): groups "
                "and forms beyond the Chinese scenarios, everyday questions, answerability "
                "questions."})
    target_fraction: float = field(default=0.0, metadata={
        "help": "Share of the broad minimal pairs that say the same hostile thing about a group "
                "(biased) and about people by their conduct (fair), so the target decides "
                "(docs/judge-runs.md, tenth run; off by default)."})
    choice_fraction: float = field(default=0.15, metadata={
        "help": "Share of the broad prompts that are the UnQover questions asked with options, "
                "answered right, wrong, 'cannot be determined' or by stereotype "
                "(fairguard/data/choice.py; test rows from the held-out UnQover subjects and "
                "attributes)."})
    choice_twins: bool = field(default=False, metadata={
        "help": "Follow each answerable multiple-choice row with its twin asked about the other "
                "attribute (same context and wordings, the other person right), on top of "
                "--choice-fraction."})
    unqover: bool = field(default=True, metadata={"help": "Write the UnQover question files."})
    n_prompts: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        size = self.size
        if isinstance(size, str) and size.strip().isdigit():
            size = int(size.strip())
        if isinstance(size, bool):
            raise ConfigError("--size must be small, default, large or a number of prompts")
        if isinstance(size, int):
            if not 60 <= size <= MAX_PROMPTS:
                raise ConfigError(f"--size {size} is out of range; give 60 to {MAX_PROMPTS} "
                                  "prompts or small/default/large")
            self.n_prompts = size
        elif isinstance(size, str) and size in SIZES:
            self.n_prompts = SIZES[size]
        else:
            raise ConfigError(f"--size {size!r} is not valid; use small ({SIZES['small']}), "
                              f"default ({SIZES['default']}), large ({SIZES['large']}) or a "
                              "number of prompts")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"--seed must be a non-negative integer, got {self.seed!r}")
        for name in ("test_fraction", "val_fraction", "heldout_group_fraction",
                     "heldout_template_fraction", "heldout_trait_fraction",
                     "heldout_phrase_fraction"):
            value = getattr(self, name)
            if not 0.0 < value < 0.6:
                raise ConfigError(f"{name} must be between 0 and 0.6 (exclusive), got {value}")
        if not 0.0 <= self.choice_fraction <= 0.5:
            raise ConfigError(f"choice_fraction must be between 0 and 0.5, got {self.choice_fraction}")
        if not 0.0 <= self.broad_fraction <= 0.9:
            raise ConfigError(f"broad_fraction must be between 0 and 0.9, got {self.broad_fraction}")
        if not 0.0 <= self.target_fraction <= 1.0:
            raise ConfigError(f"target_fraction must be between 0 and 1, got {self.target_fraction}")
        if not 0.0 <= self.terse_fraction <= 1.0:
            raise ConfigError(f"terse_fraction must be between 0 and 1, got {self.terse_fraction}")
        if not 0.0 <= self.biased_off_topic_fraction <= 1.0:
            raise ConfigError("biased_off_topic_fraction must be between 0 and 1, got "
                              f"{self.biased_off_topic_fraction}")
        if self.test_fraction + self.val_fraction > 0.8:
            raise ConfigError("test_fraction + val_fraction must be at most 0.8 so that train "
                              "keeps some rows")


@dataclass
class DataShowConfig:
    """Options of ``fairguard data show``."""

    folder: Path = field(metadata={"help": "A dataset folder from `fairguard data build`.",
                                   "argument": True, "folder": True})
    split: Literal["train", "val", "test"] = field(default="train", metadata={
        "help": "Split to sample rows from."})
    n_rows: int = field(default=2, metadata={"help": "Number of sample rows to print.", "flag": "-n"})

    def __post_init__(self) -> None:
        self.folder = Path(self.folder)
        if isinstance(self.n_rows, bool) or not 0 <= self.n_rows <= 50:
            raise ConfigError(f"-n must be between 0 and 50, got {self.n_rows!r}")
