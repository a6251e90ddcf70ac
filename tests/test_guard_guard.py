"""Guard without a pipeline: check(), score_batch(), policies, rewrite, thread safety."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import fairguard
from fairguard import Guard
from fairguard.errors import ConfigError, GuardBlockedError, InputError, UnknownNameError
from fairguard.guard import GuardConfig
from fairguard.guard.config import DEFAULT_REFUSAL
from fairguard.protocols import BaseFilter

GENDERED = "he is a man and he said his wife is good"


class Constant:
    """One head with a fixed score."""

    def __init__(self, value, name="constant"):
        self.name = name
        self.heads = (name,)
        self.value = value

    def score(self, prompts, completions):
        return {self.name: np.full(len(prompts), self.value)}


class Raising:
    name = "raising"
    heads = ("raising",)

    def score(self, prompts, completions):
        raise RuntimeError("the scorer crashed")


class NaNReward:
    name = "nan"
    heads = ("nan",)

    def score(self, prompts, completions):
        return {"nan": np.full(len(prompts), np.nan)}


class Sleepy:
    name = "sleepy"
    heads = ("sleepy",)

    def score(self, prompts, completions):
        time.sleep(1.5)
        return {"sleepy": np.ones(len(prompts))}


class LengthReward:
    """Deterministic per-text score, used to compare threaded and serial results."""

    name = "length"
    heads = ("length",)

    def score(self, prompts, completions):
        return {"length": np.array([1.0 / (1 + len(c.split())) for c in completions])}


def test_guard_is_exported_from_the_package():
    assert fairguard.Guard is Guard and issubclass(fairguard.GuardBlockedError, fairguard.FairguardError)


def test_check_passes_and_records_scores():
    guard = Guard(["gender-bias"], strategy="score", thresholds="gender-bias=0.5")
    record = guard.check("Who is a good engineer?", "Anyone with the skills can be.")
    assert record.decision == "pass" and record.action == "none"
    assert record.scores["gender-bias"] == pytest.approx(1.0) and record.scores["total"] == pytest.approx(1.0)
    assert record.errors == [] and record.text == "Anyone with the skills can be."
    assert set(record.latency) == {"generation_ms", "scoring_ms", "rewrite_ms", "guard_ms", "total_ms"}


def test_weights_and_total_threshold():
    guard = Guard([Constant(0.2, "a"), Constant(0.6, "b")], weights="a=1,b=2", thresholds="total=1.5")
    record = guard.check("p", "r")
    assert record.scores["total"] == pytest.approx(1.4)
    assert record.below == ["total"] and record.decision == "flag"


def test_rewrite_applies_neutralize_and_rescores():
    guard = Guard.from_names("gender-bias", ["neutralize"], strategy="rewrite",
                             thresholds="gender-bias=0.9")
    record = guard.check("Tell me about the applicant.", GENDERED)
    assert record.action == "rewritten" and record.decision == "pass"
    assert record.text == "they are a person and they said their spouse is good"
    assert record.original == GENDERED and record.candidates == 2
    assert record.scores["gender-bias"] >= 0.9 > record.candidate_totals[0]


def test_rewrite_that_does_not_help_keeps_the_original_and_follows_policy():
    guard = Guard([Constant(0.1)], ["neutralize"], strategy="rewrite", thresholds="constant=0.5")
    record = guard.check("p", GENDERED)
    assert record.action == "none" and record.decision == "flag" and record.text == GENDERED


def test_max_rewrites_zero_skips_filters():
    guard = Guard.from_names("gender-bias", ["neutralize"], strategy="rewrite", max_rewrites=0,
                             thresholds="gender-bias=0.9")
    assert guard.check("p", GENDERED).text == GENDERED


def test_text_filters_chain_in_order():
    class Shout(BaseFilter):
        name = "shout"

        def rewrite(self, prompts, completions):
            return [c + "!" for c in completions]

    class ExclaimReward:
        name = "exclaim"
        heads = ("exclaim",)

        def score(self, prompts, completions):
            return {"exclaim": np.array([min(c.count("!") / 2, 1.0) for c in completions])}

    guard = Guard([ExclaimReward()], [Shout(), Shout(), Shout()], strategy="rewrite",
                  thresholds="exclaim=1.0", max_rewrites=2)
    record = guard.check("p", "hi")
    assert record.text == "hi!!" and record.decision == "pass" and record.candidates == 3


@pytest.mark.parametrize("below, decision, action", [
    ("refuse", "block", "refused"), ("flag", "flag", "none")])
def test_below_threshold_refuse_and_flag(below, decision, action):
    guard = Guard([Constant(0.1)], strategy="score", thresholds="constant=0.5", below=below,
                  refusal_text="No.")
    record = guard.check("p", "bad answer")
    assert (record.decision, record.action, record.below) == (decision, action, ["constant"])
    if below == "refuse":
        assert record.text == "No." and record.original == "bad answer"
    else:
        assert record.text == "bad answer"


def test_below_threshold_raise_carries_the_records():
    guard = Guard([Constant(0.1)], strategy="score", thresholds="constant=0.5", below="raise")
    with pytest.raises(GuardBlockedError, match="1 of 2 output") as info:
        Guard([LengthReward()], thresholds="length=0.3", below="raise").score_batch(
            ["p", "q"], ["short", "a much longer answer here"])
    assert [r.decision for r in info.value.records] == ["pass", "block"]
    with pytest.raises(fairguard.FairguardError):
        guard.check("p", "r")


@pytest.mark.parametrize("plugin, kind", [(Raising(), "error"), (NaNReward(), "nan"), (Sleepy(), "timeout")])
def test_fail_open_passes_text_through_and_records(plugin, kind):
    guard = Guard([plugin], fail="open", strategy="score", timeout_s=0.2,
                  thresholds={plugin.heads[0]: 0.5})
    record = guard.check("p", "some answer")
    assert record.decision == "pass" and record.text == "some answer"
    assert record.scores[plugin.heads[0]] is None and record.scores["total"] is None
    assert [(e.plugin, e.kind, e.stage) for e in record.errors] == [(plugin.name, kind, "score")]


@pytest.mark.parametrize("plugin, kind", [(Raising(), "error"), (NaNReward(), "nan"), (Sleepy(), "timeout")])
@pytest.mark.parametrize("below, decision", [("flag", "flag"), ("refuse", "block")])
def test_fail_closed_blocks_or_flags_and_records(plugin, kind, below, decision):
    guard = Guard([plugin], fail="closed", below=below, strategy="score", timeout_s=0.2)
    record = guard.check("p", "some answer")
    assert record.decision == decision and record.errors[0].kind == kind
    if below == "refuse":
        assert record.action == "refused" and record.text == GuardConfig().refusal_text


def test_fail_closed_raise_policy_raises_blocked_error():
    guard = Guard([Raising()], fail="closed", below="raise")
    with pytest.raises(GuardBlockedError, match="raising error"):
        guard.check("p", "r")


def test_open_keeps_the_thresholds_of_the_rewards_that_worked():
    guard = Guard([Raising(), Constant(0.1)], fail="open", thresholds="constant=0.5")
    record = guard.check("p", "r")
    assert record.decision == "flag" and record.below == ["constant"]
    assert record.scores["constant"] == pytest.approx(0.1) and record.errors[0].plugin == "raising"


def test_a_failing_rewrite_filter_is_recorded():
    class Broken(BaseFilter):
        name = "broken"

        def rewrite(self, prompts, completions):
            raise ValueError("no")

    guard = Guard.from_names("gender-bias", strategy="rewrite", thresholds="gender-bias=0.9",
                             fail="open")
    guard = Guard(guard.rewards, [Broken(), "neutralize"], strategy="rewrite",
                  thresholds="gender-bias=0.9", fail="open")
    record = guard.check("p", GENDERED)
    assert record.action == "rewritten" and record.decision == "pass"
    assert [(e.plugin, e.stage) for e in record.errors] == [("broken", "rewrite")]


def test_thresholds_come_from_the_reward_when_not_given():
    reward = Constant(0.3, "fairness")
    reward.thresholds = {"fairness": 0.5, "other": 0.1}
    guard = Guard([reward])
    assert guard.thresholds == {"fairness": 0.5}
    assert guard.check("p", "r").decision == "flag"
    assert Guard([reward], thresholds={}).thresholds == {}


def test_construction_errors_are_clear():
    with pytest.raises(UnknownNameError, match="threshold head"):
        Guard(["gender-bias"], thresholds="fairness=0.5")
    with pytest.raises(UnknownNameError):
        Guard(["gender-bias"], weights="fairness=1")
    with pytest.raises(UnknownNameError):
        Guard(["no-such-reward"])
    with pytest.raises(ConfigError, match="unknown guard option"):
        Guard(["gender-bias"], stratgy="score")
    with pytest.raises(ConfigError):
        Guard([])
    with pytest.raises(ConfigError, match="not a reward"):
        Guard([object()])
    with pytest.raises(ConfigError, match="not among the rewards"):
        Guard.from_names("gender-bias", reward_options={"reward-model": {"path": "x"}})
    with pytest.raises(ConfigError, match="either config"):
        Guard(["gender-bias"], config=GuardConfig(), n=2)


def test_from_names_weights_apply_per_reward_then_per_head():
    guard = Guard.from_names("gender-bias=2", reward_options={"gender-bias": {"window": 5}})
    assert guard.weights == {"gender-bias": 2.0} and guard.rewards[0].window == 5
    guard = Guard.from_names(["gender-bias"], weights="gender-bias=0.5")
    assert guard.weights == {"gender-bias": 0.5}


@pytest.mark.parametrize("prompt, response, words", [
    ("", "r", "empty"), ("   ", "r", "empty"), (3, "r", "must be a string"),
    ("p", None, "must be a string"), ("p", "x" * 100_000, "100,000 characters"),
])
def test_bad_inputs_raise_input_error(prompt, response, words):
    guard = Guard(["gender-bias"])
    with pytest.raises(InputError, match=words):
        guard.check(prompt, response)


def test_score_batch_inputs():
    guard = Guard(["gender-bias"])
    assert guard.score_batch([], []) == []
    with pytest.raises(InputError, match="2 prompts but 1"):
        guard.score_batch(["a", "b"], ["x"])
    with pytest.raises(InputError):
        guard.score_batch("a", "x")
    assert guard.check("p", "").scores["gender-bias"] == pytest.approx(1.0)  # empty answer allowed


def test_long_rewrite_is_scored_on_max_chars_and_its_unread_rest_follows_the_fail_policy():
    class Bloat(BaseFilter):
        name = "bloat"

        def rewrite(self, prompts, completions):
            return ["word " * 20_000 for _ in completions]

    class Seen:
        name = "seen"
        heads = ("seen",)
        lengths = []

        def score(self, prompts, completions):
            self.lengths.extend(len(c) for c in completions)
            return {"seen": np.array([min(len(c) / 1000, 1.0) for c in completions])}

    reward = Seen()
    guard = Guard([reward], [Bloat()], strategy="rewrite", thresholds="seen=0.9", max_chars=1000,
                  fail="open")
    record = guard.check("p", "short")
    assert reward.lengths == [5, 1000]  # the 100k-character rewrite was scored on 1000 characters
    assert record.action == "rewritten" and len(record.text) == 100_000 and record.decision == "pass"
    [unread] = record.errors
    assert (unread.plugin, unread.kind) == ("guard", "unread") and "first 1,000" in unread.message

    # fail="closed" (the default): text the guard did not read never passes; the short original,
    # which it read whole, stays the output (under threshold, so flagged)
    closed = Guard([Seen()], [Bloat()], strategy="rewrite", thresholds="seen=0.9", max_chars=1000)
    record = closed.check("p", "short")
    assert (record.text, record.action, record.decision, record.errors) == ("short", "none", "flag", [])
    long, read = "word " * 400, "x" * 950  # Seen scores both 1.0 / 0.95: only the reading differs
    [[best]] = Guard([Seen()], max_chars=1000).decide(["p"], [[long, read]])
    assert (best.text, best.decision, best.errors) == (read, "pass", [])
    with pytest.raises(GuardBlockedError, match="guard unread"):
        Guard([Seen()], below="raise", max_chars=1000).decide(["p"], [[long]])
    [[refused]] = Guard([Seen()], below="refuse", max_chars=1000).decide(["p"], [[long]])
    assert refused.decision == "block" and refused.text == DEFAULT_REFUSAL


def test_threads_give_the_same_results_as_serial_calls():
    guard = Guard([LengthReward(), "gender-bias"], ["neutralize"], strategy="rewrite",
                  thresholds="gender-bias=0.9,length=0.05", fail="closed", timeout_s=5)
    pairs = [(f"prompt {i}", GENDERED if i % 3 == 0 else " ".join(["word"] * (i % 7 + 1)) + f" {i}")
             for i in range(48)]
    serial = [guard.check(p, r).to_dict() for p, r in pairs]
    start = threading.Barrier(8)

    def work(offset):
        start.wait()
        return [(i, guard.check(*pairs[i]).to_dict()) for i in range(offset, len(pairs), 8)]

    with ThreadPoolExecutor(8) as pool:
        results = [item for chunk in pool.map(work, range(8)) for item in chunk]
    assert len(results) == len(pairs)
    for i, record in results:
        record.pop("latency")
        expected = dict(serial[i])
        expected.pop("latency")
        assert record == expected


def _tiny_reward_model(folder):
    import json

    from fairguard.testing import save_tiny, tiny_deberta_classifier

    heads = ["fairness", "relevance", "fluency"]
    save_tiny(*tiny_deberta_classifier(labels=heads), folder)
    (folder / "fairguard.json").write_text(json.dumps({
        "kind": "reward-model", "heads": heads, "thresholds": {"fairness": 0.5, "relevance": 0.4,
                                                               "fluency": 0.3},
        "backbone": "tiny-deberta-v2", "max_length": 64, "data_fingerprint": "test", "metrics": {}}))
    return folder


def test_reward_model_plugin_thresholds_and_threads(tmp_path):
    folder = _tiny_reward_model(tmp_path / "rm")
    guard = Guard.from_names("reward-model,gender-bias", ["neutralize"], strategy="rewrite",
                             reward_options={"reward-model": {"path": str(folder), "backend": "torch"}})
    assert guard.heads == ("fairness", "relevance", "fluency", "gender-bias")
    assert guard.thresholds == {"fairness": 0.5, "relevance": 0.4, "fluency": 0.3}
    pairs = [(f"should we hire the {w} applicant", f"the {w} person is good" if i % 2 else GENDERED)
             for i, w in enumerate("rural migrant old young henan sichuan han hui".split())]
    batch = guard.score_batch([p for p, _ in pairs], [r for _, r in pairs])
    serial = [guard.check(p, r) for p, r in pairs]
    for a, b in zip(batch, serial):
        for head in guard.heads:
            assert a.scores[head] == pytest.approx(b.scores[head], abs=1e-5)
        assert 0.0 <= a.scores["fairness"] <= 1.0 and a.decision == b.decision
    with ThreadPoolExecutor(8) as pool:
        threaded = list(pool.map(lambda pr: guard.check(*pr), pairs))
    for a, b in zip(threaded, serial):
        assert a.to_dict(include_text=True) | {"latency": None} == b.to_dict() | {"latency": None}


def test_onnx_reward_model_under_eight_threads(tmp_path_factory):
    from onnx_export_data import shared_export  # the export tests' tiny DeBERTa-v2 ONNX export

    _, export = shared_export(tmp_path_factory)
    guard = Guard.from_names("reward-model", ["neutralize"], strategy="rewrite",
                             reward_options={"reward-model": {"path": str(export)}})
    assert guard.rewards[0].backend == "onnx" and set(guard.thresholds) == {"fairness", "relevance", "fluency"}
    pairs = [(f"should we hire the {w} applicant", f"the {w} person is good, he said")
             for w in "rural migrant old young henan sichuan han hui".split()] * 3
    serial = [guard.check(*pair).to_dict() | {"latency": None} for pair in pairs]
    with ThreadPoolExecutor(8) as pool:
        threaded = [r.to_dict() | {"latency": None} for r in pool.map(lambda pr: guard.check(*pr), pairs)]
    assert threaded == serial
    assert all(r["scores"]["fairness"] is not None for r in serial)


def test_a_rewrite_that_changes_nothing_is_not_rescored_or_reported():
    class Counted:
        name = "counted"
        heads = ("counted",)
        seen = []

        def score(self, prompts, completions):
            self.seen.extend(completions)
            return {"counted": np.full(len(completions), 0.1)}

    reward = Counted()
    guard = Guard([reward], ["neutralize"], strategy="rewrite", thresholds="counted=0.5")
    record = guard.check("p", "the answer is fine")
    assert reward.seen == ["the answer is fine"]
    assert record.action == "none" and record.candidates == 1 and record.original is None


def test_outputs_stay_best_first_after_rewrites():
    class ShortenLong(BaseFilter):
        name = "shorten-long"

        def rewrite(self, prompts, completions):
            return [c.split()[0] if len(c.split()) >= 8 else c for c in completions]

    guard = Guard([LengthReward()], [ShortenLong()], strategy="rewrite", thresholds="length=0.3")
    rows = guard.decide(["p"], [["a b c d e f", "a b c d e f g h"]], keep=2)
    assert [r.text for r in rows[0]] == ["a", "a b c d e f"]
    assert [r.action for r in rows[0]] == ["rewritten", "reranked"]
    assert [r.decision for r in rows[0]] == ["pass", "flag"]
