"""``OnnxExportConfig``: the options of ``fairguard export onnx`` (help text lives here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fairguard.errors import ConfigError

DEFAULT_FP32_ATOL = 1e-4
QUANTIZE_CHOICES = ("int8", "none")


@dataclass
class OnnxExportConfig:
    """Options of ``fairguard export onnx``."""

    model: str = field(metadata={"help": "Reward-model folder written by `fairguard train reward`."})
    out: str = field(metadata={"help": "Folder to write the export to."})
    quantize: str | None = field(default="int8", metadata={
        "help": "int8: also write a dynamically quantised model_int8.onnx; none: fp32 only.",
        "choices": QUANTIZE_CHOICES})
    opset: int | None = field(default=None, metadata={
        "help": "ONNX opset.", "default_text": "optimum's default for the model"})
    data: str | None = field(default=None, metadata={
        "help": "Dataset folder (`fairguard data build`); parity is checked on its test split "
                "instead of the built-in pairs."})
    calibration_data: str | None = field(default=None, metadata={
        "help": "Dataset folder whose train split calibrates int8 (GPTQ rounding, smoothing, "
                "output bias correction, re-check margins).",
        "default_text": "--data, else the data the reward model was trained on when that folder "
                        "is here unchanged, else the built-in pairs"})
    overwrite: bool = field(default=False, metadata={"help": "Replace an existing --out folder."})
    fp32_atol: float = field(default=DEFAULT_FP32_ATOL, metadata={
        "help": "Largest |logit difference| allowed between ONNX fp32 and torch; larger fails "
                "the export (nothing is written)."})
    max_pairs: int | None = field(default=2000, metadata={
        "help": "Use at most N pairs of the test split for the parity check."})
    batch_size: int = field(default=16, metadata={
        "help": "Pairs per batch in the parity check."})
    per_channel: bool = field(default=True, metadata={
        "help": "int8: one scale per weight output channel, or one per tensor.",
        "flag": "--per-channel/--per-tensor"})
    min_int8_agreement: float | None = field(default=None, metadata={
        "help": "Fail (write nothing) if int8 head decisions agree with fp32 on fewer than this "
                "fraction of pairs for any head, e.g. 0.99.", "default_text": "report only"})
    fp32_ffn_outputs: int = field(default=0, metadata={
        "help": "int8: keep the FFN output projections of the first N layers in fp32 (closer "
                "agreement with fp32 for some more time per call; docs/export.md, int8 settings)."})
    gptq: bool = field(default=True, metadata={
        "help": "int8: round the weights by GPTQ on the calibration pairs (closer agreement with "
                "fp32 at no run-time cost; per-channel only; docs/export.md, GPTQ)."})
    bias_correction: bool = field(default=True, metadata={
        "help": "int8: subtract the mean logit shift from fp32 that int8 shows on the calibration "
                "pairs, per head (closer agreement with fp32 for one Add per call; docs/export.md, "
                "Output bias correction)."})
    optimize: bool = field(default=True, metadata={
        "help": "Fuse the encoder graph (attention, skip + LayerNorm, GELU, embeddings) with "
                "onnxruntime's transformer optimizer before quantising; off: keep optimum's "
                "plain graph."})

    def __post_init__(self) -> None:
        if self.quantize == "none":
            self.quantize = None
        if self.quantize is not None and self.quantize not in QUANTIZE_CHOICES:
            raise ConfigError(f"quantize must be one of {', '.join(QUANTIZE_CHOICES)}, "
                              f"got {self.quantize!r}")
        if self.opset is not None and not 11 <= self.opset <= 25:
            raise ConfigError(f"opset must be between 11 and 25, got {self.opset}")
        if not self.fp32_atol >= 0:
            raise ConfigError(f"fp32_atol must be >= 0, got {self.fp32_atol}")
        if self.max_pairs is not None and self.max_pairs < 1:
            raise ConfigError(f"max_pairs must be >= 1, got {self.max_pairs}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.fp32_ffn_outputs < 0:
            raise ConfigError(f"fp32_ffn_outputs must be >= 0, got {self.fp32_ffn_outputs}")
        if self.min_int8_agreement is not None and not 0 <= self.min_int8_agreement <= 1:
            raise ConfigError("min_int8_agreement must be in [0, 1], got "
                              f"{self.min_int8_agreement}")
        model, out = Path(self.model).resolve(), Path(self.out).resolve()
        if out == model or out in model.parents:
            raise ConfigError(f"--out {self.out} would replace the source model folder; choose a "
                              "new folder")
