"""The compute limit of a measure: its FLOPs at this machine's measured fp32 GFLOP/s.

- :func:`measure_gflops` times a large fp32 matrix product with torch on ``threads`` threads
  (the best of a few rounds): what this CPU does at best in fp32 with that many threads.
- :func:`measure_int8_gops` times the int8 matrix product the int8 graph runs (onnxruntime's
  ``DynamicQuantizeMatMul``: the activations quantised to uint8 on the fly, int8 weights with a
  scale per column) at the same size and threads: what this CPU does at best in int8. Its
  ratio to the fp32 figure bounds how far under the fp32 limit any int8 graph can go (1.9x on
  an AVX2 host without VNNI, where a 4-byte int8 dot product takes three instructions, not one).
- :func:`encoder_flops` counts the multiply-adds of one forward pass of a BERT-like encoder
  classifier over ``tokens`` tokens: the linear layers (2 x weights x tokens: Q, K, V, output,
  two feed-forward), the attention products (QK^T and attention x V: 2 x 2 x tokens^2 x hidden
  per layer) and the pooler and classifier (on one token). Embedding look-ups, LayerNorm,
  softmax and GELU are left out (they are not matrix work).
- :func:`limit_rows` turns timings into rows: the limit (FLOPs / GFLOP/s), the ratio of the
  measured time to it, and for throughput the share of the machine's GFLOP/s spent usefully.

A ratio under 1 means faster than fp32 matrix work could possibly go on this CPU (only int8
can do that); the issue's targets are int8 batch 1 <= 0.6x and batch 32 >= 60 % of GFLOP/s.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


def measure_gflops(threads: int, size: int = 2048, rounds: int = 5) -> float:
    """fp32 GFLOP/s of a ``size`` x ``size`` torch matmul on ``threads`` threads (best round)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a = torch.randn(size, size)
        b = torch.randn(size, size)
        out = torch.empty(size, size)
        torch.mm(a, b, out=out)  # warm-up
        best = float("inf")
        for _ in range(rounds):
            start = time.perf_counter()
            torch.mm(a, b, out=out)
            best = min(best, time.perf_counter() - start)
    finally:
        torch.set_num_threads(before)
    return 2.0 * size ** 3 / best / 1e9


def int8_matmul_session(size: int, threads: int) -> Any:
    """An onnxruntime session computing ``A @ B`` for an fp32 ``size`` x ``size`` input ``A``
    and a fixed random int8 ``B`` (scale 0.01 per column), as ``DynamicQuantizeMatMul``."""
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weight = rng.integers(-127, 128, size=(size, size), dtype=np.int8)
    scale = np.full((size,), 0.01, np.float32)
    node = helper.make_node("DynamicQuantizeMatMul", ["A", "B", "scale"], ["Y"],
                            domain="com.microsoft")
    graph = helper.make_graph(
        [node], "int8_matmul",
        [helper.make_tensor_value_info("A", TensorProto.FLOAT, [size, size])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [size, size])],
        [numpy_helper.from_array(weight, "B"), numpy_helper.from_array(scale, "scale")])
    model = helper.make_model(graph, ir_version=9, opset_imports=[
        helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


def measure_int8_gops(threads: int, size: int = 2048, rounds: int = 5) -> float:
    """int8 GOP/s (multiply-adds x 2) of a ``size`` x ``size`` onnxruntime
    ``DynamicQuantizeMatMul`` on ``threads`` threads (best round)."""
    import numpy as np

    session = int8_matmul_session(size, threads)
    feed = {"A": np.random.default_rng(1).standard_normal((size, size), dtype=np.float32)}
    session.run(None, feed)  # warm-up
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        session.run(None, feed)
        best = min(best, time.perf_counter() - start)
    return 2.0 * size ** 3 / best / 1e9


@dataclass(frozen=True)
class EncoderShape:
    """What the FLOP count needs from a model config."""

    layers: int
    hidden: int
    intermediate: int
    labels: int

    @classmethod
    def of(cls, config: Any) -> EncoderShape:
        return cls(int(config.num_hidden_layers), int(config.hidden_size),
                   int(config.intermediate_size), int(getattr(config, "num_labels", 1)))

    def linear_params(self) -> int:
        """Weights of the per-token matrix products of one pass (all layers)."""
        h, i = self.hidden, self.intermediate
        return self.layers * (4 * h * h + 2 * h * i)


def encoder_flops(shape: EncoderShape, tokens: int) -> float:
    """FLOPs of one pair of ``tokens`` tokens (embeddings, norms and activations excluded)."""
    h = shape.hidden
    linear = 2.0 * shape.linear_params() * tokens
    attention = shape.layers * 2 * 2.0 * tokens * tokens * h
    head = 2.0 * (h * h + h * shape.labels)  # pooler + classifier, on the first token only
    return linear + attention + head


@dataclass
class Measure:
    """One timed measure: seconds for ``pairs`` pairs holding ``flops`` FLOPs of work."""

    name: str
    seconds: float
    pairs: int
    flops: float
    note: str = ""


def limit_rows(measures: Sequence[Measure], gflops: float) -> list[dict[str, Any]]:
    """Per measure: ms per call, pairs/s, FLOPs per pair, the compute-limit time at ``gflops``,
    the ratio of measured time to it, and the useful GFLOP/s as a share of ``gflops``."""
    rows = []
    for m in measures:
        limit = m.flops / (gflops * 1e9)
        useful = m.flops / m.seconds / 1e9
        rows.append({"measure": m.name, "ms": m.seconds * 1e3, "pairs": m.pairs,
                     "pairs_per_s": m.pairs / m.seconds, "mflop_per_pair": m.flops / m.pairs / 1e6,
                     "limit_ms": limit * 1e3, "ratio_to_limit": m.seconds / limit,
                     "useful_gflops": useful, "share_of_machine": useful / gflops,
                     "note": m.note})
    return rows


def format_rows(rows: Sequence[dict[str, Any]]) -> str:
    """A Markdown table of :func:`limit_rows`."""
    lines = ["| measure | ms per call | pairs/s | MFLOP/pair | fp32 limit, ms | time / limit "
             "| useful GFLOP/s (share) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['measure']} | {r['ms']:.2f} | {r['pairs_per_s']:.1f} | "
                     f"{r['mflop_per_pair']:.0f} | {r['limit_ms']:.2f} | "
                     f"{r['ratio_to_limit']:.2f}x | {r['useful_gflops']:.0f} "
                     f"({r['share_of_machine']:.0%}) |")
    return "\n".join(lines)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="This machine's fp32 GFLOP/s (torch matmul) "
                                                 "and int8 GOP/s (onnxruntime).")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="a 1024 matrix, 3 rounds")
    args = parser.parse_args()
    size, rounds = (1024, 3) if args.quick else (2048, args.rounds)
    fp32 = measure_gflops(args.threads, size, rounds)
    int8 = measure_int8_gops(args.threads, size, rounds)
    print(f"{fp32:.1f} GFLOP/s fp32, {int8:.1f} GOP/s int8 ({int8 / fp32:.2f}x; {size}x{size} "
          f"matmul, {args.threads} threads, best of {rounds})")
