"""Which int8 settings pay on this CPU: quantisation variants of one fused fp32 export, each
timed (batch 1 and batch 32, interleaved) and checked against fp32 decisions.

    python benchmarks/quantize_variants.py --export ONNX_DIR --data DATA --split val --threads 2
    python benchmarks/quantize_variants.py --export ONNX_DIR --data DATA --split test --pairs 0
    python benchmarks/quantize_variants.py --export ONNX_DIR --quick

``ONNX_DIR`` is a ``fairguard export onnx`` folder (its ``model.onnx``, fused by default, is
the fp32 reference). Choose settings on ``--split val`` and report them on ``--split test``.
Variants (all dynamic, signed 8-bit weights, unless named):

- ``default``: :class:`~fairguard.export.quantize.QuantizeOptions` as the export uses it
  (every supported op type, per-channel, SmoothQuant on every quantised MatMul/Attention input);
- ``no smoothing``: the same without SmoothQuant (the export's default before issue #21);
- ``no GPTQ``: the default with round-to-nearest weights;
- ``no bias correction``: the default without the Add that removes int8's mean logit shift;
- ``smooth GELU inputs only``, and SmoothQuant strengths ``alpha`` 0.5 / 0.9;
- ``per-tensor``, ``reduce_range`` (7-bit weights, for CPUs without VNNI), ``MatMul +
  Attention`` (embeddings fp32), ``MatMul only`` (attention fp32 too), all without smoothing;
- ``FFN output projections fp32``: no smoothing, each layer's ``output.dense`` MatMul (whose
  input is the GELU output, with large outliers) kept in fp32;
- ``default + FFN output projections of layers 0-1 fp32`` (``fp32_gelu_matmuls=2``): the two
  whose GELU outputs have the largest outliers, kept in fp32 on top of the default;
- ``pooler + classifier fp32``: the default with the two heads' Gemms in fp32;
- with ``--static``: ``quantize_static`` in QDQ format, activations calibrated on train-split
  pairs; reported as failed where the quantizer cannot handle the graph;
- with ``--nbits 8`` / ``--nbits 4``: the MatMuls as ``MatMulNBits`` (block-wise weights,
  int8 products with an activation scale per block of 32 rather than per tensor; attention's
  fused QKV stays fp32); needs the ``onnx_ir`` package, else reported as failed.

SmoothQuant's activation ranges come from the first 1024 train-split pairs (built-in pairs
without ``--data``), never from the split that is scored. Times are the median of ``--calls``
calls (batch 1) or one pass over 32 pairs (batch 32), the best of ``--rounds`` rounds, every
variant in turn; agreement is per head against fp32, and "flips" counts the pairs whose
decision changes with the median distance of their fp32 logit from the decision threshold.
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
    "default": {},
    "no smoothing": {"smooth": None},
    "no GPTQ": {"gptq": False},
    "no bias correction": {"bias_correction": False},
    "smooth GELU inputs only": {"smooth": "gelu"},
    "smooth alpha 0.5": {"smooth_alpha": 0.5},
    "smooth alpha 0.9": {"smooth_alpha": 0.9},
    "per-tensor, no smoothing": {"per_channel": False, "smooth": None},
    "reduce_range, no smoothing": {"reduce_range": True, "smooth": None},
    "MatMul + Attention, no smoothing": {"op_types": ("MatMul", "Attention"), "smooth": None},
    "MatMul only, no smoothing": {"op_types": ("MatMul",), "smooth": None},
}
STATIC = "static QDQ, per-channel (calibrated)"
NBITS = "MatMulNBits {bits}-bit, block 32, int8 compute"


def nbits(fp32: Path, out: Path, bits: int) -> str:
    """Write the MatMuls as onnxruntime's ``MatMulNBits`` (block-wise symmetric weights; accuracy
    level 4 = int8 products with one activation scale per block of 32, not per tensor); returns
    "" or why it failed (it needs the ``onnx_ir`` package)."""
    import onnx

    try:
        from onnxruntime.quantization import matmul_nbits_quantizer as mq

        config = mq.DefaultWeightOnlyQuantConfig(block_size=32, is_symmetric=True,
                                                 accuracy_level=4, bits=bits,
                                                 op_types_to_quantize=("MatMul",))
        quantizer = mq.MatMulNBitsQuantizer(onnx.load(str(fp32)), bits=bits, block_size=32,
                                            is_symmetric=True, accuracy_level=4,
                                            algo_config=config, op_types_to_quantize=("MatMul",))
        quantizer.process()
        quantizer.model.save_model_to_file(str(out))
    except Exception as exc:  # noqa: BLE001 - report, do not stop the comparison
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return ""


def ffn_output_nodes(path: Path) -> tuple[str, ...]:
    """Names of the feed-forward output MatMuls (``.../output/dense/MatMul``, not attention's)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return tuple(n.name for n in graph.node if n.op_type == "MatMul"
                 and "/output/dense" in n.name and "attention" not in n.name)


def head_nodes(path: Path) -> tuple[str, ...]:
    """Names of the pooler and classifier products (after the encoder) as the quantizer sees
    them: it splits a Gemm into ``<name>_MatMul`` and ``<name>_Add`` before quantising."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return tuple(n.name + ("_MatMul" if n.op_type == "Gemm" else "") for n in graph.node
                 if n.op_type in ("Gemm", "MatMul")
                 and ("pooler" in n.name or "classifier" in n.name))


def static_qdq(fp32: Path, out: Path, tokenizer: Any, data: str | None, max_length: int) -> str:
    """Write a statically quantised QDQ model; returns "" or why it failed."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

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


def flips(reference: np.ndarray, logits: np.ndarray, heads: list[str],
          thresholds: dict[str, float]) -> dict[str, dict[str, float]]:
    """Per head: pairs whose decision changes, and the median / largest distance of their fp32
    logit from the decision threshold (how close to the boundary the flipped pairs were)."""
    from fairguard.export.parity import logit_threshold

    out = {}
    for i, head in enumerate(heads):
        cut = logit_threshold(thresholds[head])
        flipped = (reference[:, i] >= cut) != (logits[:, i] >= cut)
        dist = np.abs(reference[flipped, i] - cut)
        out[head] = {"flips": int(flipped.sum()),
                     "median_distance": float(np.median(dist)) if dist.size else 0.0,
                     "max_distance": float(dist.max()) if dist.size else 0.0}
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--export", required=True, help="fairguard export onnx folder")
    parser.add_argument("--data", help="dataset folder: agreement on --split, calibration on "
                                       "its train split")
    parser.add_argument("--split", default="val", help="split scored for agreement: choose on "
                                                        "val, report on test [val]")
    parser.add_argument("--pairs", type=int, default=0, help="first N pairs of the split [0: all]")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=40, help="batch-1 calls per round [40]")
    parser.add_argument("--only", help="variant names separated by ';' (fp32 is always run)")
    parser.add_argument("--static", action="store_true", help="also try static QDQ")
    parser.add_argument("--nbits", type=int, action="append", default=[], choices=(4, 8),
                        help="also try MatMulNBits with these weight bits (repeatable; needs onnx_ir)")
    parser.add_argument("--quick", action="store_true", help="2 rounds of 10 calls, 200 pairs")
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.calls, args.pairs = 2, 10, 200

    from scoring_throughput import interleaved, pick_pair
    from transformers import AutoTokenizer

    from fairguard.export.latency import load_average
    from fairguard.export.parity import compare, onnx_logits
    from fairguard.export.parity_inputs import builtin_pairs, dataset_pairs
    from fairguard.export.quantize import QuantizeOptions, calibration_pairs, quantize_int8
    from fairguard.export.session import make_session, session_feed
    from fairguard.export.source import check_heads, max_length_of, thresholds_of
    from fairguard.reward_model import tokenize_pairs

    export = Path(args.export)
    metadata, heads = check_heads(export)
    thresholds, max_length = thresholds_of(metadata, heads), max_length_of(metadata)
    tokenizer = AutoTokenizer.from_pretrained(export)
    pairs = (dataset_pairs(args.data, args.split, args.pairs or None) if args.data
             else builtin_pairs())
    calibration = calibration_pairs(tokenizer, max_length, args.data)
    prompt, response, n_tokens = pick_pair(tokenizer, 36)
    one = tokenize_pairs(tokenizer, [prompt], [response], max_length, return_tensors="np")
    pool = tokenize_pairs(tokenizer, pairs.prompts[:32], pairs.responses[:32], max_length,
                          return_tensors="np")
    rows: dict[str, dict[str, Any]] = {}
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="fairguard-qvariants-") as tmp:
        files = {"fp32": export / "model.onnx"}
        variants = dict(VARIANTS)
        variants["FFN output projections fp32, no smoothing"] = {
            "smooth": None, "exclude": ffn_output_nodes(files["fp32"])}
        variants["default + FFN output projections of layers 0-1 fp32"] = {"fp32_gelu_matmuls": 2}
        variants["pooler + classifier fp32"] = {"exclude": head_nodes(files["fp32"])}
        if args.only:
            wanted = [name.strip() for name in args.only.split(";")]
            variants = {name: variants[name] for name in wanted}
        settings = {}
        for name, opts in variants.items():
            path = Path(tmp) / f"v{len(files)}.onnx"
            options = QuantizeOptions(**opts)
            quantize_int8(files["fp32"], path, options, calibration.feeds)
            files[name] = path
            settings[name] = options.describe()
        if args.static:
            failed = static_qdq(files["fp32"], Path(tmp) / "static.onnx", tokenizer, args.data,
                                max_length)
            if failed:
                rows[STATIC] = {"failed": failed}
            else:
                files[STATIC] = Path(tmp) / "static.onnx"
        for bits in args.nbits:
            name = NBITS.format(bits=bits)
            failed = nbits(files["fp32"], Path(tmp) / f"nbits{bits}.onnx", bits)
            if failed:
                rows[name] = {"failed": failed}
            else:
                files[name] = Path(tmp) / f"nbits{bits}.onnx"
        sessions = {name: make_session(path, threads=args.threads) for name, path in files.items()}
        reference = onnx_logits(sessions["fp32"], tokenizer, pairs.prompts, pairs.responses,
                                max_length, 32)
        for name, session in sessions.items():
            logits = reference if name == "fp32" else onnx_logits(
                session, tokenizer, pairs.prompts, pairs.responses, max_length, 32)
            report = compare(reference, logits, heads, thresholds)
            rows[name] = {"mb": files[name].stat().st_size / 1e6,
                          "settings": settings.get(name),
                          "agreement": report["decision_agreement"],
                          "flips": flips(reference, logits, heads, thresholds),
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

    base = rows.get("no smoothing") or rows["fp32"]
    print(f"int8 variants of {export / 'model.onnx'}; {len(pairs)} pairs of {pairs.source}; "
          f"smoothing calibrated on {calibration.pairs} pairs of {calibration.source}; batch 1 = "
          f"one {n_tokens}-token pair; batch 32 = the first 32 pairs "
          f"({pool['input_ids'].shape[1]} tokens padded); {args.threads} threads; load average "
          f"before / after {load_before} / {load_average()}; time ratios against "
          f"{'no smoothing' if 'no smoothing' in rows else 'fp32'}, same run")
    print("| variant | MB | batch 1 ms | vs | batch 32 ms/pair | vs | mean / max \\|logit diff\\| | "
          "agreement " + " / ".join(heads) + " | flips (median distance to threshold) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, row in rows.items():
        if "failed" in row:
            print(f"| {name} | - | - | - | - | - | - | failed: {row['failed']} | - |")
            continue
        agree = " / ".join(f"{row['agreement'][h]:.2%}" for h in heads)
        flipped = " / ".join(f"{row['flips'][h]['flips']} ({row['flips'][h]['median_distance']:.2f})"
                             for h in heads)
        print(f"| {name} | {row['mb']:.0f} | {row['batch1_ms']:.2f} | "
              f"{row['batch1_ms'] / base['batch1_ms']:.2f}x | {row['batch32_ms_per_pair']:.2f} | "
              f"{row['batch32_ms_per_pair'] / base['batch32_ms_per_pair']:.2f}x | "
              f"{row['mean_abs_logit_diff']:.3f} / {row['max_abs_logit_diff']:.2f} | {agree} | "
              f"{flipped} |")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
