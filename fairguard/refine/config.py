"""The options of ``fairguard train refine`` (a REFINE-LM layer over a frozen LM) and of
``fairguard eval refine`` (its UnQover evaluation)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

from fairguard.errors import ConfigError

Estimator = Literal["exact", "sample"]
ESTIMATORS = get_args(Estimator)


@dataclass
class RefineConfig:
    """Options of ``fairguard train refine`` (YAML keys use the same names)."""

    model: str = field(default="", metadata={
        "help": "Base LM: embedded name (smollm2-135m-instruct), folder or hub id."})
    data: str = field(default="", metadata={
        "help": "Dataset folder from `fairguard data build` (uses DIR/unqover/)."})
    category: str = field(default="", metadata={
        "help": "UnQover category to debias (gender, region, ethnicity, occupation, ...; comma "
                "list allowed)."})
    k: int | None = field(default=None, metadata={
        "help": "Top-k size.",
        "default_text": "8 for masked LMs, 10 for causal LMs"})
    epochs: int = field(default=100, metadata={
        "help": "Passes over the cached training questions."})
    learning_rate: float = field(default=0.02, metadata={
        "help": "Adam learning rate.",
        "aliases": ("lr",)})
    seed: int = field(default=0, metadata={"help": "Random seed."})
    batch_quads: int = field(default=16, metadata={"help": "Ambiguous quads per mini-batch."})
    estimator: Estimator = field(default="exact", metadata={
        "help": "Policy gradient: exact expected gradient or sampled REINFORCE."})
    samples: int = field(default=16, metadata={
        "help": "Sampled actions per question (--estimator sample)."})
    weight_c: float = field(default=1.0, metadata={
        "help": "Reward weight of |C|, the reference's bias term."})
    weight_positional: float = field(default=2.0, metadata={
        "help": "Reward weight of the positional error (delta)."})
    weight_attributive: float = field(default=1.0, metadata={
        "help": "Reward weight of the attributive error (epsilon)."})
    weight_utility: float = field(default=1.0, metadata={
        "help": "Reward weight of the disambiguated-question utility."})
    weight_mass: float = field(default=0.2, metadata={
        "help": "Reward weight of the subject-mass loss (mass moved off both subjects)."})
    weight_order: float = field(default=5.0, metadata={
        "help": "Reward weight of the rank violation (departures from the LM's ranking)."})
    keep_order: bool = field(default=True, metadata={
        "help": "Sort the refined top-k back into the LM's ranking, so the layer re-weights but "
                "never changes the greedy answer.",
        "flag": "--keep-order/--allow-reranking"})
    max_quads: int = field(default=0, metadata={
        "help": "Cap on training quads (0 = all); test quads are capped at half of it."})
    max_disambig: int = field(default=0, metadata={
        "help": "Cap on disambiguated questions per split (0 = all)."})
    lm_batch_size: int = field(default=16, metadata={"help": "Questions per LM forward pass."})
    answer_prefix: str = field(default="", metadata={
        "help": "Causal LMs: words that start the answer, e.g. 'The answer is'."})
    cache: bool = field(default=True, metadata={
        "help": "Keep the LM's top-k on disk under the fairguard cache folder."})

    def __post_init__(self) -> None:
        if not self.model:
            raise ConfigError("--model is required (an embedded name, a folder or a hub id)")
        if not self.data:
            raise ConfigError("--data is required (a folder written by `fairguard data build`)")
        if not self.categories():
            raise ConfigError("--category is required, e.g. gender or region (comma list allowed)")
        if self.k is not None and self.k < 2:
            raise ConfigError(f"k must be >= 2, got {self.k}")
        if self.epochs < 1:
            raise ConfigError(f"epochs must be >= 1, got {self.epochs}")
        if not self.learning_rate > 0:
            raise ConfigError(f"learning_rate must be > 0, got {self.learning_rate}")
        if self.batch_quads < 1 or self.lm_batch_size < 1 or self.samples < 1:
            raise ConfigError("batch_quads, lm_batch_size and samples must be >= 1")
        if self.estimator not in ESTIMATORS:
            raise ConfigError(f"estimator must be one of {', '.join(ESTIMATORS)}, got {self.estimator!r}")
        if self.max_quads < 0 or self.max_disambig < 0:
            raise ConfigError("max_quads and max_disambig must be >= 0 (0 = all)")
        for name in ("weight_c", "weight_positional", "weight_attributive", "weight_utility",
                     "weight_mass", "weight_order"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0")

    def categories(self) -> list[str]:
        """The categories to debias, in the order given."""
        return [c.strip() for c in str(self.category).split(",") if c.strip()]


@dataclass(kw_only=True)
class RefineEvalConfig:
    """Options of ``fairguard eval refine``."""

    model: str = field(metadata={
        "help": "Base LM the layer was trained on (embedded name, folder, hub id)."})
    layer: str = field(metadata={"help": "Layer folder from `fairguard train refine`."})
    data: str = field(metadata={"help": "Dataset folder (uses DIR/unqover/)."})
    category: str | None = field(default=None, metadata={
        "help": "Categories to evaluate.", "default_text": "the layer's"})
    split: Literal["test", "train"] = field(default="test", metadata={
        "help": "Ambiguous split (disambiguated accuracy uses the matching disambig_ split)."})
    max_quads: int = field(default=0, metadata={"help": "Cap on evaluated quads (0 = all)."})
    max_disambig: int = field(default=0, metadata={
        "help": "Cap on disambiguated questions (0 = all)."})
    seed: int = field(default=0, metadata={"help": "Seed of the caps' random choice."})
    out: str = field(metadata={"help": "Output folder (metrics.json, metrics.md)."})
    overwrite: bool = field(default=False, metadata={
        "help": "Replace an existing --out folder.", "flag": "--overwrite"})

    def __post_init__(self) -> None:
        if self.split not in ("test", "train"):
            raise ConfigError(f"split must be test or train, got {self.split!r}")
        for name in ("max_quads", "max_disambig"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be 0 (all) or more, got {getattr(self, name)}")
