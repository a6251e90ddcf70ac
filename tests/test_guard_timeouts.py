import threading
import time

import numpy as np
import pytest

from fairguard.guard.timeouts import call_with_timeout, rewrite_texts, score_reward
from fairguard.protocols import BaseFilter


class Fixed:
    name = "fixed"
    heads = ("a", "b")

    def __init__(self, output):
        self.output = output

    def score(self, prompts, completions):
        return self.output(len(prompts)) if callable(self.output) else self.output


def test_call_with_timeout_returns_raises_and_times_out():
    assert call_with_timeout(lambda: 3, None) == 3
    assert call_with_timeout(lambda: 4, 1.0) == 4
    with pytest.raises(ZeroDivisionError):
        call_with_timeout(lambda: 1 / 0, 1.0)
    start = time.perf_counter()
    with pytest.raises(TimeoutError):
        call_with_timeout(lambda: time.sleep(2), 0.1)
    assert time.perf_counter() - start < 1.5


def test_timed_out_call_runs_in_a_daemon_thread():
    seen = []
    release = threading.Event()

    def slow():
        seen.append(threading.current_thread().daemon)
        release.wait(5)

    with pytest.raises(TimeoutError):
        call_with_timeout(slow, 0.05)
    release.set()
    assert seen == [True]


def test_score_reward_ok():
    values, failures = score_reward(Fixed(lambda n: {"a": np.ones(n), "b": [0.5] * n}),
                                    ["p", "q"], ["x", "y"], None)
    assert values["a"].tolist() == [1.0, 1.0] and values["b"].tolist() == [0.5, 0.5]
    assert failures == [[], []]


def test_nan_fails_only_its_own_pair():
    values, failures = score_reward(Fixed({"a": [0.1, float("nan")], "b": [float("inf"), 0.2]}),
                                    ["p", "q"], ["x", "y"], None)
    assert values["a"][0] == 0.1 and np.isnan(values["a"][1]) and np.isnan(values["b"][0])
    assert [f.kind for f in failures[0]] == ["nan"] and "'b'" in failures[0][0].message
    assert [f.kind for f in failures[1]] == ["nan"] and "'a'" in failures[1][0].message


@pytest.mark.parametrize("output, words", [
    ([1, 2], "expected a dict"),
    ({"a": [1, 2]}, "no values for head 'b'"),
    ({"a": [1], "b": [1]}, "1 values for 2 pairs"),
    ({"a": ["x", "y"], "b": [1, 2]}, "not numeric"),
])
def test_malformed_output_fails_every_pair(output, words):
    values, failures = score_reward(Fixed(output), ["p", "q"], ["x", "y"], None)
    assert all(np.isnan(v).all() for v in values.values())
    assert all(len(f) == 1 and f[0].kind == "error" and words in f[0].message for f in failures)


def test_raise_and_timeout_are_recorded():
    def boom(n):
        raise RuntimeError("model on fire")

    _, failures = score_reward(Fixed(boom), ["p"], ["x"], None)
    assert failures[0][0].kind == "error" and "RuntimeError: model on fire" in failures[0][0].message

    def slow(n):
        time.sleep(1.0)
        return {"a": [1], "b": [1]}

    _, failures = score_reward(Fixed(slow), ["p"], ["x"], 0.05)
    assert failures[0][0].kind == "timeout" and failures[0][0].plugin == "fixed"


class Rewriter(BaseFilter):
    name = "rewriter"

    def __init__(self, fn):
        self.fn = fn

    def rewrite(self, prompts, completions):
        return self.fn(completions)


def test_rewrite_texts_checks_the_filter_output():
    assert rewrite_texts(Rewriter(lambda c: [t.upper() for t in c]), ["p"], ["x"], None) == (["X"], None)
    assert rewrite_texts(BaseFilter(), ["p"], ["x"], None) == (None, None)
    texts, failure = rewrite_texts(Rewriter(lambda c: "x"), ["p"], ["x"], None)
    assert texts is None and failure.kind == "error" and "1 strings" in failure.message
    texts, failure = rewrite_texts(Rewriter(lambda c: 1 / 0), ["p"], ["x"], None)
    assert failure.stage == "rewrite" and "ZeroDivisionError" in failure.message
