"""ONNX scoring throughput per batch size in tokens: how many padded tokens a batch should hold.

The ONNX scorer (``fairguard.export.onnx_scorer.OnnxRewardScorer``) sorts pairs by length and
pads each batch to its longest pair; a batch holds at most ``batch_size`` pairs and
``batch_tokens`` padded tokens. This benchmark scores three pools of pairs, in one run, with
each token budget (and with rows alone, the scorer's behaviour before budgets), int8 and fp32,
the budgets taking turns round by round; pairs/s is the best round's. The re-check is off so that
only the batching differs.

- dataset pairs: the first pairs of ``--data``'s test split (each prompt with its four answers),
  or the built-in hand-written pairs without ``--data``;
- short texts: ``benchmarks/serve_load.py``'s moderation texts (about 23 tokens a pair);
- long rows: five dataset answers joined per pair, cut at the model's ``max_length`` (the rows a
  long answer's windows give).

    python benchmarks/batch_tokens.py --export DIR --data DATA --threads 2 --write
    python benchmarks/batch_tokens.py --export DIR --quick        # check that it runs
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fairguard.export.batching import BATCH_TOKENS
from fairguard.export.latency import load_average, machine_info

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_md import publish, run_header  # noqa: E402
from serve_load import PROMPT, TEXTS  # noqa: E402

SECTION = "## ONNX batches by tokens"
ROWS = 32  # the scorer's default batch_size: the "rows only" column and the default's row cap


def pools(data: str | None, n: int) -> dict[str, tuple[list[str], list[str]]]:
    """The three pools of (prompts, responses) the benchmark scores."""
    from fairguard.export.parity_inputs import builtin_pairs, dataset_pairs

    base = dataset_pairs(data, "test", n) if data else builtin_pairs()
    reps = -(-n // len(base.prompts))
    prompts = (list(base.prompts) * reps)[:n]
    responses = (list(base.responses) * reps)[:n]
    long_n = max(1, n * 3 // 8)
    return {
        "dataset pairs": (prompts, responses),
        "short texts": ([PROMPT] * n, [TEXTS[i % len(TEXTS)] for i in range(n)]),
        "long rows": (prompts[:long_n], [" ".join(responses[i:i + 5]) for i in range(long_n)]),
    }


def sweep(scorer: Any, prompts: list[str], responses: list[str], settings: list[tuple[int, int | None]],
          rounds: int) -> dict[tuple[int, int | None], float]:
    """Best pairs/s of ``scorer.score_pairs`` over the pool per ``(batch_size, batch_tokens)``."""
    best: dict[tuple[int, int | None], float] = {}
    for _ in range(rounds):
        for size, budget in settings:
            scorer.batch_size, scorer.batch_tokens = size, budget
            scorer.score_pairs(prompts[:size], responses[:size])  # warm-up at this shape
            started = time.perf_counter()
            scorer.score_pairs(prompts, responses)
            rate = len(prompts) / (time.perf_counter() - started)
            best[(size, budget)] = max(best.get((size, budget), 0.0), rate)
    return best


def run(args: argparse.Namespace) -> dict[str, Any]:
    from fairguard.export.onnx_scorer import OnnxRewardScorer

    before = load_average()
    budgets = [int(b) for b in args.budgets.split(",")]
    if BATCH_TOKENS not in budgets:
        budgets = sorted([*budgets, BATCH_TOKENS])
    # rows alone at the scorer's row cap (before budgets), then each budget under a wide row cap
    settings: list[tuple[int, int | None]] = [(ROWS, None)] + [(args.max_rows, b) for b in budgets]
    settings.append((ROWS, BATCH_TOKENS))  # the scorer's defaults
    tables: dict[str, dict[str, Any]] = {}
    for quantized in (True, False):
        scorer = OnnxRewardScorer(args.export, quantized=quantized, threads=args.threads,
                                  recheck=False)
        name = scorer.backend
        tables[name] = {}
        for pool, (prompts, responses) in pools(args.data, args.pairs).items():
            lengths = scorer.batcher.encode(prompts, responses).lengths()
            rates = sweep(scorer, prompts, responses, settings, args.rounds)
            tables[name][pool] = {"pairs": len(prompts), "mean_tokens": float(lengths.mean()),
                                  "rates": {f"{s}/{b}": r for (s, b), r in rates.items()}}
    return {"command": "python benchmarks/batch_tokens.py " + " ".join(sys.argv[1:]),
            "date_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "machine": machine_info(), "threads": args.threads, "rounds": args.rounds,
            "load_average_before": before, "load_average_after": load_average(),
            "budgets": budgets, "max_rows": args.max_rows, "default": BATCH_TOKENS, "tables": tables}


def report(result: dict[str, Any]) -> str:
    budgets, cap, default = result["budgets"], result["max_rows"], result["default"]
    lines = run_header(SECTION, result, threads_for="onnxruntime")
    lines += [f"- pairs/s of `score_pairs` over each pool (best of {result['rounds']} rounds, the "
              "settings taking turns), re-check off; in brackets the share of the row's best",
              f"- columns: rows alone ({ROWS} pairs a batch, the scorer before token budgets), then "
              f"each budget of padded tokens with up to {cap} pairs a batch; last, the scorer's "
              f"defaults ({ROWS} pairs, {default} tokens) against rows alone", ""]
    head = (["backend", "pool", "mean tokens", f"rows alone ({ROWS})"]
            + [f"{b} tokens" for b in budgets] + ["defaults vs rows alone"])
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * (len(head) - 2)]
    for backend, pools_ in result["tables"].items():
        for pool, row in pools_.items():
            rates = row["rates"]
            best = max(rates.values())
            cells = [rates[f"{ROWS}/None"]] + [rates[f"{cap}/{b}"] for b in budgets]
            ratio = rates[f"{ROWS}/{default}"] / rates[f"{ROWS}/None"]
            lines.append(f"| {backend} | {pool} ({row['pairs']}) | {row['mean_tokens']:.1f} | "
                         + " | ".join(f"{r:.0f} ({r / best:.2f})" for r in cells)
                         + f" | {ratio:.2f}x |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export", required=True, help="a folder written by `fairguard export onnx`")
    parser.add_argument("--data", help="a dataset folder (`fairguard data build`); default: built-in pairs")
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime threads [2]")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; each setting's best counts [3]")
    parser.add_argument("--pairs", type=int, default=256, help="pairs per pool [256]")
    parser.add_argument("--max-rows", type=int, default=64, help="row cap under a token budget [64]")
    parser.add_argument("--budgets", default="256,384,512,640,768,1024,1536",
                        help="padded tokens per batch to try [256,...,1536]")
    parser.add_argument("--quick", action="store_true", help="32 pairs, one round: check that it runs")
    parser.add_argument("--write", action="store_true", help=f"put the section in RESULTS.md ({SECTION})")
    parser.add_argument("--json", help="also save the raw result here")
    args = parser.parse_args(argv)
    if args.quick:
        args.pairs, args.rounds = 32, 1
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    result = run(args)
    publish(report(result), SECTION, args.write and not args.quick, result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
