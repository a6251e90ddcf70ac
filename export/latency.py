"""Scoring latency of one reward model through torch, ONNX fp32 and ONNX int8, in one run.

Every call goes end to end through the real scorers (input checks, tokenisation, forward,
sigmoid): :class:`~fairguard.reward_model.inference.TorchRewardScorer` on the CPU and
:class:`~fairguard.export.onnx_scorer.OnnxRewardScorer`. The backends are called round-robin on
the same pairs, so load from other processes hits them alike. ``benchmarks/scoring_latency.py``
and ``fairguard demo`` both use these functions.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from fairguard.errors import ArtifactError, ConfigError

BACKENDS = ("torch", "onnx-fp32", "onnx-int8")


def _positive(name: str, value: Any, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")


@contextmanager
def torch_threads(threads: int | None) -> Iterator[int]:
    """Run the block with ``threads`` torch intra-op threads (None: leave as is); restores the
    previous count afterwards. Yields the count in use."""
    import torch

    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        if threads is not None:
            torch.set_num_threads(before)


def load_scorers(model_dir: str | os.PathLike[str], export_dir: str | os.PathLike[str],
                 threads: int | None, backends: Sequence[str] = BACKENDS) -> dict[str, Any]:
    """The scorers on one model, by backend name: torch eager on the CPU (``model_dir``), ONNX
    fp32 and ONNX int8 (``export_dir``, with ``threads`` onnxruntime intra-op threads). The int8
    scorer runs the int8 graph alone (no boundary re-check), so each row times one graph."""
    from fairguard.export.onnx_scorer import OnnxRewardScorer
    from fairguard.reward_model.inference import TorchRewardScorer

    unknown = [b for b in backends if b not in BACKENDS]
    if unknown:
        raise ConfigError(f"unknown backend(s) {unknown}; choose from {', '.join(BACKENDS)}")
    makers = {
        "torch": lambda: TorchRewardScorer(model_dir, device="cpu"),
        "onnx-fp32": lambda: OnnxRewardScorer(export_dir, quantized=False, threads=threads),
        "onnx-int8": lambda: OnnxRewardScorer(export_dir, quantized=True, threads=threads,
                                              recheck=False),
    }
    return {name: makers[name]() for name in backends}


def time_scorers(scorers: dict[str, Any], prompts: Sequence[str], responses: Sequence[str],
                 batch_sizes: Sequence[int] = (1, 8), rounds: int = 200, warmup: int = 10,
                 progress: bool = True, chunk: int = 8) -> dict[str, dict[int, dict[str, float]]]:
    """Per-pair latency in ms (p50 = median, p95, mean, number of timed calls) per backend and
    batch size. Call ``r`` scores pairs ``r*b .. r*b+b-1`` (cycling) with every backend; each
    backend first makes ``warmup`` untimed calls.

    The backends take turns by chunks of ``chunk`` calls, each chunk after one untimed call: every
    scorer has its own thread pool, and a call that follows another scorer's call at once runs
    beside the threads that call left spinning (onnxruntime's pool, torch's OpenMP threads),
    which at 2 threads made a backend up to four times as slow as on its own. Chunks still
    interleave the backends, so load from other processes hits them alike."""
    from tqdm.auto import tqdm

    if not prompts or len(prompts) != len(responses):
        raise ConfigError("latency needs at least one (prompt, response) pair and as many "
                          "responses as prompts")
    _positive("rounds", rounds)
    _positive("warmup", warmup, minimum=0)
    _positive("chunk", chunk)
    for b in batch_sizes:
        _positive("batch size", b)
    n = len(prompts)

    def call(scorer: Any, r: int, b: int) -> float:
        idx = [(r * b + k) % n for k in range(b)]
        start = time.perf_counter()
        scorer.score([prompts[i] for i in idx], [responses[i] for i in idx])
        return time.perf_counter() - start

    out: dict[str, dict[int, dict[str, float]]] = {name: {} for name in scorers}
    for b in batch_sizes:
        times: dict[str, list[float]] = {name: [] for name in scorers}
        for scorer in scorers.values():
            for r in range(warmup):
                call(scorer, r, b)
        for first in tqdm(range(warmup, warmup + rounds, chunk), desc=f"latency batch {b}",
                          leave=False, disable=not progress):
            calls = range(first, min(first + chunk, warmup + rounds))
            for name, scorer in scorers.items():
                call(scorer, first, b)
                times[name].extend(call(scorer, r, b) * 1000.0 / b for r in calls)
        for name, values in times.items():
            arr = np.array(values)
            out[name][b] = {"p50": float(np.percentile(arr, 50)),
                            "p95": float(np.percentile(arr, 95)), "mean": float(arr.mean()),
                            "calls": len(values)}
    return out


def load_average() -> str:
    """The 1, 5 and 15 minute load averages as text ("n/a" where the OS has none)."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except (OSError, AttributeError):
        return "n/a"


def _cpuinfo(key: str) -> str | None:
    """The value of the first ``key`` line of /proc/cpuinfo (None where there is none)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _cpu_model() -> str:
    return _cpuinfo("model name") or platform.processor() or "unknown"


# CPU features that decide how fast int8 products run (VNNI: one instruction per 4-byte dot
# product; without it onnxruntime's AVX2 kernels take three)
INT8_FEATURES = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")


def cpu_features() -> list[str]:
    """Which of :data:`INT8_FEATURES` the CPU reports (empty where /proc/cpuinfo is missing)."""
    flags = set((_cpuinfo("flags") or "").split())
    return [name for name in INT8_FEATURES if name in flags]


def machine_info() -> dict[str, Any]:
    """What the timings were measured on: CPU and its int8-relevant features, core count, OS and
    runtime versions."""
    import onnxruntime
    import torch

    return {"cpu": _cpu_model(), "cpu_features": cpu_features(), "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(), "python": platform.python_version(),
            "torch": torch.__version__, "onnxruntime": onnxruntime.__version__}


def _fusion_of(onnx_dir: Path) -> dict[str, Any] | None:
    """What the export fused (``fairguard.json`` ``onnx.fusion``; None for older exports)."""
    import json

    try:
        meta = json.loads((onnx_dir / "fairguard.json").read_text())
    except (OSError, ValueError):
        return None
    fusion = meta.get("onnx", {}).get("fusion") if isinstance(meta, dict) else None
    return fusion if isinstance(fusion, dict) else None


def measure_latency(torch_model_dir: str | os.PathLike[str], onnx_dir: str | os.PathLike[str],
                    prompts: Sequence[str], responses: Sequence[str], rounds: int = 3,
                    threads: int | None = 1, warmup: int | None = None,
                    progress: bool = True) -> dict[str, Any]:
    """Batch-1 scoring latency of torch, ONNX fp32 and ONNX int8 on the same pairs, one run.

    Each of the ``len(prompts)`` pairs is scored ``rounds`` times by every backend (after
    ``warmup`` untimed calls each; default: one pass over the pairs, at most 8 calls), the
    backends taking turns by chunks of calls (:func:`time_scorers`). torch and
    onnxruntime both use ``threads`` intra-op threads (torch's count is restored afterwards;
    None keeps torch's current count and uses it for onnxruntime too). An export without
    ``model_int8.onnx`` is timed as torch and fp32 only. Returns a JSON-ready dict: median
    (``ms_per_pair``), p95 and mean ms per pair and the speed-up vs torch (torch median / this
    backend's median) per backend, plus the settings, date and machine.
    """
    from fairguard.export.onnx_scorer import FP32_FILE, INT8_FILE

    if not prompts or len(prompts) != len(responses):
        raise ConfigError("latency needs at least one (prompt, response) pair and as many "
                          "responses as prompts")
    _positive("rounds", rounds)
    if threads is not None:
        _positive("threads", threads)
    if warmup is None:
        warmup = min(len(prompts), 8)
    _positive("warmup", warmup, minimum=0)
    onnx_dir = Path(onnx_dir)
    if not (onnx_dir / FP32_FILE).is_file():
        raise ArtifactError(f"{onnx_dir} has no {FP32_FILE}; export the reward model with "
                            f"`fairguard export onnx --model {torch_model_dir} --out {onnx_dir}`")
    backends = [b for b in BACKENDS if b != "onnx-int8" or (onnx_dir / INT8_FILE).is_file()]
    started = time.monotonic()
    date = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    with torch_threads(threads) as used:
        scorers = load_scorers(torch_model_dir, onnx_dir, used, backends)
        load_before = load_average()
        timed = time_scorers(scorers, prompts, responses, batch_sizes=(1,),
                             rounds=rounds * len(prompts), warmup=warmup, progress=progress)
        load_after = load_average()
    base = timed["torch"][1]["p50"]
    results = {name: {"ms_per_pair": row[1]["p50"], "p95_ms_per_pair": row[1]["p95"],
                      "mean_ms_per_pair": row[1]["mean"], "calls": row[1]["calls"],
                      "speedup_vs_torch": base / row[1]["p50"]}
               for name, row in timed.items()}
    return {
        "kind": "scoring-latency", "torch_model": str(torch_model_dir), "onnx_model": str(onnx_dir),
        "batch_size": 1, "pairs": len(prompts), "rounds": rounds, "warmup_calls": warmup,
        "threads": used, "statistic": "median ms per pair over the timed calls",
        "backends": results, "fusion": _fusion_of(onnx_dir), "date_utc": date,
        "machine": machine_info(),
        "load_average_before": load_before, "load_average_after": load_after,
        "seconds": round(time.monotonic() - started, 2),
    }
