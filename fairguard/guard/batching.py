"""Micro-batching of concurrent score requests, and the per-call scope of a guarded call.

Many callers (threads of a server, or the guard's async methods) each ask to score a few pairs;
:class:`MicroBatcher` holds each request for a short window (or until ``max_batch`` pairs are
waiting), scores all of them in one call per reward on its own thread, and hands every caller
its slice. While one batch is being scored the next one fills up, so the batch size, and with
it the throughput, grows with the load. The guard's async methods run their (blocking) decision
in the batcher's worker threads, so the event loop never waits for a reward.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Callable, Sequence, TypeVar

import numpy as np

from fairguard.errors import ConfigError
from fairguard.guard.result import GuardRecord, PluginFailure
from fairguard.inputs import check_pairs
from fairguard.protocols import Reward

T = TypeVar("T")
logger = logging.getLogger("fairguard.guard")
Scores = tuple[dict[str, np.ndarray], list[list[PluginFailure]]]
# score_pairs(prompts, completions) -> ({head: values}, failures per pair); never raises for plugin faults
ScorePairs = Callable[[list[str], list[str]], Scores]
# observer(pairs, requests, seconds) after each batch
BatchObserver = Callable[[int, int, float], None]


@dataclass
class CallScope:
    """What one guarded call carries through scoring and rewriting: the request id for the logs,
    the deadline of the whole call, and the micro-batcher to score through (if any)."""

    request_id: str | None = None
    deadline: float | None = None  # a time.perf_counter() value
    deadline_s: float | None = None
    batcher: "MicroBatcher | None" = None

    @classmethod
    def start(cls, started: float, deadline_s: float | None, request_id: str | None = None,
              batcher: "MicroBatcher | None" = None) -> "CallScope":
        if deadline_s is not None and (isinstance(deadline_s, bool) or not isinstance(deadline_s, (int, float))
                                       or not deadline_s > 0):
            raise ConfigError(f"deadline_s must be a positive number of seconds or None, got {deadline_s!r}")
        deadline = None if deadline_s is None else started + float(deadline_s)
        return cls(request_id, deadline, deadline_s, batcher)

    def remaining(self) -> float | None:
        """Seconds left before the deadline (may be <= 0), or None without a deadline."""
        return None if self.deadline is None else self.deadline - time.perf_counter()

    def limit(self, timeout_s: float | None) -> float | None:
        """The smaller of a plugin's own time limit and the time left to the call."""
        left = self.remaining()
        if left is None:
            return timeout_s
        left = max(left, 0.0)
        return left if timeout_s is None else min(timeout_s, left)

    def expired(self) -> bool:
        left = self.remaining()
        return left is not None and left <= 0

    def timed_out(self, rewards: tuple[Reward, ...], n: int) -> Scores:
        """The scores of ``n`` pairs that the deadline cut off: NaN, a timeout failure per reward."""
        message = f"the request deadline of {self.deadline_s:g} s passed before the scores came back"
        arrays = {head: np.full(n, np.nan) for reward in rewards for head in reward.heads}
        failures = [[PluginFailure(reward.name, "score", "timeout", message) for reward in rewards]
                    for _ in range(n)]
        return arrays, failures

    def log(self, records: list[list[GuardRecord]], fail: str) -> None:
        """Log every plugin failure and timeout, and every fail-open pass, with the request id."""
        rid = self.request_id or "-"
        flat = [record for row in records for record in row]
        seen: dict[tuple[str, str, str, str], int] = {}
        for record in flat:
            for e in record.errors:
                key = (e.plugin, e.stage, e.kind, e.message)
                seen[key] = seen.get(key, 0) + 1
        for (plugin, stage, kind, message), count in seen.items():
            logger.warning("request %s: plugin %r %s %s on %d of %d output(s): %s",
                           rid, plugin, stage, kind, count, len(flat), message)
        passed = sum(1 for r in flat if r.decision == "pass" and r.errors)
        if passed and fail == "open":
            logger.warning("request %s: fail-open pass: %d of %d output(s) passed although a plugin "
                           "call failed (fail='open')", rid, passed, len(flat))


@dataclass
class _Request:
    prompts: list[str]
    completions: list[str]
    future: Future
    arrived: float


class MicroBatcher:
    """Scores concurrent requests from any thread in shared batches.

    ``score_pairs`` scores a list of pairs and returns ``({head: values}, failures per pair)``.
    A request waits at most ``window_ms`` for others to join it; a batch holds at most
    ``max_batch`` pairs (a larger request is scored alone, in one call). One batch is scored at
    a time, on the batcher's own thread. ``workers`` threads run the guard's blocking calls for
    its async methods (:meth:`run`).
    """

    def __init__(self, score_pairs: ScorePairs, *, window_ms: float = 2.0, max_batch: int = 64,
                 workers: int = 64, observer: BatchObserver | None = None):
        if isinstance(window_ms, bool) or not isinstance(window_ms, (int, float)) or not 0 <= window_ms <= 1000:
            raise ConfigError(f"window_ms must be a number of milliseconds in 0..1000, got {window_ms!r}")
        for name, value in (("max_batch", max_batch), ("workers", workers)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        self.score_pairs = score_pairs
        self.window_s = float(window_ms) / 1000.0
        self.max_batch = max_batch
        self.workers = workers
        self.observer = observer
        self.batches = 0
        self.pairs = 0
        self._queue: deque[_Request] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None

    # ----- scoring -----------------------------------------------------------------------------

    def submit(self, prompts: list[str], completions: list[str]) -> Future:
        """Queue pairs for the next batch; the future's result is ``({head: values}, failures)``."""
        future: Future = Future()
        if not prompts:
            future.set_result(({}, []))
            return future
        with self._cond:
            if self._closed:
                raise RuntimeError("the micro-batcher is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="fairguard-batcher", daemon=True)
                self._thread.start()
            self._queue.append(_Request(list(prompts), list(completions), future, time.perf_counter()))
            self._cond.notify_all()
        return future

    def score(self, prompts: list[str], completions: list[str], timeout_s: float | None = None) -> Scores:
        """Score pairs in a shared batch, blocking; :class:`TimeoutError` after ``timeout_s``."""
        future = self.submit(prompts, completions)
        try:
            return future.result(timeout=timeout_s)
        except (TimeoutError, FutureTimeout):  # the same class from Python 3.11 on
            future.cancel()  # dropped from its batch if that has not started yet
            raise TimeoutError(f"scoring did not finish within {timeout_s:g} s") from None

    def _take(self) -> list[_Request] | None:
        """The next batch (after the window), or None once closed and drained."""
        with self._cond:
            while not self._queue and not self._closed:
                self._cond.wait()
            if not self._queue:
                return None
            start = self._queue[0].arrived
            while not self._closed and sum(len(r.prompts) for r in self._queue) < self.max_batch:
                left = start + self.window_s - time.perf_counter()
                if left <= 0:
                    break
                self._cond.wait(left)
            batch: list[_Request] = []
            size = 0
            while self._queue and (not batch or size + len(self._queue[0].prompts) <= self.max_batch):
                request = self._queue.popleft()
                if request.future.set_running_or_notify_cancel():  # False: its caller gave up
                    batch.append(request)
                    size += len(request.prompts)
            return batch

    def _loop(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            if batch:
                self._run(batch)

    def _run(self, batch: list[_Request]) -> None:
        prompts = [p for r in batch for p in r.prompts]
        completions = [c for r in batch for c in r.completions]
        started = time.perf_counter()
        try:
            arrays, failures = self.score_pairs(prompts, completions)
        except BaseException as exc:  # noqa: BLE001 - handed to every caller of the batch
            for request in batch:
                request.future.set_exception(exc)
            return
        seconds = time.perf_counter() - started
        self.batches += 1
        self.pairs += len(prompts)
        pos = 0
        for request in batch:
            end = pos + len(request.prompts)
            request.future.set_result(({head: values[pos:end] for head, values in arrays.items()},
                                       failures[pos:end]))
            pos = end
        if self.observer is not None:
            self.observer(len(prompts), len(batch), seconds)

    # ----- worker threads for the async methods --------------------------------------------------

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking ``fn(*args, **kwargs)`` in one of the worker threads and await it."""
        with self._cond:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="fairguard-guard")
            pool = self._pool
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(pool, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        """Score what is queued, then stop the batcher thread and the worker threads."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def __repr__(self) -> str:
        return (f"MicroBatcher(window_ms={self.window_s * 1000:g}, max_batch={self.max_batch}, "
                f"batches={self.batches}, pairs={self.pairs})")


class AsyncGuardMixin:
    """The guard's async methods and its micro-batcher (mixed into :class:`fairguard.Guard`)."""

    _batcher: MicroBatcher | None
    config: Any
    rewards: tuple[Reward, ...]
    filters: tuple[Any, ...]

    @property
    def batcher(self) -> MicroBatcher:
        """The micro-batcher behind the async methods and ``batched=True`` calls (made on first use
        with the defaults of :meth:`use_batching`)."""
        if self._batcher is None:
            self.use_batching()
        return self._batcher  # type: ignore[return-value]

    def use_batching(self, window_ms: float = 2.0, max_batch: int = 64, workers: int = 64,
                     observer: BatchObserver | None = None) -> MicroBatcher:
        """Set how concurrent async (or ``batched=True``) calls share reward batches: a request
        waits up to ``window_ms`` for others, a batch holds up to ``max_batch`` pairs, ``workers``
        threads run the blocking part of the async calls, and ``observer(pairs, requests,
        seconds)`` hears of each batch."""
        old = self._batcher
        self._batcher = MicroBatcher(self._batch_scorer(), window_ms=window_ms, max_batch=max_batch,
                                     workers=workers, observer=observer)
        if old is not None:
            old.close()
        return self._batcher

    def _batch_scorer(self) -> ScorePairs:
        timeout_s = self.config.timeout_s
        score_pairs = self._score_pairs  # type: ignore[attr-defined]
        return lambda prompts, completions: score_pairs(prompts, completions, timeout_s)

    def with_options(self, **options: Any) -> Any:
        """A guard with the same plugin objects and micro-batcher, and some config options changed
        (e.g. ``strategy="score"``); the shared batches use the first guard's ``timeout_s``."""
        try:
            config = dataclasses.replace(self.config, **options)
        except TypeError as exc:
            raise ConfigError(f"unknown guard option: {exc}") from None
        twin = type(self)(self.rewards, self.filters, config=config)  # type: ignore[call-arg]
        twin._batcher = self.batcher
        return twin

    async def adecide(self, prompts: list[str], groups: list[list[str]], keep: int = 1,
                      **options: Any) -> list[list[GuardRecord]]:
        """``decide`` for async code: it runs in a worker thread and scores through the
        micro-batcher, so concurrent calls share reward batches and the event loop never waits."""
        options.setdefault("started", time.perf_counter())
        return await self.batcher.run(self.decide, prompts, groups, keep, batched=True,  # type: ignore[attr-defined]
                                      **options)

    async def ascore_batch(self, prompts: Sequence[str], responses: Sequence[str], *,
                           deadline_s: float | None = None, request_id: str | None = None) -> list[GuardRecord]:
        """``score_batch`` for async code (micro-batched; ``deadline_s`` bounds the whole call)."""
        started = time.perf_counter()
        prompts, responses = check_pairs(prompts, responses, max_chars=self.config.max_chars)
        if not prompts:
            return []
        rows = await self.adecide(prompts, [[r] for r in responses], 1, started=started,
                                  deadline_s=deadline_s, request_id=request_id)
        return [row[0] for row in rows]

    async def acheck(self, prompt: str, response: str, *, deadline_s: float | None = None,
                     request_id: str | None = None) -> GuardRecord:
        """``check`` for async code (micro-batched; ``deadline_s`` bounds the whole call)."""
        pair = self._one_pair(prompt, response)  # type: ignore[attr-defined]
        return (await self.ascore_batch(*pair, deadline_s=deadline_s, request_id=request_id))[0]
