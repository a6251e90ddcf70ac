"""Which int8 settings pay on this CPU: quantisation variants of one fused fp32 export, each
timed (batch 1 and batch 32, interleaved) and checked against fp32 decisions on the test split.

    python benchmarks/quantize_variants.py --export ONNX_DIR --data DATA --threads 2 --rounds 3
    python benchmarks/quantize_variants.py --export ONNX_DIR --quick

``ONNX_DIR`` is a ``fairguard export onnx`` folder (its ``model.onnx``, fused by default, is
the fp32 reference). Variants (all dynamic, signed 8-bit weights, unless named):

- ``all ops, per-channel``: every op type the dynamic quantizer supports (MatMul, Attention ->
  QAttention, EmbedLayerNormalization / Gather -> int8 tables); the export's default;
- ``all ops, per-tensor``; ``all ops, per-channel, reduce_range`` (7-bit weights, for CPUs
  without VNNI);
- ``MatMul + Attention``: embeddings stay fp32; ``MatMul only``: attention stays fp32 too;
- ``FFN output projections fp32``: all ops but each layer's ``output.dense`` MatMul (whose
  input is the GELU output, with large outliers);
- ``static QDQ``: ``quantize_static`` in QDQ format, activations calibrated on train-split
  pairs (the alternative to QOperator dynamic quantisation); reported as failed where the
  quantizer cannot handle the graph.

Times are the median of ``--calls`` calls (batch 1) or one pass over the pool (batch 32), the
best of ``--rounds`` rounds, every variant in turn; agreement is per head against fp32.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

VARIANTS: dict[str, dict[str, Any]] = {
    "all ops, per-channel": {"per_channel": True},
    "all ops, per-tensor": {"per_channel": False},
    "all ops, per-channel, reduce_range": {"per_channel": True, "reduce_range": True},
    "MatMul + Attention, per-channel": {"per_channel": True, "op_types": ("MatMul", "Attention")},
    "MatMul only, per-channel": {"per_channel": True, "op_types": ("MatMul",)},
}
STATIC = "static QDQ, per-channel (calibrated)"


def ffn_output_nodes(path: Path) -> tuple[str, ...]:
    """Names of the feed-forward output MatMuls (``.../output/dense/MatMul``, not attention's)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return tuple(n.name for n in graph.node if n.op_type == "MatMul"
                 and "/output/dense" in n.name and "attention" not in n.name)


def static_qdq(fp32: Path, out: Path, tokenizer: Any, data: str | None, max_length: int) -> str:
    """Write a statically quantised QDQ model; returns "" or why it failed."""
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)

    from fairguard.export.parity_inputs import builtin_pairs, dataset_pairs
    from fairguard.export.session import make_session, session_feed
    from fairguard.reward_model import tokenize_pairs

    pairs = dataset_pairs(data, "train", 128) if data else builtin_pairs()
    session = make_session(fp32, threads=1)
    feeds = [session_feed(session, tokenize_pairs(tokenizer, pairs.prompts[i:i + 8],
                                                  pairs.responses[i:i + 8], max_length,
                                                  return_tensors="np"))
             for i in range(0, len(pairs), 8)]

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter(feeds)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.it, None)

    try:
        quantize_static(str(fp32), str(out), Reader(), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, extra_options={"DefaultTensorType": 1})
    except Exception as exc:  # noqa: BLE001 - report, do not stop the comparison
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--export", required=True, help="fairguard export onnx folder")
    parser.add_argument("--data", help="dataset folder: agreement on its test split, static "
                                       "calibration on its train split")
    parser.add_argument("--pairs", type=int, default=1200, help="test-split pairs [1200]")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=40, help="batch-1 calls per round [40]")
    parser.add_argument("--quick", action="store_true", help="2 rounds of 10 calls, 200 pairs")
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.calls, args.pairs = 2, 10, 200

    from transformers import AutoTokenizer

    from fairguard.export.parity import compare, onnx_logits
    from fairguard.export.parity_inputs import builtin_pairs, dataset_pairs
    from fairguard.export.quantize import QuantizeOptions, quantize_int8
    from fairguard.export.session import make_session, session_feed
    from fairguard.export.source import check_heads, max_length_of, thresholds_of
    from fairguard.reward_model import tokenize_pairs
    from scoring_throughput import interleaved, pick_pair

    export = Path(args.export)
    metadata, heads = check_heads(export)
    thresholds, max_length = thresholds_of(metadata, heads), max_length_of(metadata)
    tokenizer = AutoTokenizer.from_pretrained(export)
    pairs = dataset_pairs(args.data, "test", args.pairs) if args.data else builtin_pairs()
    prompt, response, n_tokens = pick_pair(tokenizer, 36)
    one = tokenize_pairs(tokenizer, [prompt], [response], max_length, return_tensors="np")
    pool = tokenize_pairs(tokenizer, pairs.prompts[:32], pairs.responses[:32], max_length,
                          return_tensors="np")
    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="fairguard-qvariants-") as tmp:
        files = {"fp32": export / "model.onnx"}
        variants = dict(VARIANTS)
        variants["all ops but FFN output projections, per-channel"] = {
            "per_channel": True, "exclude": ffn_output_nodes(files["fp32"])}
        for name, opts in variants.items():
            path = Path(tmp) / f"v{len(files)}.onnx"
            quantize_int8(files["fp32"], path, QuantizeOptions(**opts))
            files[name] = path
        failed = static_qdq(files["fp32"], Path(tmp) / "static.onnx", tokenizer, args.data,
                            max_length)
        if failed:
            rows[STATIC] = {"failed": failed}
        else:
            files[STATIC] = Path(tmp) / "static.onnx"
        sessions = {name: make_session(path, threads=args.threads) for name, path in files.items()}
        reference = onnx_logits(sessions["fp32"], tokenizer, pairs.prompts, pairs.responses,
                                max_length, 32)
        for name, session in sessions.items():
            logits = reference if name == "fp32" else onnx_logits(
                session, tokenizer, pairs.prompts, pairs.responses, max_length, 32)
            report = compare(reference, logits, heads, thresholds)
            rows[name] = {"mb": files[name].stat().st_size / 1e6,
                          "agreement": report["decision_agreement"],
                          "mean_abs_logit_diff": report["mean_abs_logit_diff"],
                          "max_abs_logit_diff": report["max_abs_logit_diff"]}
        feeds1 = {n: session_feed(s, one) for n, s in sessions.items()}
        feeds32 = {n: session_feed(s, pool) for n, s in sessions.items()}
        b1 = interleaved({n: (lambda s=s, f=feeds1[n]: s.run(None, f))
                          for n, s in sessions.items()}, args.calls, args.rounds)
        b32 = interleaved({n: (lambda s=s, f=feeds32[n]: s.run(None, f))
                           for n, s in sessions.items()}, 2, args.rounds, warmup=1)
        for name in sessions:
            rows[name]["batch1_ms"] = b1[name] * 1e3
            rows[name]["batch32_ms_per_pair"] = b32[name] * 1e3 / pool["input_ids"].shape[0]
    from fairguard.export.latency import load_average

    print(f"int8 variants of {export / 'model.onnx'}; {len(pairs)} pairs of {pairs.source}; "
          f"batch 1 = one {n_tokens}-token pair; batch 32 = the first 32 pairs "
          f"({pool['input_ids'].shape[1]} tokens padded); {args.threads} threads; load "
          f"average now {load_average()}")
    print("| variant | MB | batch 1 ms | batch 32 ms/pair | mean / max \\|logit diff\\| | "
          "agreement " + " / ".join(heads) + " |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, row in rows.items():
        if "failed" in row:
            print(f"| {name} | - | - | - | - | failed: {row['failed']} |")
            continue
        agree = " / ".join(f"{row['agreement'][h]:.2%}" for h in heads)
        print(f"| {name} | {row['mb']:.0f} | {row['batch1_ms']:.2f} | "
              f"{row['batch32_ms_per_pair']:.2f} | {row['mean_abs_logit_diff']:.3f} / "
              f"{row['max_abs_logit_diff']:.2f} | {agree} |")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
