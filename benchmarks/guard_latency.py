"""Guard overhead: what wrapping a text-generation pipeline adds to the pipeline's own time.

    python benchmarks/guard_latency.py                       # reward model found as in the example
    python benchmarks/guard_latency.py --reward-model DIR --write   # and update benchmarks/RESULTS.md

On the embedded SmolLM2-135M-Instruct, for N = 1 and N = 4 (``rerank``): the plain pipeline
generating N sampled candidates vs the guarded pipeline doing the same and scoring all N in one
batch. Both calls of a pair start from the same torch seed, so they sample the same tokens and
the difference is the guard alone; pairs alternate which goes first, so load from other processes
hits both alike. Also reported: the guard's own time measured inside the call (scoring and
bookkeeping, ``guard_ms``) against its generation time, which is less sensitive to other load,
and the guarded N = 4 call against the plain N = 1 call (what best-of-4 costs over one sample;
that is generation, not guard overhead).

Reward: ``--reward-model DIR``, else runs/demo/reward-onnx, else
runs/demo/reward-model, else an untrained MiniLM-L6 reward model built on the fly (same
size and cost as a trained one; its scores mean nothing), else ``gender-bias``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_md import publish  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
SECTION = "## Guard overhead"
DEFAULT_FOLDERS = (Path("runs/demo/reward-onnx"), Path("runs/demo/reward-model"))
PROMPTS = [
    "Describe a typical nurse in two sentences.",
    "Who makes a better engineer, a man or a woman?",
    "A migrant worker from a rural province applies to rent my flat. What should I think?",
    "Write one sentence about an elderly job applicant.",
    "What is a good career for someone from a poor village?",
    "Tell me about the new manager of the sales team.",
]


def build_rewards(arg: str | None, tmp: Path) -> tuple[list[Any], str]:
    """The reward plugins and a line saying which reward model was used."""
    from fairguard import get_reward

    candidates = [Path(arg)] if arg else list(DEFAULT_FOLDERS)
    for folder in candidates:
        if (folder / "fairguard.json").is_file():
            reward = get_reward("reward-model", path=str(folder))
            return [reward], f"reward-model {folder} (backend {reward.backend})"
        if arg:
            sys.exit(f"error: {folder} is not a reward-model folder (no fairguard.json)")
    try:
        sys.path.insert(0, str(HERE))
        from scoring_latency import untrained_minilm_reward

        folder = untrained_minilm_reward(tmp / "untrained-minilm")
        reward = get_reward("reward-model", path=str(folder))
        return [reward], ("untrained MiniLM-L6 reward model (torch; no trained model found; same cost "
                          "as a trained one, scores meaningless)")
    except Exception as exc:  # noqa: BLE001 - fall back to the model-free reward, and say so
        print(f"note: could not build an untrained MiniLM reward model ({exc}); using gender-bias")
        return [get_reward("gender-bias")], "gender-bias (no model; scoring is nearly free)"


def _plain_call(pipe: Any, chat: list[dict[str, str]], n: int, seed: int,
                kwargs: dict[str, Any]) -> tuple[float, list[str]]:
    """Seconds and texts of one unguarded pipeline call for ``n`` candidates."""
    import torch

    torch.manual_seed(seed)
    start = time.perf_counter()
    out = pipe(chat, num_return_sequences=n, **kwargs)
    return time.perf_counter() - start, [o["generated_text"][-1]["content"] for o in out]


def _guarded_call(guard: Any, chat: list[dict[str, str]], seed: int,
                  kwargs: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """Seconds and first output of one guarded call with the same seed."""
    import torch

    torch.manual_seed(seed)
    start = time.perf_counter()
    out = guard(chat, **kwargs)
    return time.perf_counter() - start, out[0]


def measure(pipe: Any, guards: dict[int, Any], prompts: list[str], max_new_tokens: int,
            repeats: int) -> dict[int, dict[str, list[float]]]:
    """Timed pairs (plain, guarded) per N; both calls of a pair use the same seed."""
    from tqdm.auto import tqdm

    rows: dict[int, dict[str, list[float]]] = {
        n: {"plain": [], "guarded": [], "guard_ms": [], "generation_ms": [], "scoring_ms": [],
            "same_samples": []} for n in guards}
    jobs = [(r, i, n) for r in range(repeats) for i in range(len(prompts)) for n in guards]
    for r, i, n in tqdm(jobs, desc="timing", leave=False):
        chat = [{"role": "user", "content": prompts[i]}]
        seed = 1000 * r + 10 * i + n
        kwargs = {"max_new_tokens": max_new_tokens, "do_sample": True}
        if (r + i) % 2 == 0:
            t_plain, texts = _plain_call(pipe, chat, n, seed, kwargs)
            t_guarded, out = _guarded_call(guards[n], chat, seed, kwargs)
        else:
            t_guarded, out = _guarded_call(guards[n], chat, seed, kwargs)
            t_plain, texts = _plain_call(pipe, chat, n, seed, kwargs)
        lat = out["fairguard"]["latency"]
        row = rows[n]
        row["plain"].append(t_plain * 1000)
        row["guarded"].append(t_guarded * 1000)
        row["guard_ms"].append(lat["guard_ms"])
        row["generation_ms"].append(lat["generation_ms"])
        row["scoring_ms"].append(lat["scoring_ms"])
        row["same_samples"].append(float(out["generated_text"][-1]["content"] in texts))
    return rows


def report(rows: dict[int, dict[str, list[float]]], info: dict[str, str]) -> str:
    """The markdown section."""
    lines = [SECTION, ""]
    lines += [f"- {key}: {value}" for key, value in info.items()]
    lines += ["", "| N (candidates) | plain pipeline, ms/call | guarded, ms/call | overhead vs plain same N "
              "| guard's own time / its generation time | scoring ms/call (median) | same samples |",
              "|---|---|---|---|---|---|---|"]
    for n, row in rows.items():
        plain, guarded = sum(row["plain"]), sum(row["guarded"])
        own = sum(row["guard_ms"]) / sum(row["generation_ms"])
        k = len(row["plain"])
        lines.append(
            f"| {n} | {plain / k:.0f} | {guarded / k:.0f} | {100 * (guarded - plain) / plain:+.1f}% "
            f"| {100 * own:.2f}% | {statistics.median(row['scoring_ms']):.1f} "
            f"| {int(sum(row['same_samples']))}/{k} |")
    if 1 in rows and 4 in rows:
        g4 = sum(rows[4]["guarded"]) / len(rows[4]["guarded"])
        p1 = sum(rows[1]["plain"]) / len(rows[1]["plain"])
        p4 = sum(rows[4]["plain"]) / len(rows[4]["plain"])
        own4 = sum(rows[4]["guard_ms"]) / sum(rows[4]["generation_ms"])
        wall4 = (sum(rows[4]["guarded"]) - sum(rows[4]["plain"])) / sum(rows[4]["plain"])
        lines += [
            "",
            f"Target (rerank N=4 adds < 25% to the pipeline's own time for the same 4 candidates): "
            f"wall-clock {100 * wall4:+.1f}%, guard's own time {100 * own4:.2f}% -> "
            f"{'met' if own4 < 0.25 and wall4 < 0.25 else 'NOT met'}.",
            "",
            f"Against one plain sample (N=1, {p1:.0f} ms/call), the guarded N=4 call takes {g4:.0f} ms/call "
            f"({g4 / p1:.2f}x); the plain pipeline alone takes {p4 / p1:.2f}x for 4 samples, so nearly all of "
            "that is generating 3 more candidates (batched: less than 4x), not the guard.",
            "",
            "\"overhead vs plain same N\" is the wall-clock difference of paired calls that sample the same "
            "tokens (\"same samples\" counts pairs whose chosen text is one of the plain call's texts); it moves "
            "with load from other processes. \"guard's own time\" is measured inside the guarded call "
            "(everything but the pipeline call: input checks, scoring all candidates in one batch, ranking, "
            "records) and is the better estimate of the overhead on a busy machine.",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reward-model", help="reward-model folder (ONNX export or torch)")
    parser.add_argument("--prompts", type=int, default=4, help=f"how many prompts (at most {len(PROMPTS)})")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads for this benchmark process (default: torch's own)")
    parser.add_argument("--write", action="store_true", help=f"update the section in {RESULTS}")
    args = parser.parse_args()

    import torch
    from transformers import pipeline

    from fairguard import Guard
    from fairguard.models import load_causal_lm

    if args.threads:
        torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        rewards, reward_line = build_rewards(args.reward_model, Path(tmp))
        model, tokenizer = load_causal_lm("smollm2-135m-instruct")
        pipe = pipeline("text-generation", model=model, tokenizer=tokenizer)
        guards = {n: Guard(rewards, strategy="rerank", n=n, fail="open", below="flag").wrap(pipe)
                  for n in (1, 4)}
        prompts = PROMPTS[:max(1, min(args.prompts, len(PROMPTS)))]
        warm = [{"role": "user", "content": "Hello"}]
        pipe(warm, max_new_tokens=4)
        guards[4](warm, max_new_tokens=4)
        started = time.perf_counter()
        rows = measure(pipe, guards, prompts, args.max_new_tokens, args.repeats)
        elapsed = time.perf_counter() - started
    load_after = os.getloadavg()
    command = "python benchmarks/guard_latency.py " + " ".join(sys.argv[1:])
    info = {
        "command": f"`{command.strip()}`",
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__} with "
                   f"{torch.get_num_threads()} threads",
        "policy LM": f"smollm2-135m-instruct, chat prompts, do_sample=True, max_new_tokens="
                     f"{args.max_new_tokens}",
        "reward": reward_line,
        "calls": f"{len(prompts)} prompts x {args.repeats} repeats per N, each a (plain, guarded) pair; "
                 f"{elapsed:.0f} s in all",
        "load average (1 min) before/after": f"{load_before[0]:.1f} / {load_after[0]:.1f}"
                                             + (" (other processes were competing for the CPU)"
                                                if max(load_before[0], load_after[0]) > (os.cpu_count() or 1)
                                                else ""),
    }
    if args.threads:
        info["threads"] = (f"{args.threads} (--threads; with other processes busy on every core, more "
                           "torch threads spin-wait on each other and generation slows down several "
                           "times, for plain and guarded calls alike)")
    text = report(rows, info)
    publish(text, SECTION, args.write)


if __name__ == "__main__":
    main()
