"""``fairguard export onnx``: a trained reward model to ONNX fp32 + int8, parity-checked."""

from __future__ import annotations

import click


@click.command(name="onnx")
@click.option("--model", "model", required=True, type=click.Path(),
              help="Reward-model folder written by `fairguard train reward`.")
@click.option("--out", "out", required=True, type=click.Path(),
              help="Folder to write the export to.")
@click.option("--quantize", type=click.Choice(["int8", "none"]), default="int8", show_default=True,
              help="Also write a dynamically quantised model_int8.onnx.")
@click.option("--opset", type=int, default=None,
              help="ONNX opset [optimum's default for the model].")
@click.option("--data", "data", type=click.Path(), default=None,
              help="Dataset folder (`fairguard data build`); parity is checked on its test split "
                   "instead of the built-in pairs.")
@click.option("--max-pairs", type=int, default=None,
              help="Use at most N pairs of the test split for the parity check [2000].")
@click.option("--per-tensor", is_flag=True, default=False,
              help="int8: one scale per weight tensor instead of per output channel.")
@click.option("--min-int8-agreement", type=float, default=None,
              help="Fail (write nothing) if int8 head decisions agree with fp32 on fewer than this "
                   "fraction of pairs for any head, e.g. 0.99 [report only].")
@click.option("--overwrite", is_flag=True, default=None, help="Replace an existing --out folder.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def onnx(model, out, quantize, opset, data, max_pairs, per_tensor, min_int8_agreement, overwrite,
         quiet) -> None:
    """Export a reward model to ONNX (optimum) and int8 (onnxruntime), checking parity first.

    fp32 logits must match torch within 1e-4 on real pairs or nothing is written; for int8 the
    max difference and per-head decision agreement with fp32 are reported. Writes model.onnx,
    model_int8.onnx, the tokenizer, config.json, fairguard.json and parity.json.
    """
    from fairguard.config import build_config
    from fairguard.export.config import OnnxExportConfig
    from fairguard.export.onnx_export import export_onnx_from_config

    config = build_config(
        OnnxExportConfig, None, model=model, out=out, quantize=quantize, opset=opset, data=data,
        max_pairs=max_pairs, per_channel=False if per_tensor else None,
        min_int8_agreement=min_int8_agreement, overwrite=overwrite,
    )
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
        click.echo(f"  int8 vs fp32:  max |logit diff| {int8['max_abs_logit_diff']:.2e}; "
                   f"decision agreement {agree}")
        if min(int8["decision_agreement"].values()) < 0.99:
            click.echo("  warning: int8 decisions differ from fp32 on more than 1% of pairs for "
                       "some head; serve fp32 (quantized=False) or re-export with "
                       "--min-int8-agreement to enforce a floor", err=True)
