"""The validated configuration of one reward-model training run."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from fairguard.data.labelled import LabelledColumns, looks_like_hub_dataset
from fairguard.errors import ConfigError
from fairguard.scoring import parse_named_numbers

KNOWN_HEADS: tuple[str, ...] = ("fairness", "relevance", "fluency")
DEFAULT_BACKBONE = "minilm-l6"
HUB_BACKBONE = "microsoft/deberta-v3-small"  # the default wherever the hub is reachable
TRAIN_MAX_LENGTH = 128  # the dataset's prompt + response pairs fit in 128 tokens
MixedPrecision = Literal["auto", "no", "bf16"]


@dataclass(frozen=True)
class BackboneRecipe:
    """The measured training settings of one embedded backbone (docs/judge-runs.md): what
    ``--lr``, ``--epochs``, ``--mixed-precision auto`` and ``--head-loss-weights`` become when
    not given."""

    learning_rate: float
    epochs: int
    bf16: bool  # bfloat16 autocast where the device computes it natively
    head_loss_weights: str = ""  # what --head-loss-weights becomes; "" = every head 1


GENERIC_RECIPE = BackboneRecipe(learning_rate=2e-4, epochs=4, bf16=False,
                                head_loss_weights="fairness=3")
BACKBONE_RECIPES: dict[str, BackboneRecipe] = {
    "minilm-l6": GENERIC_RECIPE,  # the default judge (forty-sixth run)
    "mpnet-base": BackboneRecipe(learning_rate=1e-4, epochs=2, bf16=True),  # thirty-fourth run
}


def backbone_recipe(backbone: str) -> BackboneRecipe:
    """The recipe of an embedded backbone; a model folder or hub id gets the generic one."""
    return BACKBONE_RECIPES.get(str(backbone).strip(), GENERIC_RECIPE)


def resolve_mixed_precision(precision: MixedPrecision, backbone: str, bf16_native: bool
                            ) -> MixedPrecision:
    """``"auto"`` -> ``"bf16"`` where the backbone's recipe uses it and the device computes
    bfloat16 natively, else ``"no"``; ``"no"`` and ``"bf16"`` stay as given."""
    if precision != "auto":
        return precision
    return "bf16" if backbone_recipe(backbone).bf16 and bf16_native else "no"


def parse_heads(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """``"fairness,relevance"`` (or a list) -> validated head names in the given order."""
    if isinstance(value, str):
        names = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, (list, tuple)):
        names = [str(part).strip() for part in value]
    else:
        raise ConfigError(f"heads must be a comma list such as fairness,relevance,fluency, got {value!r}")
    if not names:
        raise ConfigError(f"no heads given; choose from {', '.join(KNOWN_HEADS)}")
    unknown = [name for name in names if name not in KNOWN_HEADS]
    if unknown:
        raise ConfigError(f"unknown head(s) {', '.join(unknown)}; the dataset labels only "
                          f"{', '.join(KNOWN_HEADS)}")
    if len(set(names)) != len(names):
        raise ConfigError(f"a head is named twice in {', '.join(names)}")
    return tuple(names)


@dataclass
class RewardTrainConfig:
    """Options of ``fairguard train reward`` (also settable from a YAML file). The defaults are
    the measured recipe (docs/reward-model.md): 4 x 1000 rows in < 15 min on 2 cores."""

    data: str = field(metadata={"help": "Dataset folder from `fairguard data build`."})
    out: str = field(metadata={"help": "Folder to write the reward model to."})
    backbone: str = field(default=DEFAULT_BACKBONE, metadata={
        "help": "Encoder: embedded `minilm-l6` (default offline) or `mpnet-base` (larger: "
        "reads real text far better at 5x the scoring cost; trains in its own recipe), a local "
        f"HF folder, or a hub id such as {HUB_BACKBONE} (the default wherever the hub is "
        "reachable)."})
    epochs: int | None = field(default=None, metadata={
        "help": "Training epochs.",
        "default_text": "the backbone's recipe: 4, 2 on mpnet-base"})
    batch_size: int = field(default=8, metadata={
        "help": "Dataset rows per step; each row gives up to 4 (prompt, response) pairs."})
    learning_rate: float | None = field(default=None, metadata={
        "help": "Peak learning rate (AdamW, linear warmup/decay).",
        "aliases": ("lr",),
        "default_text": "the backbone's recipe: 2e-4, 1e-4 on mpnet-base"})
    max_length: int = field(default=TRAIN_MAX_LENGTH, metadata={
        "help": "Max tokens of prompt + response."})
    heads: Any = field(default="fairness,relevance,fluency", metadata={
        "help": "Comma list of heads."})
    seed: int = field(default=0, metadata={"help": "Random seed (init, dropout, shuffling)."})
    limit: int | None = field(default=None, metadata={
        "help": "Use at most N rows of each split (quick runs)."})
    rows_per_epoch: int | None = field(default=1000, metadata={
        "help": "Train each epoch on the next N rows of a seeded shuffle; 0 = all rows."})
    val_rows: int | None = field(default=150, metadata={
        "help": "Validate each epoch on a fixed seeded sample of N val rows; 0 = all."})
    freeze_layers: int | None = field(default=None, metadata={
        "help": "Freeze the embeddings (with the position tables every layer reads) and the "
                "first N encoder (or decoder) layers.",
        "default_text": "a third of them: 2 on minilm-l6"})
    overwrite: bool = field(default=False, metadata={"help": "Replace an existing --out folder."})
    pairwise_weight: float = field(default=1.0, metadata={
        "help": "Weight of the same-prompt ranking term next to per-head BCE."})
    head_loss_weights: str | None = field(default=None, metadata={
        "help": "Weights of the heads' losses (BCE and ranking) on the shared encoder, e.g. "
                "fairness=3; a head not named weighs 1.",
        "default_text": "the backbone's recipe: fairness=3, every head 1 on mpnet-base"})
    truncate_prob: float = field(default=0.5, metadata={
        "help": "Share of training responses replaced by a cut-off copy (policies' answers stop "
                "mid-sentence)."})
    end_mark_prob: float | None = field(default=0.5, metadata={
        "help": "Share of training responses that end with . ! or ?, the same for every kind, so "
                "that a missing full stop is no cue for any head (null: keep endings as they "
                "are)."})
    elsewhere_prob: float = field(default=0.0, metadata={
        "help": "Share of training rows whose fair and biased answers are also trained under "
                "another row's prompt (fairness only), so the prompt is no prior for fairness "
                "(off by default: docs/judge-runs.md, ninth run)."})
    group_swap_prob: float = field(default=0.0, metadata={
        "help": "Share of training rows about a broad group that are also trained with the "
                "group's wordings swapped for a group no row names (fairness only), so that "
                "which group a text names says nothing about its label (off by default: "
                "docs/judge-runs.md, forty-second run)."})
    sentence_prob: float = field(default=0.0, metadata={
        "help": "Share of advice and everyday training rows that add one sentence of their fair "
                "answer, labelled fair, as the windows of long answers are scored (off by "
                "default: docs/judge-runs.md, ninth run)."})
    composite_prob: float = field(default=0.0, metadata={
        "help": "Composite answers per training row: whole fair answers joined (fair) and the "
                "same with a biased answer inserted (biased), as long answers are scored "
                "(docs/judge-runs.md, twelfth run)."})
    short_prob: float = field(default=0.0, metadata={
        "help": "Share of training rows that add one whole sentence of their fair answer as a short "
                "answer, fluent, with a garbled copy of it, so that one-sentence answers are not "
                "read as disfluent (fluency only; tried, not the default: docs/judge-runs.md, nineteenth run)."})
    hollow_prob: float = field(default=0.15, metadata={
        "help": "Share of training rows that add a lead-in with no answer after it (\"The answer "
                "is:\"), relevance 0, so saying nothing cannot pass for an answer "
                "(docs/judge-runs.md, fourteenth run)."})
    decline_prob: float = field(default=0.0, metadata={
        "help": "Share of the advice rows (the scenario prompts) that add a decline in a chat "
                "model's words (\"I'm sorry, but as an AI language model, ...\") as their "
                "evasive answer, relevance 0, ranked below the fair answer (tried, not the "
                "default: docs/judge-runs.md, forty-ninth run)."})
    hollow_descriptions: bool = field(default=False, metadata={
        "help": "Hollow answers also describe or repeat the question without answering it, and "
                "each comes with the same opening followed by the fair answer, ranked above it "
                "(tried, not the default: docs/judge-runs.md, fifteenth run)."})
    layout_prob: float = field(default=0.0, metadata={
        "help": "Share of training rows whose answers are laid out as chat models write them "
                "(paragraphs, lists, bold lead words, code in backticks), every answer of a row "
                "alike, so layout says nothing about a label (tried, not the default: "
                "docs/judge-runs.md, fifteenth run)."})
    debias_bow: float = field(default=0.0, metadata={
        "help": "Product of experts with a bag-of-words bias model: the fairness loss adds this "
                "times the word model's out-of-fold logit to the judge's, so the judge learns "
                "what words alone cannot tell (0 = off; docs/judge-runs.md, sixteenth run)."})
    statement_repeats: int = field(default=1, metadata={
        "help": "Times each broad statement row (a short text about a group, in one of many "
                "biased and fair forms) occurs in every pass over the train rows (1: once; "
                "docs/judge-runs.md, tenth run)."})
    probe_fraction: float = field(default=0.0, metadata={
        "help": "Share of the training steps that update only the heads, the encoder frozen, "
                "before the encoder is tuned too (linear probing then fine-tuning, LP-FT; "
                "Kumar et al., 2022; off by default: docs/judge-runs.md, tenth run)."})
    average_last: float = field(default=0.0, metadata={
        "help": "Share of the last training steps whose weights are averaged, one sample per "
                "step, and saved instead of the best validation epoch's (stochastic weight "
                "averaging, dense as in SWAD: Izmailov et al., 2018; Cha et al., 2021); 0 = off."})
    warmup_ratio: float = field(default=0.06, metadata={
        "help": "Share of the steps of linear learning-rate warmup."})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay."})
    eval_batch_size: int = field(default=64, metadata={
        "help": "Pairs per forward pass when validating and testing."})
    dilution_cases: int = field(default=300, metadata={
        "help": "Mixed answers (one biased test sentence among 3-30 neutral ones) of the test "
                "report's dilution check; 0 skips it."})
    false_flag_rate: float = field(default=0.02, metadata={
        "help": "Each head's shipped threshold lets this share of its good validation texts fall "
                "below it."})
    calibrate_cut: bool = field(default=True, metadata={
        "help": "Calibrate the thresholds on validation answers cut off and ended as training "
                "answers are (--truncate-prob, --end-mark-prob), as a policy's answers stop at "
                "its token limit; off: on whole answers only (docs/reward-model.md, Thresholds)."})
    device: str = field(default="auto", metadata={
        "help": "Torch device: auto (cuda when available, else cpu), cpu, cuda or cuda:N."})
    mixed_precision: MixedPrecision = field(default="auto", metadata={
        "help": "bf16: every forward pass of the run (training steps, validation, calibration, "
                "the test report) in bfloat16 autocast; weights, gradients and the optimizer stay "
                "float32, and the saved judge scores in float32. Pays on GPUs and on CPUs that "
                "compute bfloat16 natively (AMX or AVX-512 BF16; refused elsewhere). auto: bf16 "
                "where the backbone's recipe uses it (mpnet-base) and the device computes it "
                "natively, else no."})
    progress: bool = field(default=True, metadata={
        "help": "Show progress bars.",
        "flag": "--progress/--quiet"})
    teacher: str | None = field(default=None, metadata={
        "help": "A reward-model folder (or its ONNX export) whose scores the judge also learns "
                "from: knowledge distillation, so a small fast encoder learns from a larger "
                "judge (docs/reward-model.md, Distillation).",
        "default_text": "none"})
    teacher_weight: float = field(default=0.5, metadata={
        "help": "With --teacher: the teacher's share of each labelled head's target (the rest is "
                "the label); heads a pair has no label for learn the teacher's score alone."})
    # users' labelled .csv/.jsonl files (or hub dataset ids) mixed into the train rows
    # (fairness label only; fairguard/reward_model/extra.py), and their column names
    extra_data: Any = field(default=(), metadata={
        "help": "Your own labelled .csv/.jsonl file (text,label or prompt,response,label) mixed "
                "into the train rows; trains the fairness head. Repeatable.",
        "multiple": True})
    extra_text_column: str | None = field(default=None, metadata={
        "help": "Text column of --extra-data files.",
        "default_text": "text"})
    extra_prompt_column: str | None = field(default=None, metadata={
        "help": "Prompt column of --extra-data files.",
        "default_text": "prompt"})
    extra_response_column: str | None = field(default=None, metadata={
        "help": "Response column of --extra-data files.",
        "default_text": "response"})
    extra_label_column: str | None = field(default=None, metadata={
        "help": "Label column of --extra-data files.",
        "default_text": "label"})
    extra_target_column: str | None = field(default=None, metadata={
        "help": "Target-group column framing text-only rows as 'What do you think about "
                "{target}?'.",
        "default_text": "target_ident when present"})
    extra_default_prompt: str | None = field(default=None, metadata={
        "help": "Prompt of text-only rows with no target.",
        "default_text": "'What do you think?'"})
    head_names: tuple[str, ...] = field(init=False)
    loss_weights: tuple[float, ...] = field(init=False)  # per head of head_names

    def __post_init__(self) -> None:
        self.head_names = parse_heads(self.heads)
        self.heads = ",".join(self.head_names)
        if not self.data:
            raise ConfigError("--data is required: a folder written by `fairguard data build`")
        if not self.out:
            raise ConfigError("--out is required: the folder to write the reward model to")
        if not self.backbone or not str(self.backbone).strip():
            raise ConfigError("--backbone is empty; give minilm-l6, a model folder or a hub id")
        recipe = backbone_recipe(self.backbone)
        if self.epochs is None:
            self.epochs = recipe.epochs
        if self.learning_rate is None:
            self.learning_rate = recipe.learning_rate
        for name in ("epochs", "batch_size", "max_length", "eval_batch_size", "statement_repeats"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.max_length < 8 or self.max_length > 4096:
            raise ConfigError(f"max-length must be between 8 and 4096, got {self.max_length}")
        if not (math.isfinite(self.learning_rate) and 0 < self.learning_rate < 1):
            raise ConfigError(f"learning_rate must be in (0, 1), got {self.learning_rate}")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"limit must be at least 1, got {self.limit}")
        for name in ("rows_per_epoch", "val_rows"):
            if getattr(self, name) == 0:
                setattr(self, name, None)  # 0 means every row
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ConfigError(f"{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.dilution_cases < 0:
            raise ConfigError(f"dilution-cases must be >= 0, got {self.dilution_cases}")
        if self.freeze_layers is not None and self.freeze_layers < 0:
            raise ConfigError(f"freeze-layers must be >= 0, got {self.freeze_layers}")
        if self.seed < 0:
            raise ConfigError(f"seed must be >= 0, got {self.seed}")
        if isinstance(self.debias_bow, bool) or not isinstance(self.debias_bow, (int, float)) \
                or not (math.isfinite(self.debias_bow) and self.debias_bow >= 0):
            raise ConfigError(f"debias_bow must be a number >= 0, got {self.debias_bow!r}")
        if not (math.isfinite(self.pairwise_weight) and self.pairwise_weight >= 0):
            raise ConfigError(f"pairwise_weight must be >= 0, got {self.pairwise_weight}")
        self.loss_weights = self._parse_head_loss_weights()
        for name in ("truncate_prob", "elsewhere_prob", "group_swap_prob", "sentence_prob",
                     "composite_prob", "short_prob", "hollow_prob", "decline_prob", "layout_prob",
                     "probe_fraction", "average_last"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not (math.isfinite(value) and 0 <= value <= 1):
                raise ConfigError(f"{name} must be a number in [0, 1], got {value!r}")
        if self.end_mark_prob is not None and not (
                isinstance(self.end_mark_prob, (int, float)) and math.isfinite(self.end_mark_prob)
                and 0 <= self.end_mark_prob <= 1):
            raise ConfigError(f"end_mark_prob must be in [0, 1] or null, got {self.end_mark_prob!r}")
        if not 0 <= self.warmup_ratio < 1:
            raise ConfigError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if not (isinstance(self.false_flag_rate, (int, float)) and 0 < self.false_flag_rate < 0.5):
            raise ConfigError(f"false_flag_rate must be in (0, 0.5), got {self.false_flag_rate!r}")
        if not self.weight_decay >= 0:
            raise ConfigError(f"weight_decay must be >= 0, got {self.weight_decay}")
        for name in ("hollow_descriptions", "calibrate_cut"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.device not in ("auto", "cpu") and not str(self.device).startswith("cuda"):
            raise ConfigError(f"device must be auto, cpu or cuda[:N], got {self.device!r}")
        if self.mixed_precision not in ("auto", "no", "bf16"):
            raise ConfigError(f"mixed_precision must be auto, no or bf16, got {self.mixed_precision!r}")
        self._check_extra_data()
        if not (isinstance(self.teacher_weight, (int, float)) and not isinstance(self.teacher_weight, bool)
                and math.isfinite(self.teacher_weight) and 0 <= self.teacher_weight <= 1):
            raise ConfigError(f"teacher_weight must be a number in [0, 1], got {self.teacher_weight!r}")

    def _parse_head_loss_weights(self) -> tuple[float, ...]:
        """``head_loss_weights`` as one weight per head of ``head_names``; unset, the backbone
        recipe's weights of the heads trained (recorded in ``head_loss_weights``)."""
        if self.head_loss_weights is None:
            recipe = parse_named_numbers(backbone_recipe(self.backbone).head_loss_weights or None,
                                         "head loss weight", "fairness=3")
            self.head_loss_weights = ",".join(f"{name}={value:g}" for name, value in recipe.items()
                                              if name in self.head_names) or None
        weights = parse_named_numbers(self.head_loss_weights, "head loss weight", "fairness=3")
        unknown = [name for name in weights if name not in self.head_names]
        if unknown:
            raise ConfigError(f"head-loss-weights names {', '.join(unknown)}, not a trained head; "
                              f"the heads are {', '.join(self.head_names)}")
        bad = [f"{name}={value}" for name, value in weights.items() if value <= 0]
        if bad:
            raise ConfigError(f"head loss weights must be > 0, got {', '.join(bad)}; leave a head "
                              "out of --heads instead of weighing it 0")
        return tuple(weights.get(name, 1.0) for name in self.head_names)

    def _check_extra_data(self) -> None:
        value = self.extra_data
        if value is None:
            value = ()
        if isinstance(value, (str, Path)):
            value = (value,)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"extra_data must be a list of files, got {value!r}")
        self.extra_data = tuple(str(item) for item in value)
        for item in self.extra_data:
            if not Path(item).expanduser().is_file() and not looks_like_hub_dataset(item):
                raise ConfigError(f"--extra-data {item} is not a file; give a labelled .csv or "
                                  ".jsonl file (docs/reward-model.md)")
        if self.extra_data and "fairness" not in self.head_names:
            raise ConfigError("--extra-data trains the fairness head; add fairness to --heads")
        self.extra_columns()  # checks the column options

    def extra_columns(self) -> LabelledColumns:
        """The column names and framing prompts of the ``extra_data`` files."""
        given = {"text": self.extra_text_column, "prompt": self.extra_prompt_column,
                 "response": self.extra_response_column, "label": self.extra_label_column,
                 "target": self.extra_target_column, "default_prompt": self.extra_default_prompt}
        return LabelledColumns(**{k: v for k, v in given.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for ``fairguard.json`` (paths as given)."""
        data = asdict(self)
        data.pop("head_names")
        data.pop("loss_weights")
        data["heads"] = list(self.head_names)
        return data


@dataclass(kw_only=True)
class ScoreConfig:
    """Options of ``fairguard score``."""

    model: str = field(metadata={
        "help": "Reward-model folder (from `fairguard train reward`, or its ONNX export)."})
    prompt: str = field(metadata={"help": "The prompt."})
    responses: tuple[str, ...] = field(metadata={
        "help": "A response to score; repeat for several.", "flag": "--response", "multiple": True})
    backend: Literal["auto", "torch", "onnx"] = field(default="auto", metadata={
        "help": "auto = onnx when the folder holds model.onnx, else torch."})

    def __post_init__(self) -> None:
        if isinstance(self.responses, str):
            self.responses = (self.responses,)
        if not isinstance(self.responses, (list, tuple)) or not self.responses:
            raise ConfigError("give at least one response to score (--response TEXT, repeatable)")
        self.responses = tuple(self.responses)
