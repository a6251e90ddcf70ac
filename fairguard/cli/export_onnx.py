"""``fairguard export onnx``: a trained reward model to ONNX fp32 + int8, parity-checked."""

from __future__ import annotations

from typing import Any

import click

from fairguard.cli.options import config_file_option, options_from
from fairguard.export.config import OnnxExportConfig


@click.command(name="onnx")
@options_from(OnnxExportConfig)
@config_file_option
@click.option("--quiet", is_flag=True, help="No progress bars.")
def onnx(config_path: str | None, quiet: bool, **options: Any) -> None:
    """Export a reward model to ONNX (optimum) and int8 (onnxruntime), checking parity first.

    fp32 logits must match torch within 1e-4 on real pairs or nothing is written; for int8 the
    max difference and per-head decision agreement with fp32 are reported. Writes model.onnx,
    model_int8.onnx, the tokenizer, config.json, fairguard.json and parity.json.
    """
    from fairguard.config import build_config
    from fairguard.export.onnx_export import export_onnx_from_config

    config = build_config(OnnxExportConfig, config_path, **options)
    result = export_onnx_from_config(config, progress=not quiet)
    report = result.parity
    fp32 = report["fp32_vs_torch"]
    click.echo(f"wrote {result.out} (opset {result.opset}, {result.seconds:.1f} s); parity on "
               f"{report['inputs']['pairs']} pairs from {report['inputs']['source']}")
    click.echo(f"  fp32 vs torch: max |logit diff| {fp32['max_abs_logit_diff']:.2e} "
               f"(tolerance {fp32['tolerance']:.0e})")
    if "int8_vs_fp32" in report:
        int8 = report["int8_vs_fp32"]
        agree = ", ".join(f"{h} {v:.2%}" for h, v in int8["decision_agreement"].items())
        calibration = int8["quantization"]["calibration"]
        click.echo(f"  int8 calibrated on {calibration['pairs']} pairs from {calibration['source']}")
        click.echo(f"  int8 vs fp32:  max |logit diff| {int8['max_abs_logit_diff']:.2e}; "
                   f"decision agreement {agree}")
        if "recheck" in int8:
            recheck = int8["recheck"]
            agree = ", ".join(f"{h} {v:.2%}" for h, v in recheck["decision_agreement"].items())
            click.echo(f"  int8 with the boundary re-check ({recheck['rescored_share']:.1%} of "
                       f"pairs scored again in fp32): decision agreement {agree}")
        if min(int8["decision_agreement"].values()) < 0.99:
            click.echo("  warning: int8 decisions differ from fp32 on more than 1% of pairs for "
                       "some head; serve fp32 (quantized=False) or re-export with "
                       "--min-int8-agreement to enforce a floor", err=True)
