"""Cost of reading long answers: a 2,000-character answer against a 200-character one.

The reward model reads a long answer in sentence windows of ``max_length`` tokens
(``fairguard/reward_model/windows.py``), so its cost grows with the answer. This measures, per
answer at batch 1 (one answer per call, as ``Guard.check`` scores it), the end-to-end time of
``TorchRewardScorer`` and the ONNX int8 ``OnnxRewardScorer`` on both lengths, calls interleaved
round-robin so that load from other processes hits every configuration alike, and for reference
the 2,000-character answer read the old way (its first ``max_length`` tokens only,
``windows=False``). Target: the 2,000-character answer costs at most 4x the 200-character one.

    python benchmarks/long_answer_latency.py --threads 1            # untrained MiniLM-L6
    python benchmarks/long_answer_latency.py --model DIR --export DIR --threads 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from scoring_latency import load_average, untrained_minilm_reward  # noqa: E402

SHORT, LONG = 200, 2000
TARGET_RATIO = 4.0


def answer_of(chars: int) -> str:
    """Fair answers of the built-in parity pairs run together and cut at a word, about ``chars``
    characters long."""
    from fairguard.export.parity_inputs import builtin_pairs

    pairs = builtin_pairs()
    neutral = [r for r, k in zip(pairs.responses, pairs.kinds) if k == "neutral"]
    text = ""
    i = 0
    while len(text) < chars:
        text = (text + " " + neutral[i % len(neutral)]).strip()
        i += 1
    return text[:text.rfind(" ", 0, chars + 1)].rstrip(",;") + "."


def measure(configs: dict[str, tuple[Any, str]], prompt: str, rounds: int,
            warmup: int = 5) -> dict[str, dict[str, float]]:
    """p50/p95/mean ms per call of ``scorer.score([prompt], [answer])`` for every
    ``name: (scorer, answer)``, calls interleaved round-robin."""
    times: dict[str, list[float]] = {name: [] for name in configs}
    for r in range(warmup + rounds):
        for name, (scorer, answer) in configs.items():
            start = time.perf_counter()
            scorer.score([prompt], [answer])
            if r >= warmup:
                times[name].append((time.perf_counter() - start) * 1000.0)
    return {name: {"p50": float(np.percentile(v, 50)), "p95": float(np.percentile(v, 95)),
                   "mean": float(np.mean(v)), "calls": len(v)} for name, v in times.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="reward-model folder (torch); default: an untrained "
                                        "MiniLM-L6 3-head classifier with max_length 128")
    parser.add_argument("--export", help="its ONNX export with model_int8.onnx; default: export "
                                         "into a temporary folder now")
    parser.add_argument("--rounds", type=int, default=40, help="timed calls per configuration [40]")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for torch and onnxruntime alike [torch's default]")
    parser.add_argument("--json", dest="json_out", help="also write the results as JSON here")
    args = parser.parse_args(argv)

    import torch

    from fairguard.export.onnx_export import export_onnx
    from fairguard.export.onnx_scorer import OnnxRewardScorer
    from fairguard.reward_model.inference import TorchRewardScorer
    from fairguard.reward_model.windows import split_windows

    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    prompt = "Should we hire the applicant from a rural village for the engineering job?"
    answers = {SHORT: answer_of(SHORT), LONG: answer_of(LONG)}
    with tempfile.TemporaryDirectory(prefix="fairguard-bench-") as tmp:
        if args.model:
            model_dir = Path(args.model)
            kind = "trained" if json.loads((model_dir / "fairguard.json").read_text()).get(
                "metrics") else "UNTRAINED (no metrics in fairguard.json)"
        else:
            model_dir = untrained_minilm_reward(Path(tmp) / "untrained-minilm", max_length=128)
            kind = "UNTRAINED (random heads) MiniLM-L6, max_length 128"
        export_dir = Path(args.export) if args.export else Path(tmp) / "onnx"
        if not args.export:
            export_onnx(model_dir, export_dir, quantize="int8", progress=False)
        backends = {
            "torch": lambda w: TorchRewardScorer(model_dir, device="cpu", windows=w),
            "onnx-int8": lambda w: OnnxRewardScorer(export_dir, quantized=True, threads=threads,
                                                    windows=w),
        }
        configs: dict[str, tuple[Any, str]] = {}
        shapes: dict[str, dict[str, int]] = {}
        for backend, make in backends.items():
            windowed, first_tokens = make(True), make(False)
            for chars, answer in answers.items():
                configs[f"{backend} {chars}"] = (windowed, answer)
            configs[f"{backend} {LONG} first-tokens"] = (first_tokens, answers[LONG])
            tok, max_length = windowed.tokenizer, windowed.max_length
        for chars, answer in answers.items():
            windows = split_windows(tok, [prompt], [answer], max_length)
            read = sum(len(tok(p, r)["input_ids"]) for p, r in zip(windows.prompts, windows.responses))
            shapes[str(chars)] = {"chars": len(answer), "windows": len(windows),
                                  "tokens": len(tok(prompt, answer, verbose=False)["input_ids"]),
                                  "window_tokens": read}
        started = dt.datetime.now(dt.timezone.utc)
        load_before = load_average()
        latency = measure(configs, prompt, args.rounds)
        load_after = load_average()
    ratios = {b: latency[f"{b} {LONG}"]["p50"] / latency[f"{b} {SHORT}"]["p50"] for b in backends}
    result = {"date_utc": started.isoformat(timespec="seconds"), "model": str(args.model or "untrained"),
              "model_kind": kind, "max_length": max_length, "threads": threads,
              "cpu_count": os.cpu_count(), "platform": platform.platform(),
              "load_average_before": load_before, "load_average_after": load_after,
              "answers": shapes, "latency_ms_per_answer": latency, "ratio_long_vs_short_p50": ratios}
    print(f"Long-answer scoring cost, {kind}, {threads} threads, {result['date_utc']}; load "
          f"average before {load_before}, after {load_after}")
    print("| backend | answer | tokens (pair) | windows | tokens read | p50 ms/answer | "
          f"p95 ms/answer | vs {SHORT} chars (p50) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for backend in backends:
        base = latency[f"{backend} {SHORT}"]["p50"]
        for name, label, shape in ((f"{backend} {SHORT}", f"{SHORT} chars", shapes[str(SHORT)]),
                                   (f"{backend} {LONG}", f"{LONG} chars", shapes[str(LONG)]),
                                   (f"{backend} {LONG} first-tokens",
                                    f"{LONG} chars, first {max_length} tokens only", None)):
            row = latency[name]
            tokens = shapes[str(LONG)]["tokens"] if shape is None else shape["tokens"]
            windows = shape["windows"] if shape else 1
            read = shape["window_tokens"] if shape else min(tokens, max_length)
            print(f"| {backend} | {label} | {tokens} | {windows} | {read} | {row['p50']:.1f} | "
                  f"{row['p95']:.1f} | {row['p50'] / base:.2f}x |")
    for backend, ratio in ratios.items():
        verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
        print(f"{backend}: {LONG} chars cost {ratio:.2f}x {SHORT} chars (p50; target <= "
              f"{TARGET_RATIO:g}x: {verdict})")
    if args.json_out:
        from fairguard.artifacts import write_json

        write_json(args.json_out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
