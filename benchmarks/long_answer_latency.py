"""Cost of reading long answers: a 2,000-character answer against a 200-character one.

The reward model reads a long answer in sentence windows of ``max_length`` tokens
(``fairguard/reward_model/windows.py``), so its cost grows with the answer. This measures, per
answer at batch 1 (one answer per call, as ``Guard.check`` scores it), the end-to-end time of
``TorchRewardScorer`` and the ONNX int8 ``OnnxRewardScorer`` on both lengths (in chunks of calls
taking turns, so that load from other processes hits every row alike), and for reference
the 2,000-character answer read the old way (its first ``max_length`` tokens only,
``windows=False``). Target: the 2,000-character answer costs at most 4x the 200-character one.
These scorers keep no window scores (``window_cache=0``): every call reads the answer anew.

It also streams the 2,000-character answer through ``fairguard serve``'s sentence gate
(:class:`~fairguard.serve.streaming.SentenceGate`, a guard on the ``reward-model`` reward), which
scores the text released so far at every sentence: with the reward's window cache (the default)
and without it (``window_cache=0``), each stream starting with an empty cache.

    python benchmarks/long_answer_latency.py --threads 2            # untrained MiniLM-L6
    python benchmarks/long_answer_latency.py --model DIR --export DIR --threads 2 --write
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from results_md import publish, run_header  # noqa: E402
from scoring_latency import untrained_minilm_reward  # noqa: E402

from fairguard.export.latency import load_average, machine_info  # noqa: E402

SHORT, LONG = 200, 2000
TARGET_RATIO = 4.0
SECTION = "## Long-answer scoring cost"


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


class _Streamed:
    """Streams its answer word by word through a sentence gate on ``reward`` at every call (the
    reward's window cache emptied first), whatever pair it is handed."""

    def __init__(self, reward: Any, answer: str):
        from fairguard import Guard

        self.reward, self.answer = reward, answer
        self.guard = Guard([reward], strategy="score", below="flag")

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> Any:
        import asyncio

        from fairguard.serve.streaming import SentenceGate, guarded_stream

        cache = self.reward.scorer.window_cache
        if cache is not None:
            cache.clear()

        async def words() -> Any:
            for word in self.answer.split(" "):
                yield word + " "

        async def stream() -> int:
            gate = SentenceGate(self.guard, prompts[0])
            async for _ in guarded_stream(gate, words()):
                pass
            return gate.state.sentences

        return asyncio.run(stream())


def streamed_windows(reward: Any, prompt: str, answer: str) -> dict[str, int]:
    """The texts a sentence gate checks when ``answer`` streams in word by word (the answer so far
    at each sentence), the windows those hold, and how many of them ``reward``'s window cache
    leaves to score in one fresh stream (texts read whole are always scored)."""
    from fairguard.reward_model.windows import split_windows
    from fairguard.serve.streaming import SentenceSplitter

    splitter, shown, texts = SentenceSplitter(), "", []
    for word in answer.split(" "):
        for sentence in splitter.feed(word + " "):
            shown += sentence
            texts.append(shown)
    if splitter.pending.strip():
        texts.append(shown + splitter.flush())
    scorer = reward.scorer
    counts = [len(split_windows(scorer.tokenizer, [prompt], [text], scorer.max_length)) for text in texts]
    cache = scorer.window_cache
    before = cache.misses
    _Streamed(reward, answer).score([prompt], [answer])
    return {"checks": len(texts), "windows": sum(counts),
            "windows_scored_cached": cache.misses - before + sum(1 for c in counts if c == 1)}


class _OneAnswer:
    """A scorer that scores its own answer under the given prompt, whatever pair it is handed,
    so that :func:`fairguard.export.latency.time_scorers` can time every configuration."""

    def __init__(self, scorer: Any, answer: str):
        self.scorer, self.answer = scorer, answer

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> Any:
        return self.scorer.score([prompts[0]], [self.answer])


def measure(configs: dict[str, tuple[Any, str]], prompt: str, rounds: int,
            warmup: int = 5, chunk: int = 5) -> dict[str, dict[str, float]]:
    """p50/p95/mean ms per call of ``scorer.score([prompt], [answer])`` for every
    ``name: (scorer, answer)``, ``rounds`` timed calls each, the configurations taking turns by
    chunks of ``chunk`` calls (``time_scorers``: a scorer's call that follows another scorer's
    at once runs beside the threads that one left spinning)."""
    from fairguard.export.latency import time_scorers

    timed = time_scorers({name: _OneAnswer(*pair) for name, pair in configs.items()}, [prompt],
                         [prompt], batch_sizes=(1,), rounds=rounds, warmup=warmup,
                         progress=False, chunk=chunk)
    return {name: by_batch[1] for name, by_batch in timed.items()}


def report(result: dict[str, Any], backends: Sequence[str]) -> str:
    """The RESULTS.md section: one row per backend and answer, the ratios and the verdict."""
    shapes, latency = result["answers"], result["latency_ms_per_answer"]
    short, long_ = shapes[str(SHORT)], shapes[str(LONG)]
    lines = run_header(SECTION, result) + [
        f"- model: {result['model']} ({result['model_kind']}), `max_length` {result['max_length']}; "
        f"ONNX: {result['export']}",
        "- method: one answer per call (batch 1, as `Guard.check` scores it), end to end through "
        "`TorchRewardScorer` / `OnnxRewardScorer` (input checks, windows, tokenisation, forward, "
        "combining); the answers are the built-in parity pairs' fair answers run together, under "
        "the prompt \"Should we hire the applicant from a rural village for the engineering "
        f"job?\"; {result['rounds']} timed calls per row after 5 warm-up calls, in chunks of 5 calls in a "
        "row (after one untimed call), the rows taking turns chunk by chunk: each scorer has its "
        "own thread pool, and calls of different scorers interleaved one by one slow each other "
        "down (the threads one leaves spinning take the cores from the next). "
        f"\"first {result['max_length']} tokens only\" is the long answer read the old way "
        "(`windows=False`), for reference"
        + (f"; \"windows of {result['window_tokens']} tokens\" reads it with the reward-model option "
           f"`window_tokens={result['window_tokens']}`." if result.get("window_tokens") else "."),
        "",
        "| backend | answer | tokens (pair) | windows | tokens read | p50 ms/answer | p95 ms/answer "
        f"| vs {SHORT} chars (p50) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for backend in backends:
        base = latency[f"{backend} {SHORT}"]["p50"]
        for name, label, tokens, windows, read in (
                (f"{backend} {SHORT}", f"{short['chars']} chars", short["tokens"], short["windows"],
                 short["window_tokens"]),
                (f"{backend} {LONG}", f"{long_['chars']} chars", long_["tokens"], long_["windows"],
                 long_["window_tokens"]),
                (f"{backend} {LONG} first-tokens",
                 f"{long_['chars']} chars, first {result['max_length']} tokens only",
                 long_["tokens"], 1, min(long_["tokens"], result["max_length"])),
                *([(f"{backend} {LONG} small-windows",
                    f"{long_['chars']} chars, windows of {result['window_tokens']} tokens",
                    long_["tokens"], shapes["small"]["windows"], shapes["small"]["window_tokens"])]
                  if result.get("window_tokens") else [])):
            row = latency[name]
            ratio = row["p50"] / base
            lines.append(f"| {backend} | {label} | {tokens} | {windows} | {read} | {row['p50']:.2f} "
                         f"| {row['p95']:.2f} | " + (f"**{ratio:.2f}x** |" if name == f"{backend} {LONG}"
                                                     else f"{ratio:.2f}x |"))
    lines.append("")
    tokens_ratio = long_["tokens"] / short["tokens"]
    read_ratio = long_["window_tokens"] / short["window_tokens"]
    verdicts = "; ".join(
        f"{b} {r:.2f}x ({'met' if r <= TARGET_RATIO else 'not met'})"
        for b, r in result["ratio_long_vs_short_p50"].items())
    lines.append(f"Target: the {LONG:,}-character answer costs at most {TARGET_RATIO:g}x the "
                 f"{SHORT}-character one: {verdicts}. The long pair is {tokens_ratio:.1f}x the "
                 f"tokens of the short one, and its windows read {read_ratio:.1f}x the tokens.")
    streams = result.get("streamed") or {}
    if streams:
        lines += ["", f"Streamed: the {long_['chars']}-character answer through `fairguard serve`'s sentence "
                  "gate (`SentenceGate` on a guard with the `reward-model` reward, `strategy=\"score\"`), "
                  "which checks the answer so far at every sentence, timed the same way, each stream "
                  "starting with an empty window cache.", "",
                  "| backend | checks | windows in them | windows scored with the cache | p50 ms/stream, "
                  "no cache | p50 ms/stream, window cache | cache / no cache | cached stream / one "
                  "whole answer |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for backend, counts in streams.items():
            plain = latency[f"{backend} {LONG} streamed uncached"]["p50"]
            cached = latency[f"{backend} {LONG} streamed"]["p50"]
            whole = latency[f"{backend} {LONG}"]["p50"]
            lines.append(f"| {backend} | {counts['checks']} | {counts['windows']} | "
                         f"{counts['windows_scored_cached']} | {plain:.1f} | {cached:.1f} | "
                         f"**{cached / plain:.2f}x** | {cached / whole:.2f}x |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="reward-model folder (torch); default: an untrained "
                                        "MiniLM-L6 3-head classifier with max_length 128")
    parser.add_argument("--export", help="its ONNX export with model_int8.onnx; default: export "
                                         "into a temporary folder now")
    parser.add_argument("--rounds", type=int, default=40, help="timed calls per configuration [40]")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for torch and onnxruntime alike [torch's default]")
    parser.add_argument("--window-tokens", type=int, default=None,
                        help="also read the long answer in windows of this many tokens (the "
                             "reward-model option window_tokens) [off]")
    parser.add_argument("--json", dest="json_out", help="also write the results as JSON here")
    parser.add_argument("--write", action="store_true", help=f"write {SECTION!r} in RESULTS.md")
    args = parser.parse_args(argv)

    import torch

    from fairguard import get_reward
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
            "torch": lambda w, n=None: TorchRewardScorer(model_dir, device="cpu", windows=w, max_length=n,
                                                         window_cache=0),
            "onnx-int8": lambda w, n=None: OnnxRewardScorer(export_dir, quantized=True, threads=threads,
                                                            windows=w, max_length=n, window_cache=0),
        }
        folders = {"torch": (model_dir, {}), "onnx-int8": (export_dir, {"threads": threads})}
        streams: dict[str, dict[str, int]] = {}
        configs: dict[str, tuple[Any, str]] = {}
        shapes: dict[str, dict[str, int]] = {}
        for backend, make in backends.items():
            windowed, first_tokens = make(True), make(False)
            for chars, answer in answers.items():
                configs[f"{backend} {chars}"] = (windowed, answer)
            configs[f"{backend} {LONG} first-tokens"] = (first_tokens, answers[LONG])
            tok, max_length = windowed.tokenizer, windowed.max_length
            if args.window_tokens:
                configs[f"{backend} {LONG} small-windows"] = (make(True, args.window_tokens), answers[LONG])
            folder, options = folders[backend]
            for label, size in (("streamed", None), ("streamed uncached", 0)):
                cache_option = {} if size is None else {"window_cache": size}
                reward = get_reward("reward-model", path=str(folder), backend=backend.split("-")[0],
                                    **options, **cache_option)
                configs[f"{backend} {LONG} {label}"] = (_Streamed(reward, answers[LONG]), answers[LONG])
                if size is None:
                    streams[backend] = streamed_windows(reward, prompt, answers[LONG])
        reads = [(str(chars), answer, max_length) for chars, answer in answers.items()]
        reads += [("small", answers[LONG], args.window_tokens)] if args.window_tokens else []
        for key, answer, budget in reads:
            windows = split_windows(tok, [prompt], [answer], budget)
            read = sum(len(tok(p, r)["input_ids"]) for p, r in zip(windows.prompts, windows.responses))
            shapes[key] = {"chars": len(answer), "windows": len(windows),
                           "tokens": len(tok(prompt, answer, verbose=False)["input_ids"]),
                           "window_tokens": read}
        started = dt.datetime.now(dt.timezone.utc)
        load_before = load_average()
        latency = measure(configs, prompt, args.rounds)
        load_after = load_average()
    ratios = {b: latency[f"{b} {LONG}"]["p50"] / latency[f"{b} {SHORT}"]["p50"] for b in backends}
    command = "python benchmarks/long_answer_latency.py " + " ".join(argv if argv is not None
                                                                     else sys.argv[1:])
    result = {"command": command.strip(), "date_utc": started.isoformat(timespec="seconds"),
              "model": str(args.model or "untrained"), "model_kind": kind,
              "export": str(args.export or "exported by the benchmark"), "max_length": max_length,
              "window_tokens": args.window_tokens,
              "threads": threads, "machine": machine_info(), "rounds": args.rounds,
              "load_average_before": load_before, "load_average_after": load_after,
              "answers": shapes, "latency_ms_per_answer": latency, "ratio_long_vs_short_p50": ratios,
              "streamed": streams}
    text = report(result, list(backends))
    publish(text, SECTION, args.write, result, args.json_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
