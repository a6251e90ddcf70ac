"""The server's metrics in Prometheus' text format: labelled counters and histograms.

A few dozen lines instead of a dependency; every metric is thread-safe (the micro-batcher reports
from its own thread).
"""

from __future__ import annotations

import math
import threading
from typing import Any, Iterable, Sequence

from fairguard.guard.result import GuardRecord

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
STAGES = ("generation", "scoring", "rewrite", "guard", "total")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{_escape(str(v))}"' for n, v in zip(names, values)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


class Counter:
    """A monotonically increasing count per label combination."""

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()):
        self.name, self.help, self.labels = name, help_text, tuple(labels)
        self._values: dict[tuple[str, ...], float] = {} if labels else {(): 0.0}
        self._lock = threading.Lock()

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = tuple(str(labels[n]) for n in self.labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        """The count for these labels (0 when never counted)."""
        return self._values.get(tuple(str(labels[n]) for n in self.labels), 0.0)

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        with self._lock:
            for key, value in sorted(self._values.items()):
                lines.append(f"{self.name}{_labels(self.labels, key)} {_number(value)}")
        return lines


class Histogram:
    """Observations counted into cumulative buckets, with their sum and count, per label combination."""

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = (),
                 buckets: Iterable[float] = LATENCY_BUCKETS):
        self.name, self.help, self.labels = name, help_text, tuple(labels)
        self.buckets = tuple(sorted(float(b) for b in buckets))
        self._data: dict[tuple[str, ...], list[float]] = {}  # bucket counts..., sum, count
        self._lock = threading.Lock()

    def observe(self, value: float, **labels: str) -> None:
        key = tuple(str(labels[n]) for n in self.labels)
        with self._lock:
            data = self._data.setdefault(key, [0.0] * (len(self.buckets) + 2))
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    data[i] += 1
            data[-2] += value
            data[-1] += 1

    def count(self, **labels: str) -> float:
        data = self._data.get(tuple(str(labels[n]) for n in self.labels))
        return data[-1] if data else 0.0

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        with self._lock:
            for key, data in sorted(self._data.items()):
                for bound, count in zip(self.buckets, data):
                    le = f'le="{_number(bound)}"'
                    lines.append(f"{self.name}_bucket{_labels(self.labels, key, le)} {_number(count)}")
                inf = _labels(self.labels, key, 'le="+Inf"')
                lines.append(f"{self.name}_bucket{inf} {_number(data[-1])}")
                lines.append(f"{self.name}_sum{_labels(self.labels, key)} {_number(data[-2])}")
                lines.append(f"{self.name}_count{_labels(self.labels, key)} {_number(data[-1])}")
        return lines


class ServeMetrics:
    """Everything ``GET /metrics`` reports."""

    def __init__(self) -> None:
        self.requests = Counter("fairguard_requests_total", "HTTP requests by endpoint and status code.",
                                ("endpoint", "status"))
        self.decisions = Counter("fairguard_decisions_total",
                                 "Guard decisions by endpoint, decision (pass/flag/block) and action.",
                                 ("endpoint", "decision", "action"))
        self.plugin_failures = Counter("fairguard_plugin_failures_total",
                                       "Plugin calls that raised, returned NaN or timed out, per output.",
                                       ("plugin", "stage", "kind"))
        self.fail_open_passes = Counter("fairguard_fail_open_passes_total",
                                        "Outputs that passed although a plugin failed (fail=open).",
                                        ("endpoint",))
        self.backend_failures = Counter("fairguard_backend_failures_total",
                                        "Generation failures of the local model or the upstream server.",
                                        ("backend", "kind"))
        self.stream_disconnects = Counter("fairguard_stream_disconnects_total",
                                          "Streams that the client closed before the end.")
        self.stage_seconds = Histogram("fairguard_stage_seconds",
                                       "Seconds per stage of a guarded call (generation, scoring, "
                                       "rewrite, guard, total).", ("endpoint", "stage"))
        self.request_seconds = Histogram("fairguard_request_seconds", "Seconds per HTTP request (for a stream: "
                                         "until its first byte).",
                                         ("endpoint",))
        self.batch_pairs = Histogram("fairguard_score_batch_pairs", "Pairs per micro-batch of scores.",
                                     buckets=BATCH_BUCKETS)
        self.batch_requests = Histogram("fairguard_score_batch_requests",
                                        "Score requests merged into one micro-batch.", buckets=BATCH_BUCKETS)

    def observe_batch(self, pairs: int, requests: int, seconds: float) -> None:
        """The micro-batcher's observer."""
        self.batch_pairs.observe(pairs)
        self.batch_requests.observe(requests)
        self.stage_seconds.observe(seconds, endpoint="batch", stage="scoring")

    def observe_records(self, endpoint: str, records: Iterable[GuardRecord], fail: str) -> None:
        """Count the decisions, plugin failures and fail-open passes of one request's records."""
        records = list(records)
        for record in records:
            self.decisions.inc(endpoint=endpoint, decision=record.decision, action=record.action)
            for error in record.errors:
                self.plugin_failures.inc(plugin=error.plugin, stage=error.stage, kind=error.kind)
            if record.decision == "pass" and record.errors and fail == "open":
                self.fail_open_passes.inc(endpoint=endpoint)
        if records:
            latency = records[0].latency
            for stage in STAGES:
                if f"{stage}_ms" in latency:
                    self.stage_seconds.observe(latency[f"{stage}_ms"] / 1000.0, endpoint=endpoint, stage=stage)

    def render(self, rewards: Sequence[Any] = ()) -> str:
        """The metrics text; with ``rewards`` (the guard's), also their scorers' window caches."""
        lines: list[str] = []
        for metric in (self.requests, self.decisions, self.plugin_failures, self.fail_open_passes,
                       self.backend_failures, self.stream_disconnects, self.stage_seconds,
                       self.request_seconds, self.batch_pairs, self.batch_requests):
            lines.extend(metric.render())
        lines.extend(_window_cache_lines(rewards))
        return "\n".join(lines) + "\n"


def _window_cache_lines(rewards: Sequence[Any]) -> list[str]:
    """Window lookups of the rewards' scorers' window caches (reward-model folders), by result;
    nothing when no scorer keeps one."""
    caches = [scorer.window_cache for reward in rewards for scorer in getattr(reward, "scorers", ())
              if getattr(scorer, "window_cache", None) is not None]
    if not caches:
        return []
    lookups = Counter("fairguard_window_cache_windows_total",
                      "Windows of long answers looked up in the reward models' window caches: hit "
                      "(the score kept from an earlier read), miss (scored).", ("result",))
    lookups.inc(sum(c.hits for c in caches), result="hit")
    lookups.inc(sum(c.misses for c in caches), result="miss")
    return lookups.render()
