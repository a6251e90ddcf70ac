"""The judge against this machine's compute limit: torch eager, ONNX fp32 and int8 (fused and
unfused graphs), batch-1 latency and batch 8/32 throughput, each next to its fp32 FLOP limit.

    python benchmarks/scoring_throughput.py --model /tmp/fg/rm10 --data /tmp/fg/data10 \\
        --threads 2 --rounds 3 --write
    python benchmarks/scoring_throughput.py --quick          # untrained MiniLM-L6, a few calls

One run, one process: the machine's fp32 GFLOP/s is measured with a large torch matmul on the
same thread count (before and after the timings; the better is used, see
``benchmarks/flop_limit.py``), every measure's FLOPs are counted from the model's shape and the
pairs' real token counts, and each measure is shown as time / limit (batch 1) and as the share
of the machine's GFLOP/s it spends usefully (throughput).

- batch 1: one built-in pair of about ``--tokens`` tokens, scored ``--calls`` times per round by
  every backend in turn (interleaved, so load from other processes hits them alike); the median
  of a round, the best of ``--rounds`` rounds. "end to end" goes through the scorer (input
  checks, windows, tokenisation, forward, sigmoid); "forward" is the session / module call on
  ready token ids.
- throughput: ``score_pairs`` on a pool of pairs (the test split with ``--data``, else the
  built-in pairs) with ``batch_size`` 1, 8 and 32 (no token budget: batch N is N pairs): sorted by
  length, padded per batch; pairs/s
  of the best round.
- agreement: int8 vs fp32 head decisions on the test split (``--data``), the issue's >= 99 %.
- ``--previous-export DIR``: an earlier export of the same model (e.g. by an older fairguard)
  timed beside the others as "previous", for a before / after in one run.
- ``--torch-compile``: the batch-1 forward also as torch compiles it (inductor, weights frozen,
  fp32) and, where ``torchao`` is installed, int8 by PT2E with the X86 inductor quantiser
  (static: activation scales calibrated on the timed pair; dynamic: scales per call): other
  runtimes for the same forward, each with its largest |logit| difference from torch eager.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fairguard.export.batching import BATCH_TOKENS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from flop_limit import (  # noqa: E402
    EncoderShape,
    Measure,
    encoder_flops,
    format_rows,
    limit_rows,
    measure_gflops,
    measure_int8_gops,
)
from results_md import publish, run_header  # noqa: E402

SECTION = "## Scoring against the compute limit"
BATCHES = (1, 8, 32)
RECHECK = "onnx-int8 fused + re-check"
TARGETS = {"int8_batch1_ratio": 0.6, "int8_vs_torch": 6.0, "agreement": 0.99,
           "batch32_share": 0.6}


def _best_median(fn: Callable[[], Any], calls: int) -> list[float]:
    """Seconds of ``calls`` calls of ``fn``."""
    out = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def interleaved(fns: dict[str, Callable[[], Any]], calls: int, rounds: int,
                warmup: int = 3) -> dict[str, float]:
    """Best-of-``rounds`` median seconds per call of each function; in each round every
    function runs ``warmup`` untimed calls (what the previous function left in the caches and
    thread pools is paid there) and then its ``calls`` timed calls, in turn."""
    best = {name: float("inf") for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            for _ in range(warmup):
                fn()
            best[name] = min(best[name], statistics.median(_best_median(fn, calls)))
    return best


def compiled_forwards(model: Any, encoded: dict[str, Any]) -> dict[str, tuple[Any, float]]:
    """``{name: (forward, max |logit - eager logit|)}`` of the batch-1 forward compiled by
    inductor in fp32 and, where torchao is installed, quantised to int8 by PT2E (static and
    dynamic activation scales; X86InductorQuantizer); compiled and warmed up here."""
    import torch
    import torch._inductor.config as inductor_config

    names = ("input_ids", "attention_mask", "token_type_ids")
    args = tuple(encoded[n] for n in names if n in encoded)
    keys = tuple(n for n in names if n in encoded)

    class Logits(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *tensors: Any) -> Any:
            return self.inner(**dict(zip(keys, tensors))).logits

    wrapped = Logits(model).eval()
    inductor_config.freezing = True  # weights as constants, as a deployed graph has them
    with torch.inference_mode():
        reference = wrapped(*args)
    modules: dict[str, Any] = {"torch compiled fp32 (inductor)": wrapped}
    try:
        import torchao.quantization.pt2e.quantizer.x86_inductor_quantizer as x86
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    except ImportError:
        x86 = None
    if x86 is not None:
        for kind, dynamic in (("static", False), ("dynamic", True)):
            quantizer = x86.X86InductorQuantizer()
            quantizer.set_global(x86.get_default_x86_inductor_quantization_config(
                is_dynamic=dynamic))
            with torch.no_grad():
                prepared = prepare_pt2e(torch.export.export(wrapped, args).module(), quantizer)
                prepared(*args)  # calibration
                modules[f"torch compiled int8 {kind} (PT2E)"] = convert_pt2e(prepared)
    out = {}
    for name, module in modules.items():
        compiled = torch.compile(module)
        with torch.no_grad():
            for _ in range(3):
                logits = compiled(*args)

        def forward(c: Any = compiled) -> Any:
            with torch.no_grad():
                return c(*args)

        out[name] = (forward, float((logits - reference).abs().max()))
    return out


def pick_pair(tokenizer: Any, tokens: int) -> tuple[str, str, int]:
    """The built-in pair whose token count is closest to ``tokens``."""
    from fairguard.export.parity_inputs import builtin_pairs

    pairs = builtin_pairs()
    counts = [len(tokenizer(p, r)["input_ids"]) for p, r in zip(pairs.prompts, pairs.responses)]
    i = min(range(len(counts)), key=lambda k: (abs(counts[k] - tokens), k))
    return pairs.prompts[i], pairs.responses[i], counts[i]


def token_counts(tokenizer: Any, prompts: Sequence[str], responses: Sequence[str],
                 max_length: int) -> np.ndarray:
    """Each pair's token count after truncation (what the model reads)."""
    from fairguard.export.batching import PairBatcher

    return PairBatcher(tokenizer, max_length).encode(prompts, responses).lengths()


def export_if_needed(model_dir: Path, given: str | None, folder: Path, optimize: bool) -> Path:
    """``given`` if set, else a fresh int8 export of ``model_dir`` into ``folder``."""
    if given:
        return Path(given)
    from fairguard.export.onnx_export import export_onnx

    export_onnx(model_dir, folder, quantize="int8", optimize=optimize, progress=False)
    return folder


def fusion_of(export_dir: Path) -> dict[str, Any]:
    meta = json.loads((export_dir / "fairguard.json").read_text())
    return meta.get("onnx", {}).get("fusion") or {"fused": False, "reason": "not recorded"}


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from fairguard.export.latency import load_average, machine_info
    from fairguard.export.onnx_scorer import OnnxRewardScorer
    from fairguard.export.parity_inputs import builtin_pairs, dataset_pairs
    from fairguard.export.session import session_feed
    from fairguard.reward_model import tokenize_pairs
    from fairguard.reward_model.inference import TorchRewardScorer

    torch.set_num_threads(args.threads)
    started = dt.datetime.now(dt.timezone.utc)
    load_before = load_average()
    gflops_before = measure_gflops(args.threads, args.matmul, 3 if args.quick else 5)
    int8_before = measure_int8_gops(args.threads, args.matmul, 3 if args.quick else 5)
    with tempfile.TemporaryDirectory(prefix="fairguard-throughput-") as tmp:
        tmp_path = Path(tmp)
        if args.model:
            model_dir = Path(args.model)
            trained = bool(json.loads((model_dir / "fairguard.json").read_text()).get("metrics"))
        else:
            from scoring_latency import untrained_minilm_reward

            model_dir = untrained_minilm_reward(tmp_path / "untrained-minilm")
            trained = False
        fused_dir = export_if_needed(model_dir, args.export, tmp_path / "fused", True)
        exports = {"fused": fused_dir}
        if args.unfused_export or not args.no_unfused:
            exports["unfused"] = export_if_needed(model_dir, args.unfused_export,
                                                  tmp_path / "unfused", False)
        if args.previous_export:
            exports["previous"] = Path(args.previous_export)
        torch_scorer = TorchRewardScorer(model_dir, device="cpu")
        onnx = {f"onnx-{q} {kind}": OnnxRewardScorer(folder, quantized=q == "int8",
                                                    threads=args.threads, batch_size=1,
                                                    recheck=False)
                for kind, folder in exports.items() for q in ("fp32", "int8")}
        # int8 with the boundary re-check (pairs near a threshold scored again in fp32), as the
        # guard and the server run it; only where the export records re-check margins
        rechecked = OnnxRewardScorer(fused_dir, quantized=True, threads=args.threads,
                                     batch_size=1)
        if rechecked.recheck:
            onnx[RECHECK] = rechecked
        shape = EncoderShape.of(torch_scorer.model.config)
        tok = torch_scorer.tokenizer
        prompt, response, n_tokens = pick_pair(tok, args.tokens)
        flops1 = encoder_flops(shape, n_tokens)

        # batch 1: end to end through the scorers, and the bare forward on ready ids
        enc_pt = tokenize_pairs(tok, [prompt], [response], torch_scorer.max_length)
        enc_np = tokenize_pairs(tok, [prompt], [response], torch_scorer.max_length,
                                return_tensors="np")
        fns: dict[str, Callable[[], Any]] = {
            "torch eager, end to end": lambda: torch_scorer.score([prompt], [response])}
        for name, scorer in onnx.items():
            fns[f"{name}, end to end"] = (lambda s=scorer: s.score([prompt], [response]))

        def torch_forward() -> Any:
            with torch.inference_mode():
                return torch_scorer.model(**enc_pt).logits

        fns["torch eager, forward"] = torch_forward
        for name, scorer in onnx.items():
            if name == RECHECK:
                continue  # the same int8 graph as "onnx-int8 fused"
            feed = session_feed(scorer.session, enc_np)
            fns[f"{name}, forward"] = (lambda s=scorer, f=feed: s.session.run(None, f))
        compiled = compiled_forwards(torch_scorer.model, enc_pt) if args.torch_compile else {}
        for name, (forward, _) in compiled.items():
            fns[f"{name}, forward"] = forward
        batch1 = interleaved(fns, args.calls, args.rounds)

        # throughput: score_pairs on a pool, batch 1 / 8 / 32, best round
        if args.data:
            pool = dataset_pairs(args.data, "test", args.pool)
        else:
            base = builtin_pairs()
            reps = -(-args.pool // len(base))
            pool = type(base)((base.prompts * reps)[:args.pool], (base.responses * reps)[:args.pool],
                              (base.kinds * reps)[:args.pool], base.source)
        counts = token_counts(tok, pool.prompts, pool.responses, torch_scorer.max_length)
        pool_flops = float(sum(encoder_flops(shape, int(t)) for t in counts))
        throughput: dict[str, float] = {}
        for b in BATCHES:
            tfns = {}
            for name, scorer in onnx.items():
                if b > 1 and ("unfused" in name or "previous" in name) and args.quick:
                    continue

                def call(s: Any = scorer, bs: int = b) -> Any:
                    s.batch_size, s.batch_tokens = bs, None  # batch N: N pairs, whatever their tokens
                    return s.score_pairs(pool.prompts, pool.responses)

                tfns[f"{name}, batch {b}"] = call
            throughput.update(interleaved(tfns, 1, args.rounds, warmup=1))
        for scorer in onnx.values():
            scorer.batch_size, scorer.batch_tokens = 32, BATCH_TOKENS

        agreement = None
        if args.data:
            from scoring_latency import decision_agreement

            test = dataset_pairs(args.data, "test", args.agreement_pairs)
            agreement = decision_agreement({"onnx-fp32": onnx["onnx-fp32 fused"],
                                            "onnx-int8": onnx["onnx-int8 fused"]},
                                           test.prompts, test.responses)
            agreement["source"] = test.source
            if RECHECK in onnx:
                scorer = onnx[RECHECK]
                scorer.rechecked = scorer.scored = 0
                both = decision_agreement({"onnx-fp32": onnx["onnx-fp32 fused"],
                                           "onnx-int8": scorer}, test.prompts, test.responses)
                agreement["recheck"] = {"int8_vs_fp32": both["int8_vs_fp32"],
                                        "int8_vs_fp32_min": both["int8_vs_fp32_min"],
                                        "rechecked_share": scorer.rechecked / max(scorer.scored, 1),
                                        "margins": dict(zip(scorer.heads,
                                                            scorer.recheck_margins.tolist()))}
        fusion = {kind: fusion_of(folder) for kind, folder in exports.items()}
    gflops_after = measure_gflops(args.threads, args.matmul, 3 if args.quick else 5)
    int8_after = measure_int8_gops(args.threads, args.matmul, 3 if args.quick else 5)
    gflops = max(gflops_before, gflops_after)
    int8_gops = max(int8_before, int8_after)
    measures = [Measure(f"batch 1 ({n_tokens} tokens), {name}", sec, 1, flops1)
                for name, sec in batch1.items()]
    measures += [Measure(f"throughput ({len(pool)} pairs, mean {counts.mean():.0f} tokens), "
                         f"{name}", sec, len(pool), pool_flops)
                 for name, sec in throughput.items()]
    rows = limit_rows(measures, gflops)
    int8_e2e = batch1["onnx-int8 fused, end to end"]
    result = {
        "date_utc": started.isoformat(timespec="seconds"),
        "command": "python benchmarks/scoring_throughput.py " + " ".join(sys.argv[1:]),
        "model": str(args.model or "untrained MiniLM-L6 (random heads)"), "trained": trained,
        "threads": args.threads, "rounds": args.rounds, "calls": args.calls,
        "machine": machine_info(), "load_average_before": load_before,
        "load_average_after": load_average(),
        "gflops_fp32": {"before": gflops_before, "after": gflops_after, "used": gflops,
                        "matmul": args.matmul},
        "gops_int8": {"before": int8_before, "after": int8_after, "used": int8_gops,
                      "matmul": args.matmul},
        "pair_tokens": n_tokens, "mflop_per_pair": flops1 / 1e6, "fusion": fusion,
        "rows": rows, "agreement": agreement,
        "compiled_logit_diff": {name: diff for name, (_, diff) in compiled.items()},
        "targets": {
            "int8_batch1_ratio_to_fp32_limit": int8_e2e / (flops1 / (gflops * 1e9)),
            "int8_vs_torch_eager": batch1["torch eager, end to end"] / int8_e2e,
            "int8_batch1_ratio_to_int8_limit": int8_e2e / (flops1 / (int8_gops * 1e9)),
            "int8_floor_ratio_to_fp32_limit": gflops / int8_gops,
            "int8_batch32_share_of_gflops": (pool_flops / throughput[
                "onnx-int8 fused, batch 32"] / 1e9) / gflops,
            "int8_vs_fp32_agreement_min": agreement["int8_vs_fp32_min"] if agreement else None,
            "recheck_vs_fp32_agreement_min": (agreement["recheck"]["int8_vs_fp32_min"]
                                              if agreement and "recheck" in agreement else None),
            "recheck_cost_at_batch": {b: throughput[f"{RECHECK}, batch {b}"]
                                      / throughput[f"onnx-int8 fused, batch {b}"]
                                      for b in BATCHES if f"{RECHECK}, batch {b}" in throughput},
        },
    }
    return result


def report(result: dict[str, Any]) -> str:
    """The RESULTS.md section."""
    t = result["targets"]
    g = result["gflops_fp32"]
    i = result["gops_int8"]
    fusion = "; ".join(
        f"{kind}: " + (", ".join(f"{op} x{n}" for op, n in f["fused_ops"].items())
                       if f.get("fused") else f"not fused ({f.get('reason')})")
        for kind, f in result["fusion"].items())
    agreement = result["agreement"]
    lines = run_header(SECTION, result, "torch, onnxruntime and the matmul") + [
        f"- model: {result['model']} ({'trained' if result['trained'] else 'untrained'}); "
        f"fusion: {fusion}",
        f"- fp32 limit: {g['used']:.1f} GFLOP/s measured ({g['matmul']}^2 torch matmul, best of "
        f"before {g['before']:.1f} / after {g['after']:.1f}); a {result['pair_tokens']}-token "
        f"pair is {result['mflop_per_pair']:.0f} MFLOP (matmuls only)",
        f"- int8 limit: {i['used']:.1f} GOP/s measured ({i['matmul']}^2 onnxruntime "
        f"DynamicQuantizeMatMul, best of before {i['before']:.1f} / after {i['after']:.1f}), "
        f"{i['used'] / g['used']:.2f}x the fp32 figure: int8 matrix work alone cannot go below "
        f"{t['int8_floor_ratio_to_fp32_limit']:.2f}x the fp32 limit on this machine",
        f"- timing: median of {result['calls']} calls, best of {result['rounds']} rounds, "
        "backends interleaved",
        "",
        format_rows(result["rows"]),
        "",
        f"Targets: int8 batch 1 end to end at {t['int8_batch1_ratio_to_fp32_limit']:.2f}x the "
        f"fp32 limit (target <= {TARGETS['int8_batch1_ratio']}x; "
        f"{t['int8_batch1_ratio_to_int8_limit']:.2f}x the int8 limit); "
        f"{t['int8_vs_torch_eager']:.2f}x torch eager (target >= {TARGETS['int8_vs_torch']}x); "
        f"int8 batch 32 spends {t['int8_batch32_share_of_gflops']:.0%} of the fp32 GFLOP/s "
        f"usefully (target >= {TARGETS['batch32_share']:.0%})"
        + (f"; int8 vs fp32 decisions agree on {agreement['int8_vs_fp32_min']:.2%} (worst head) "
           f"of {agreement['pairs']} pairs of {agreement['source']} (target >= 99%)."
           if agreement else "; no --data, so no decision agreement."),
    ]
    if result.get("compiled_logit_diff"):
        lines += ["", "Compiled torch forwards (`--torch-compile`), largest |logit| difference "
                  "from torch eager on the timed pair: " + ", ".join(
                      f"{name} {diff:.2g}" for name, diff in result["compiled_logit_diff"].items())
                  + "."]
    recheck = (agreement or {}).get("recheck")
    if recheck:
        cost = ", ".join(f"{c:.2f}x at batch {b}" for b, c in t["recheck_cost_at_batch"].items())
        margins = ", ".join(f"{h} {m:.3f}" for h, m in recheck["margins"].items())
        lines += ["", f"Boundary re-check (`{RECHECK}`: pairs whose int8 logit lies within the "
                  f"export's margin of a threshold, {margins} logits, scored again in fp32): "
                  f"{recheck['rechecked_share']:.2%} of the agreement pairs re-scored; decisions "
                  f"agree with fp32 on {recheck['int8_vs_fp32_min']:.2%} (worst head; "
                  + ", ".join(f"{h} {v:.2%}" for h, v in recheck["int8_vs_fp32"].items())
                  + f"); time on the pool against int8 alone: {cost}."]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="reward-model folder [an untrained MiniLM-L6 3-head "
                                        "classifier]")
    parser.add_argument("--export", help="its fused ONNX export [export now]")
    parser.add_argument("--unfused-export", help="its unfused export (--no-optimize) [export now]")
    parser.add_argument("--no-unfused", action="store_true", help="skip the unfused graph")
    parser.add_argument("--previous-export", help="an earlier export of the same model (e.g. "
                                                  "by an older fairguard), timed as 'previous'")
    parser.add_argument("--torch-compile", action="store_true",
                        help="also time the batch-1 forward compiled by torch (inductor fp32; "
                             "PT2E int8 where torchao is installed)")
    parser.add_argument("--data", help="dataset folder: throughput pool and int8/fp32 agreement "
                                       "from its test split")
    parser.add_argument("--threads", type=int, default=2, help="threads for torch, onnxruntime "
                                                               "and the matmul [2]")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the best is kept [3]")
    parser.add_argument("--calls", type=int, default=40, help="batch-1 calls per round [40]")
    parser.add_argument("--tokens", type=int, default=36, help="batch-1 pair length [36]")
    parser.add_argument("--pool", type=int, default=256, help="pairs per throughput call [256]")
    parser.add_argument("--agreement-pairs", type=int, default=None,
                        help="first N test-split pairs for the agreement [all]")
    parser.add_argument("--matmul", type=int, default=2048, help="matmul size for GFLOP/s")
    parser.add_argument("--quick", action="store_true",
                        help="check that it runs: 2 rounds of 10 calls, 64 pairs, no unfused "
                             "export, 1024 matmul, 200 agreement pairs")
    parser.add_argument("--write", action="store_true", help=f"write {SECTION!r} in RESULTS.md")
    parser.add_argument("--json", dest="json_out", help="also write the results as JSON here")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.calls, args.pool, args.matmul = 2, 10, 64, 1024
        args.no_unfused = args.no_unfused or not args.unfused_export
        args.agreement_pairs = args.agreement_pairs or 200
    result = run(args)
    text = report(result)
    publish(text, SECTION, args.write, result, args.json_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
