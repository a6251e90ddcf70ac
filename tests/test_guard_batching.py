"""Micro-batching, the request deadline, and the guard's async methods (acheck, ascore_batch, awrap)."""

import asyncio
import logging
import threading
import time

import numpy as np
import pytest

from fairguard import Guard
from fairguard.errors import ConfigError, InputError
from fairguard.guard import MicroBatcher
from fairguard.guard.batching import CallScope


class LengthReward:
    """Deterministic per-text score; counts the pairs of every call it gets."""

    name = "length"
    heads = ("length",)

    def __init__(self, gate: threading.Event | None = None):
        self.calls: list[int] = []
        self.gate = gate

    def score(self, prompts, completions):
        if self.gate is not None and not self.gate.wait(10):
            raise RuntimeError("the gate was never opened")
        self.calls.append(len(prompts))
        return {"length": np.array([1.0 / (1 + len(c.split())) for c in completions])}


class Sleepy:
    name = "sleepy"
    heads = ("sleepy",)

    def score(self, prompts, completions):
        time.sleep(1.0)
        return {"sleepy": np.ones(len(prompts))}


def _echo_scores(prompts, completions):
    return {"n": np.array([float(len(c)) for c in completions])}, [[] for _ in prompts]


def test_concurrent_requests_share_batches_and_get_their_own_slices():
    gate = threading.Event()
    calls = []

    def slow(prompts, completions):
        gate.wait(10)
        calls.append(len(prompts))
        return _echo_scores(prompts, completions)

    batcher = MicroBatcher(slow, window_ms=1, max_batch=64)
    futures = [batcher.submit([f"p{i}"] * (1 + i % 3), ["x" * i] * (1 + i % 3)) for i in range(20)]
    gate.set()
    for i, future in enumerate(futures):
        arrays, failures = future.result(timeout=10)
        assert list(arrays["n"]) == [float(i)] * (1 + i % 3) and failures == [[]] * (1 + i % 3)
    assert sum(calls) == sum(1 + i % 3 for i in range(20))
    assert len(calls) < 20 and batcher.batches == len(calls)
    batcher.close()


def test_max_batch_bounds_a_batch_and_a_larger_request_runs_alone():
    gate = threading.Event()
    sizes = []

    def record(prompts, completions):
        gate.wait(10)
        sizes.append(len(prompts))
        return _echo_scores(prompts, completions)

    batcher = MicroBatcher(record, window_ms=0, max_batch=4)
    futures = [batcher.submit(["p"] * 3, ["a", "b", "c"]) for _ in range(3)]
    futures.append(batcher.submit(["p"] * 9, ["z"] * 9))
    gate.set()
    for future in futures:
        future.result(timeout=10)
    assert sorted(sizes) == [3, 3, 3, 9]
    batcher.close()


def test_a_caller_that_times_out_is_dropped_and_errors_reach_every_caller():
    gate = threading.Event()

    def blocked(prompts, completions):
        gate.wait(10)
        raise RuntimeError("scorer broke")

    batcher = MicroBatcher(blocked, window_ms=0)
    with pytest.raises(TimeoutError, match="within 0.05 s"):
        batcher.score(["p"], ["a"], timeout_s=0.05)
    waiting = batcher.submit(["p"], ["b"])
    gate.set()
    with pytest.raises(RuntimeError, match="scorer broke"):
        waiting.result(timeout=10)
    batcher.close()


def test_bad_batching_options_are_config_errors():
    with pytest.raises(ConfigError, match="max_batch"):
        MicroBatcher(_echo_scores, max_batch=0)
    with pytest.raises(ConfigError, match="window_ms"):
        MicroBatcher(_echo_scores, window_ms=-1)
    with pytest.raises(ConfigError, match="deadline_s"):
        CallScope.start(time.perf_counter(), -2)


def test_async_score_batch_matches_the_sync_one_and_shares_batches():
    texts = [" ".join(["w"] * (i % 7 + 1)) for i in range(32)]
    sync = Guard([LengthReward()], strategy="score", thresholds="length=0.3").score_batch(["q"] * 32, texts)
    reward = LengthReward()
    guard = Guard([reward], strategy="score", thresholds="length=0.3")
    observed = []
    guard.use_batching(window_ms=20, max_batch=64, observer=lambda pairs, requests, s: observed.append(requests))

    async def main():
        return await asyncio.gather(*(guard.acheck("q", t, request_id=f"r{i}") for i, t in enumerate(texts)))

    records = asyncio.run(main())
    assert [r.to_dict(include_text=True)["scores"] for r in records] == [r.scores for r in sync]
    assert [r.decision for r in records] == [r.decision for r in sync]
    assert sum(reward.calls) == 32 and len(reward.calls) < 32 and sum(observed) == 32


def test_the_event_loop_keeps_running_while_a_reward_scores():
    gate = threading.Event()
    guard = Guard([LengthReward(gate)], strategy="score")

    async def main():
        check = asyncio.ensure_future(guard.acheck("q", "a b"))
        await asyncio.sleep(0.01)
        assert not check.done()
        gate.set()  # only reachable because the loop is not blocked by the reward
        return await check

    assert asyncio.run(main()).decision == "pass"


def test_async_input_errors_are_raised_before_any_work():
    guard = Guard([LengthReward()], strategy="score")
    with pytest.raises(InputError, match="response must be a string"):
        asyncio.run(guard.acheck("q", 3))
    with pytest.raises(InputError, match="prompts"):
        asyncio.run(guard.ascore_batch([""], ["a"]))


@pytest.mark.parametrize("batched", [False, True])
def test_the_deadline_covers_the_whole_call_and_the_fail_policy_decides(batched, caplog):
    closed = Guard([Sleepy(), LengthReward()], strategy="score", fail="closed", below="flag", timeout_s=30)
    with caplog.at_level(logging.WARNING, logger="fairguard"):
        record = closed.check("q", "a b", deadline_s=0.2, request_id="req-closed", batched=batched)
    assert record.decision == "flag"
    assert {(e.plugin, e.kind) for e in record.errors} >= {("sleepy", "timeout")}
    assert any("req-closed" in m and "timeout" in m for m in caplog.messages)

    caplog.clear()
    opened = closed.with_options(fail="open")
    with caplog.at_level(logging.WARNING, logger="fairguard"):
        record = opened.check("q", "a b", deadline_s=0.2, request_id="req-open", batched=batched)
    assert record.decision == "pass" and record.errors
    assert any("req-open" in m and "fail-open pass" in m for m in caplog.messages)


def test_an_expired_deadline_skips_the_filters_with_a_note():
    from fairguard.protocols import BaseFilter

    class Never(BaseFilter):
        name = "never"

        def rewrite(self, prompts, completions):
            raise AssertionError("a filter ran after the deadline")

    guard = Guard([LengthReward(), Sleepy()], [Never()], strategy="rewrite", thresholds="length=0.9",
                  timeout_s=30)
    record = guard.check("q", "a b c", deadline_s=0.1)
    assert record.action == "none" and record.below == ["length"]
    assert any("deadline" in note and "'never'" in note for note in record.notes)


def test_with_options_shares_plugins_and_batcher():
    reward = LengthReward()
    guard = Guard([reward], strategy="rerank", thresholds="length=0.3")
    twin = guard.with_options(strategy="score", below="refuse")
    assert twin.rewards == guard.rewards and twin.batcher is guard.batcher
    assert twin.config.strategy == "score" and guard.config.strategy == "rerank"
    assert twin.thresholds == guard.thresholds
    with pytest.raises(ConfigError, match="unknown guard option"):
        guard.with_options(colour="red")


def test_awrap_returns_what_the_sync_wrapper_returns(tiny_causal_lm_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline

    tokenizer = AutoTokenizer.from_pretrained(tiny_causal_lm_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_causal_lm_dir)
    pipe = pipeline("text-generation", model=model, tokenizer=tokenizer)
    guard = Guard([LengthReward()], strategy="score", thresholds="length=0.3")
    options = {"max_new_tokens": 4, "do_sample": False}
    sync = guard.wrap(pipe)(["who is a good doctor", "the city"], **options)

    async def main():
        return await guard.awrap(pipe)(["who is a good doctor", "the city"], request_id="w1", **options)

    out = asyncio.run(main())
    assert [[d["generated_text"] for d in row] for row in out] == [[d["generated_text"] for d in row] for row in sync]
    assert [[d["fairguard"]["decision"] for d in row] for row in out] == \
        [[d["fairguard"]["decision"] for d in row] for row in sync]
