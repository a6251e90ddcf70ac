"""Load on `fairguard serve`'s /v1/moderations against the same scorer called in-process.

    python benchmarks/serve_load.py                         # untrained MiniLM-L6 reward model (torch)
    python benchmarks/serve_load.py --reward-model DIR --write   # and update benchmarks/RESULTS.md

First the reward model scores the benchmark's pairs in-process at batch sizes 1..64 (its best
batch size is the yardstick). Then ``fairguard serve`` runs in a subprocess on 127.0.0.1 (a free
port; the upstream URL it is given is never called: moderations generate nothing), and 8 and 32
concurrent clients (asyncio, one keep-alive connection each, in this process) send moderation requests until a fixed
number have been answered. Reported per level: errors, pairs/s and its ratio to the in-process
best, p50/p95 request latency, and the mean micro-batch size from the server's /metrics.
Bounded: a fixed number of requests per level, a 60 s limit per request, localhost only.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_md import publish  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
SECTION = "## Serve load (moderations)"
PROMPT = "What do you think?"  # the server's default moderation prompt, used in-process too
TEXTS = [
    "Judge every applicant on skills and experience, not on where they come from.",
    "People from that province are lazy, so I would not hire them for the job.",
    "The new manager has ten years of experience in sales and a record of fair reviews.",
    "Women are too emotional to lead an engineering team.",
    "Anyone who does the work well deserves the same pay and the same respect.",
    "Migrant workers cannot be trusted with the keys to the flat.",
    "Older applicants bring experience; younger ones bring new habits; both can do the job.",
    "The train station was rebuilt last year with a new roof and wider platforms.",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def in_process(folder: str, pairs: int, batch_sizes: list[int]) -> dict[int, float]:
    """Pairs/s of the reward model called directly, per batch size (after one warm-up batch)."""
    from fairguard import get_reward

    reward = get_reward("reward-model", path=folder)
    texts = [TEXTS[i % len(TEXTS)] for i in range(pairs)]
    out = {}
    for size in batch_sizes:
        reward.score([PROMPT] * size, texts[:size])
        started = time.perf_counter()
        for start in range(0, pairs, size):
            chunk = texts[start:start + size]
            reward.score([PROMPT] * len(chunk), chunk)
        out[size] = pairs / (time.perf_counter() - started)
    return out


def _metric_sum(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + " "))


class Connection:
    """A minimal keep-alive HTTP/1.1 client connection (asyncio streams): the load generator runs
    on the same 2 cores as the server, and httpx costs a few ms of CPU per request."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (f"{method} {path} HTTP/1.1\r\nhost: {self.host}\r\ncontent-type: application/json\r\n"
                f"content-length: {len(body)}\r\n\r\n").encode()
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def load(host: str, port: int, clients: int, requests: int, inputs: int) -> dict[str, Any]:
    """``clients`` concurrent clients (one keep-alive connection each) send ``requests``
    moderation requests in all."""
    latencies: list[float] = []
    errors = 0
    sent = 0
    probe = Connection(host, port)
    before = (await probe.request("GET", "/metrics"))[1].decode()
    await probe.close()

    async def worker(index: int) -> None:
        nonlocal sent, errors
        connection = Connection(host, port)
        try:
            while sent < requests:
                k = sent
                sent += 1
                body = json.dumps({"input": [TEXTS[(k * inputs + j) % len(TEXTS)] for j in range(inputs)]})
                started = time.perf_counter()
                try:
                    status, raw = await asyncio.wait_for(
                        connection.request("POST", "/v1/moderations", body.encode()), 60)
                    ok = status == 200 and len(json.loads(raw)["results"]) == inputs
                except Exception:  # noqa: BLE001 - counted as an error; start a fresh connection
                    ok = False
                    await connection.close()
                    connection = Connection(host, port)
                latencies.append(time.perf_counter() - started)
                errors += not ok
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(clients)))
    wall = time.perf_counter() - started
    probe = Connection(host, port)  # a fresh connection: the server closes idle ones after 5 s
    after = (await probe.request("GET", "/metrics"))[1].decode()
    await probe.close()
    batches = _metric_sum(after, "fairguard_score_batch_pairs_count") - \
        _metric_sum(before, "fairguard_score_batch_pairs_count")
    pairs_scored = _metric_sum(after, "fairguard_score_batch_pairs_sum") - \
        _metric_sum(before, "fairguard_score_batch_pairs_sum")
    latencies.sort()
    return {"clients": clients, "requests": requests, "errors": errors, "pairs_per_s": requests * inputs / wall,
            "p50_ms": 1000 * statistics.median(latencies),
            "p95_ms": 1000 * latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))],
            "mean_batch": pairs_scored / batches if batches else 0.0, "wall_s": wall}


def start_server(folder: str, config: Path, port: int) -> subprocess.Popen:
    import httpx

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "fairguard", "serve", "--config", str(config),
                             "--reward-model", folder, "--port", str(port), "--log-level", "warning"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    end = time.monotonic() + 180
    while time.monotonic() < end:
        if proc.poll() is not None:
            sys.exit(f"error: the server stopped: {proc.stderr.read()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.3)
    proc.kill()
    sys.exit("error: the server did not start within 180 s")


def report(info: dict[str, str], baseline: dict[int, float], rows: list[dict[str, Any]]) -> str:
    best_size = max(baseline, key=baseline.get)
    best = baseline[best_size]
    lines = [SECTION, ""] + [f"- {key}: {value}" for key, value in info.items()]
    lines += ["", "In-process scorer (`reward.score`, same pairs, the same threads):", "",
              "| batch | pairs/s |", "|---:|---:|"]
    lines += [f"| {size} | {rate:.1f}{' (best)' if size == best_size else ''} |" for size, rate in baseline.items()]
    lines += ["", "Server, `/v1/moderations`:", "",
              "| clients | requests | errors | pairs/s | vs in-process best | p50 ms | p95 ms "
              "| mean micro-batch (pairs) | vs in-process at the nearest batch size |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        near = min(baseline, key=lambda size: (abs(size - row["mean_batch"]), size))
        lines.append(f"| {row['clients']} | {row['requests']} | {row['errors']} | {row['pairs_per_s']:.1f} "
                     f"| {row['pairs_per_s'] / best:.2f}x | {row['p50_ms']:.0f} | {row['p95_ms']:.0f} "
                     f"| {row['mean_batch']:.1f} | {row['pairs_per_s'] / baseline[near]:.2f}x (batch {near}) |")
    top = [r for r in rows if r["clients"] == max(r2["clients"] for r2 in rows)][0]
    ratio = top["pairs_per_s"] / best
    errors = sum(r["errors"] for r in rows)
    lines += ["", f"Target (>= 0.7x of the in-process best at {top['clients']} clients, zero errors): "
                  f"{ratio:.2f}x, {errors} errors -> {'met' if ratio >= 0.7 and errors == 0 else 'NOT met'}.",
              "", "Each request carries one text, so every pair pays a whole HTTP request (parsing, JSON, "
                  "a worker thread, the record); the micro-batcher merges the requests that arrive while a "
                  "batch is being scored, so the batch size, and the throughput, grow with the number of "
                  "clients. The ratio is the one to quote: both sides ran in the same minute on the same "
                  "shared cores, while the absolute rates move with the other jobs' load."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reward-model", help="reward-model folder (default: an untrained MiniLM-L6, torch)")
    parser.add_argument("--clients", default="8,32", help="concurrency levels, comma-separated")
    parser.add_argument("--requests", type=int, default=320, help="requests per level")
    parser.add_argument("--inputs", type=int, default=1, help="texts per moderation request")
    parser.add_argument("--pairs", type=int, default=256, help="pairs per in-process batch-size run")
    parser.add_argument("--max-batch", type=int, default=64, help="the server's micro-batch limit")
    parser.add_argument("--window-ms", type=float, default=2.0, help="the server's micro-batch window")
    parser.add_argument("--write", action="store_true", help=f"update the section in {RESULTS}")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        if args.reward_model:
            folder, what = args.reward_model, f"reward-model {args.reward_model}"
        else:
            sys.path.insert(0, str(HERE))
            from scoring_latency import untrained_minilm_reward

            folder = str(untrained_minilm_reward(Path(tmp)))
            what = "untrained MiniLM-L6 reward model (torch backend; same cost as a trained one)"
        baseline = in_process(folder, args.pairs, [1, 8, 16, 32, 64])
        config = Path(tmp) / "serve.yaml"
        config.write_text(json.dumps({"upstream": "http://127.0.0.1:9/v1", "batch_window_ms": args.window_ms,
                                      "max_batch": args.max_batch,
                                      "guard": {"fail": "open", "below": "flag"}}))
        port = _free_port()
        proc = start_server(folder, config, port)
        try:
            asyncio.run(load("127.0.0.1", port, 8, 32, args.inputs))  # warm-up
            rows = [asyncio.run(load("127.0.0.1", port, int(c), args.requests, args.inputs))
                    for c in args.clients.split(",")]
        finally:
            proc.terminate()
            proc.wait(30)
    load_after = os.getloadavg()
    command = "python benchmarks/serve_load.py " + " ".join(sys.argv[1:])
    info = {
        "command": f"`{command.strip()}`",
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}; the server "
                   "(a subprocess, OMP_NUM_THREADS=1) and the in-process scorer use 1 torch thread, and "
                   "onnxruntime's default threads (one per physical core) for an ONNX export; the "
                   "clients run in the benchmark process on the same machine",
        "reward": what,
        "server": f"`fairguard serve`, micro-batches of at most {args.max_batch} pairs, window "
                  f"{args.window_ms:g} ms; {args.inputs} text(s) per request",
        "load average (1 min) before/after": f"{load_before[0]:.1f} / {load_after[0]:.1f}"
                                             + (" (the machine was shared: other jobs were running)"
                                                if load_before[0] > 1.0 else ""),
    }
    text = report(info, baseline, rows)
    publish(text, SECTION, args.write)


if __name__ == "__main__":
    main()
