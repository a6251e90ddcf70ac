"""Sentence-by-sentence guarded streaming: the splitter, the gate, and failures mid-stream."""

import asyncio

import numpy as np
import pytest

from fairguard import Guard
from fairguard.protocols import BaseFilter
from fairguard.serve.backends import BackendError, StreamEnd
from fairguard.serve.streaming import SentenceGate, SentenceSplitter, guarded_stream

STORY = "Everyone deserves a fair chance. Rural people are lazy. Judge the skills."


class Fairness:
    name = "fair"
    heads = ("fairness",)

    def score(self, prompts, completions):
        return {"fairness": np.array([0.0 if "lazy" in c else 1.0 for c in completions])}


class Kind(BaseFilter):
    name = "kind"

    def rewrite(self, prompts, completions):
        return [c.replace("lazy", "capable") for c in completions]


def test_splitter_cuts_complete_sentences_only():
    splitter = SentenceSplitter()
    assert splitter.feed("Hello there. How") == ["Hello there. "]
    assert splitter.feed(" are you? Fine") == ["How are you? "]
    assert splitter.feed(' and "dandy." Pi is 3.14') == ['Fine and "dandy." ']
    assert splitter.feed("\nnext") == ["Pi is 3.14\n"]
    assert splitter.flush() == "next" and splitter.flush() == ""


_STOP = StreamEnd("stop", 3, 9)


async def _pieces(text, fail=None, end=_STOP):
    for word in text.split(" "):
        yield word + " "
        await asyncio.sleep(0)
    if fail is not None:
        raise fail
    yield end


def _run(guard, text, **options):
    async def main():
        gate = SentenceGate(guard, "Should we hire them?", request_id="s1")
        return [r async for r in guarded_stream(gate, _pieces(text, **options))]
    return asyncio.run(main())


def _text(releases):
    return "".join(r.text for r in releases)


def test_passing_sentences_go_out_one_by_one_and_the_end_carries_the_record():
    releases = _run(Guard([Fairness()], thresholds="fairness=0.5"), "All fair. Still fair. And the end")
    assert [r.text for r in releases] == ["All fair. ", "Still fair. ", "And the end ", ""]
    last = releases[-1]
    assert last.finish_reason == "stop" and last.end.completion_tokens == 9
    record = last.record
    assert record.decision == "pass" and record.action == "none" and record.text == "All fair. Still fair. And the end "
    assert "3 sentence(s)" in record.notes[0]
    assert set(record.latency) == {"generation_ms", "scoring_ms", "rewrite_ms", "guard_ms", "total_ms"}


@pytest.mark.parametrize("options, expected, decision, action", [
    ({"below": "refuse"}, "Everyone deserves a fair chance. REFUSED", "block", "refused"),
    ({"below": "flag"}, STORY + " ", "flag", "none"),
    ({"strategy": "rewrite"}, STORY.replace("lazy", "capable") + " ", "pass", "rewritten"),
])
def test_a_failing_sentence_follows_the_policy(options, expected, decision, action):
    guard = Guard([Fairness()], [Kind()], thresholds="fairness=0.5", refusal_text="REFUSED", **options)
    releases = _run(guard, STORY)
    assert _text(releases) == expected
    assert releases[-1].record.decision == decision and releases[-1].record.action == action
    if decision == "block":
        assert releases[-1].finish_reason == "content_filter" and releases[-1].record.original.startswith("Rural")


def test_below_raise_ends_with_an_error_and_no_failing_text():
    releases = _run(Guard([Fairness()], thresholds="fairness=0.5", below="raise"), STORY)
    assert _text(releases) == "Everyone deserves a fair chance. "
    assert releases[-1].error and "fairness" in releases[-1].error


@pytest.mark.parametrize("fail", ["closed", "open"])
def test_a_generator_failure_mid_stream_drops_the_unchecked_tail(fail):
    guard = Guard([Fairness()], thresholds="fairness=0.5", fail=fail, refusal_text="REFUSED")
    releases = _run(guard, "One fair sentence. An unfinished", fail=BackendError("upstream", "timeout", "too slow"))
    assert "unfinished" not in _text(releases)
    last = releases[-1]
    assert last.record.errors[-1].plugin == "upstream" and last.record.errors[-1].kind == "timeout"
    if fail == "closed":
        assert _text(releases) == "One fair sentence. REFUSED" and last.finish_reason == "content_filter"
    else:
        assert _text(releases) == "One fair sentence. " and "too slow" in last.error


def test_error_releases_carry_a_code():
    raised = _run(Guard([Fairness()], thresholds="fairness=0.5", below="raise"), STORY)
    assert raised[-1].code == "content_filter"
    broken = _run(Guard([Fairness()], thresholds="fairness=0.5", fail="open"), "Fine.",
                  fail=BackendError("upstream", "error", "down"))
    assert broken[-1].code == "upstream_error"


@pytest.mark.parametrize("fail", ["closed", "open"])
def test_a_stream_longer_than_max_chars_follows_the_fail_policy(fail):
    # past max_chars the guard reads no more: the rest is unread, as for a whole answer
    guard = Guard([Fairness()], thresholds="fairness=0.5", max_chars=60, fail=fail, below="refuse",
                  refusal_text="REFUSED")
    releases = _run(guard, "A fair sentence here. " * 5)
    last = releases[-1]
    if fail == "closed":
        assert _text(releases) == "A fair sentence here. " * 2 + "REFUSED" and last.finish_reason == "content_filter"
    else:
        assert _text(releases).count("A fair sentence here.") == 5 and last.record.decision == "pass"
    assert any(e.plugin == "guard" and e.kind == "unread" for e in last.record.errors)


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_a_long_stream_scores_each_window_once_with_a_real_reward_model(tmp_path_factory, backend):
    from windows_data import BIASED, NEUTRAL, marker_export

    from fairguard import get_reward
    from fairguard.reward_model.windows import split_sentences, split_windows

    source, export = marker_export(tmp_path_factory)  # tiny model fitted to flag BIASED sentences
    folder = source if backend == "torch" else export
    fair = " ".join(f"{NEUTRAL[k % 5][:-1]} in case {k}." for k in range(24))
    text = fair + " " + BIASED[0]
    cached = get_reward("reward-model", path=str(folder), backend=backend)
    uncached = get_reward("reward-model", path=str(folder), backend=backend, window_cache=0)
    runs = {}
    for name, reward in (("cached", cached), ("uncached", uncached)):
        guard = Guard([reward], thresholds="fairness=0.5", below="refuse", refusal_text="REFUSED")
        runs[name] = _run(guard, text)
    for releases in runs.values():  # the biased last sentence is read in context and withheld
        assert _text(releases) == fair + " REFUSED" and releases[-1].record.decision == "block"
    assert runs["cached"][-1].record.scores["fairness"] == pytest.approx(
        runs["uncached"][-1].record.scores["fairness"], abs=1e-6 if backend == "torch" else 2e-2)
    scorer = cached.scorer
    sentences = split_sentences(text)
    checked = [" ".join(sentences[:k]) for k in range(1, len(sentences) + 1)]  # the answer so far
    windows = len(split_windows(scorer.tokenizer, ["Should we hire them?"] * len(checked), checked,
                                scorer.max_length))
    assert scorer.window_cache.hits > 0 and scorer.window_cache.misses < windows / 3
