"""Time of one reward-model training step per backbone and frozen layers, against the default.

A step is what ``fairguard train reward`` does per batch: the judge's logits over the batch's
pairs (``batch_logits``: length-sorted forwards of up to 16 pairs), per-head BCE, backward,
gradient clipping and an AdamW step. Each variant builds its judge with
``build_reward_model`` and freezes with ``freeze_layers``, as training does; the variants take
turns round by round and the median step of each is reported against the default judge
(MiniLM-L6, a third of its layers frozen) in the same run.

``shared tables trainable`` variants undo one part of ``freeze_layers``: the encoder's
relative-position table (MPNet's ``relative_attention_bias``), which every layer reads, trains
while the layers below it are frozen, as it did before 2026-12-05, so the gradient runs back
through the frozen layers. ``--mixed-precision bf16`` variants run the forward in bfloat16
autocast as training does with that option (weights, gradients and AdamW stay float32).

    python benchmarks/reward_train_step.py --data DATA --threads 2 --write
    python benchmarks/reward_train_step.py --quick            # check that it runs
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from fairguard.export.latency import load_average, machine_info

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_md import publish, run_header  # noqa: E402

SECTION = "## Reward-model training step"
HEADS = ("fairness", "relevance", "fluency")
# (label, backbone, frozen layers (None: the default third), shared tables frozen, precision)
VARIANTS = (
    ("minilm-l6, default (2 of 6 layers frozen)", "minilm-l6", None, True, "no"),
    ("minilm-l6, default, --mixed-precision bf16", "minilm-l6", None, True, "bf16"),
    ("mpnet-base, 4 of 12 layers frozen (its default)", "mpnet-base", None, True, "no"),
    ("mpnet-base, 4 of 12 frozen, --mixed-precision bf16", "mpnet-base", None, True, "bf16"),
    ("mpnet-base, 4 of 12 frozen, shared tables trainable", "mpnet-base", None, False, "no"),
    ("mpnet-base, 8 of 12 layers frozen", "mpnet-base", 8, True, "no"),
    ("mpnet-base, 8 of 12 frozen, --mixed-precision bf16", "mpnet-base", 8, True, "bf16"),
)


def batch_pairs(data: str | None, n: int) -> tuple[list[str], list[str]]:
    """The first ``n`` (prompt, response) pairs of ``data``'s train split, or built-in ones."""
    if data:
        from fairguard.export.parity_inputs import dataset_pairs

        pairs = dataset_pairs(data, "train", n)
        return list(pairs.prompts), list(pairs.responses)
    from fairguard.export.parity_inputs import builtin_pairs

    pairs = builtin_pairs()
    return (list(pairs.prompts) * n)[:n], (list(pairs.responses) * n)[:n]


def build(backbone: str, frozen: int | None, shared_frozen: bool, precision: str = "no"
          ) -> dict[str, Any]:
    """A fresh judge over ``backbone``, frozen as training freezes it, with its optimizer and
    the autocast its forward runs in."""
    import torch

    from fairguard.reward_model.model import build_reward_model
    from fairguard.reward_model.train import encoder_shared_parameters, freeze_layers, training_autocast

    torch.manual_seed(0)
    model, tokenizer, _ = build_reward_model(backbone, HEADS)
    n = freeze_layers(model, frozen)
    if not shared_frozen:
        for param in encoder_shared_parameters(model):
            param.requires_grad_(True)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    return {"model": model, "tokenizer": tokenizer, "frozen": n,
            "autocast": training_autocast(precision, "cpu"),
            "optimizer": torch.optim.AdamW(trainable, lr=1e-6),
            "trainable": sum(p.numel() for p in trainable),
            "params": sum(p.numel() for p in model.parameters())}


def step_seconds(judge: dict[str, Any], prompts: list[str], responses: list[str]) -> float:
    """Seconds of one training step on the pairs."""
    import torch
    import torch.nn.functional as F

    from fairguard.reward_model.config import TRAIN_MAX_LENGTH
    from fairguard.reward_model.train import batch_logits

    start = time.perf_counter()
    with judge["autocast"]:  # as training runs the forward
        logits = batch_logits(judge["model"], judge["tokenizer"], prompts, responses, TRAIN_MAX_LENGTH,
                              "cpu", split=True)
    loss = F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, 0.5))
    judge["optimizer"].zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(judge["model"].parameters(), 1.0)
    judge["optimizer"].step()
    return time.perf_counter() - start


def run(data: str | None, pairs: int, steps: int, rounds: int, threads: int,
        variants: tuple[tuple[str, str, int | None, bool, str], ...]) -> dict[str, Any]:
    """Median step time per variant, the variants taking turns round by round."""
    import torch

    from fairguard.training.rollout import bf16_decoding_supported

    torch.set_num_threads(threads)
    if not bf16_decoding_supported():  # emulated bf16 would only measure the emulation
        print("this CPU has no native bfloat16: the --mixed-precision bf16 variants are left out")
        variants = tuple(v for v in variants if v[4] == "no")
    prompts, responses = batch_pairs(data, pairs)
    before = load_average()
    judges = {label: build(backbone, frozen, shared, precision)
              for label, backbone, frozen, shared, precision in variants}
    times: dict[str, list[float]] = {label: [] for label in judges}
    for judge in judges.values():
        step_seconds(judge, prompts, responses)  # warm-up
    for _ in range(rounds):
        for label, judge in judges.items():
            times[label].extend(step_seconds(judge, prompts, responses) for _ in range(steps))
    baseline = statistics.median(times[variants[0][0]])
    rows = [{"variant": label, "frozen_layers": judges[label]["frozen"],
             "trainable_millions": round(judges[label]["trainable"] / 1e6, 1),
             "params_millions": round(judges[label]["params"] / 1e6, 1),
             "median_s": statistics.median(times[label]),
             "vs_default": statistics.median(times[label]) / baseline} for label in judges]
    from fairguard.reward_model.config import TRAIN_MAX_LENGTH

    return {"rows": rows, "pairs": len(prompts), "max_length": TRAIN_MAX_LENGTH, "steps": steps,
            "rounds": rounds,
            "threads": threads, "data": f"{data} (train split)" if data else "the built-in pairs",
            "load_average_before": before, "load_average_after": load_average(),
            "machine": machine_info(), "date_utc": dt.datetime.now(dt.timezone.utc).isoformat(
                timespec="seconds"), "command": "python " + " ".join(sys.argv)}


def report(result: dict[str, Any]) -> str:
    """The RESULTS.md section."""
    lines = run_header(SECTION, result, threads_for="torch")
    lines += [f"- a step: {result['pairs']} pairs of {result['data']}, max "
              f"{result['max_length']} tokens, forward + BCE + backward + AdamW; median of {result['steps']} steps x "
              f"{result['rounds']} rounds, the variants taking turns", "",
              "| variant | trainable / all parameters (M) | s per step | vs the default |",
              "|---|---:|---:|---:|"]
    lines += [f"| {r['variant']} | {r['trainable_millions']} / {r['params_millions']} | "
              f"{r['median_s']:.2f} | {r['vs_default']:.2f}x |" for r in result["rows"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="dataset folder (train split); default: built-in pairs")
    parser.add_argument("--pairs", type=int, default=32, help="pairs per step (8 rows x 4)")
    parser.add_argument("--steps", type=int, default=3, help="steps per variant per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", 2)))
    parser.add_argument("--quick", action="store_true", help="one MiniLM step: check that it runs")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    parser.add_argument("--json", help="also save the result as JSON here")
    args = parser.parse_args()
    if args.quick:
        result = run(args.data, 4, 1, 1, args.threads, VARIANTS[:1])
    else:
        result = run(args.data, args.pairs, args.steps, args.rounds, args.threads, VARIANTS)
    publish(report(result), SECTION, args.write and not args.quick, result, args.json)


if __name__ == "__main__":
    main()
