"""A real transformers text-generation pipeline (tiny random Llama) wrapped by the guard."""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from fairguard import Guard
from fairguard.errors import ConfigError, GuardBlockedError, InputError, PluginError
from fairguard.guard.pipeline_wrap import normalise_inputs
from fairguard.protocols import BaseFilter

CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)
GEN = {"max_new_tokens": 4}
CHAT = [{"role": "system", "content": "be fair"}, {"role": "user", "content": "who is a good doctor"}]


@pytest.fixture(scope="module")
def pipe(tiny_causal_lm_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline

    tokenizer = AutoTokenizer.from_pretrained(tiny_causal_lm_dir)
    tokenizer.chat_template = CHAT_TEMPLATE
    model = AutoModelForCausalLM.from_pretrained(tiny_causal_lm_dir)
    return pipeline("text-generation", model=model, tokenizer=tokenizer)


class WordReward:
    """Share of completion words in a set: deterministic, so tests can predict the ranking."""

    def __init__(self, words, name="words"):
        self.name = name
        self.heads = (name,)
        self.words = set(words)

    def score(self, prompts, completions):
        values = []
        for text in completions:
            words = text.lower().split()
            values.append(sum(w in self.words for w in words) / len(words) if words else 0.0)
        return {self.name: np.array(values)}


class Raising:
    name = "raising"
    heads = ("raising",)

    def score(self, prompts, completions):
        raise RuntimeError("scorer down")


class Counting:
    """A pass-through proxy that records each call to the pipeline."""

    def __init__(self, pipe):
        self.pipe, self.calls = pipe, []
        self.tokenizer, self.task = pipe.tokenizer, pipe.task

    def __call__(self, inputs, **kwargs):
        self.calls.append(kwargs)
        return self.pipe(inputs, **kwargs)


def shape(value):
    """The structure of a pipeline output, with the text itself left out."""
    if isinstance(value, list):
        if value and isinstance(value[0], dict) and "role" in value[0]:
            return ("chat", tuple(m["role"] for m in value))
        return [shape(v) for v in value]
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items() if k != "fairguard"}
    return type(value).__name__


INPUTS = {
    "string": "the doctor is",
    "chat": CHAT,
    "batch": ["the doctor is", "a teacher"],
    "chat-batch": [CHAT, [{"role": "user", "content": "a rural worker"}]],
}


PLAIN: dict = {}


@pytest.mark.parametrize("strategy", ["score", "rerank", "rewrite"])
@pytest.mark.parametrize("kind", list(INPUTS))
@pytest.mark.parametrize("extra", [{}, {"return_full_text": False, "num_return_sequences": 2}])
def test_output_shape_matches_the_plain_pipeline(pipe, strategy, kind, extra):
    guard = Guard([WordReward(["fair", "equal"])], ["neutralize"], strategy=strategy, n=3,
                  thresholds="words=0.5")
    kwargs = dict(GEN, do_sample=True, **extra)
    key = (kind, tuple(sorted(extra.items())))
    if key not in PLAIN:  # the unwrapped pipeline's output, once per input kind and options
        PLAIN[key] = pipe(INPUTS[kind], **kwargs)
    plain = PLAIN[key]
    wrapped = guard.wrap(pipe)(INPUTS[kind], **kwargs)
    assert shape(wrapped) == shape(plain)
    flat = wrapped if isinstance(wrapped[0], dict) else [d for row in wrapped for d in row]
    for d in flat:
        record = d["fairguard"]
        assert record["strategy"] == strategy and record["decision"] in ("pass", "flag")
        assert set(record["scores"]) == {"words", "total"}
        assert record["candidates"] >= (2 if extra else 1) and record["latency"]["generation_ms"] > 0
        if strategy != "score":
            assert record["candidates"] >= 3
    rows = [wrapped] if isinstance(wrapped[0], dict) else wrapped
    if strategy != "score":  # outputs come best first: passing first, then by weighted total
        for row in rows:
            keys = [(d["fairguard"]["decision"] != "pass", -d["fairguard"]["scores"]["total"]) for d in row]
            assert keys == sorted(keys)


@pytest.mark.parametrize("kind", list(INPUTS))
def test_score_strategy_with_greedy_decoding_returns_exactly_the_pipeline_text(pipe, kind):
    guard = Guard(["gender-bias"], strategy="score")
    plain = pipe(INPUTS[kind], do_sample=False, **GEN)
    wrapped = guard.wrap(pipe)(INPUTS[kind], do_sample=False, **GEN)

    def strip(out):
        return [strip(x) if isinstance(x, list) else {"generated_text": x["generated_text"]} for x in out]

    assert strip(wrapped) == strip(plain)


@pytest.mark.parametrize("kind", ["string", "chat"])
def test_a_seeded_single_call_samples_what_the_plain_pipeline_samples(pipe, kind):
    import torch

    torch.manual_seed(7)
    plain = pipe(INPUTS[kind], do_sample=True, num_return_sequences=2, **GEN)
    torch.manual_seed(7)
    wrapped = Guard(["gender-bias"], strategy="score").wrap(pipe)(
        INPUTS[kind], do_sample=True, num_return_sequences=2, **GEN)
    assert [d["generated_text"] for d in wrapped] == [d["generated_text"] for d in plain]


def test_pipeline_default_return_full_text_is_respected(tiny_causal_lm_dir, pipe):
    from transformers import pipeline

    new_only = pipeline("text-generation", model=pipe.model, tokenizer=pipe.tokenizer,
                        return_full_text=False)
    out = Guard(["gender-bias"], strategy="score").wrap(new_only)("the doctor is", do_sample=False, **GEN)
    assert out[0]["generated_text"] == new_only("the doctor is", do_sample=False, **GEN)[0]["generated_text"]
    assert not out[0]["generated_text"].startswith("the doctor is")


def test_rerank_generates_all_candidates_in_one_call_and_returns_the_best(pipe):
    import torch

    torch.manual_seed(0)
    counting = Counting(pipe)
    guard = Guard([WordReward(["the", "a", "and", "of", "to", "in"])], strategy="rerank", n=6)
    out = guard.wrap(counting)(["the doctor is", "a nurse"], max_new_tokens=8, num_return_sequences=2)
    assert len(counting.calls) == 1
    call = counting.calls[0]
    assert call["num_return_sequences"] == 6 and call["do_sample"] is True
    assert call["return_full_text"] is False
    for row in out:
        totals = [t for t in row[0]["fairguard"]["candidate_totals"]]
        assert len(totals) == 6
        chosen = [d["fairguard"]["scores"]["total"] for d in row]
        assert chosen == sorted(totals, reverse=True)[:2]
        assert all(d["fairguard"]["action"] == "reranked" for d in row)


def test_rewrite_neutralizes_a_gendered_prefill_in_chat(pipe):
    guard = Guard.from_names("gender-bias", ["neutralize"], strategy="rewrite", n=2,
                             thresholds="gender-bias=0.9")
    chat = [{"role": "user", "content": "describe the worker"},
            {"role": "assistant", "content": "he is a man and he said his wife"}]
    out = guard.wrap(pipe)(chat, **GEN)
    assert len(out) == 1
    message = out[0]["generated_text"][-1]
    record = out[0]["fairguard"]
    assert message["role"] == "assistant" and len(out[0]["generated_text"]) == 2
    assert message["content"].startswith("they are a person and they said their spouse")
    assert record["action"] == "rewritten" and record["decision"] == "pass"
    assert record["original"].startswith("he is a man and he said his wife")
    assert record["scores"]["gender-bias"] >= 0.9 and record["latency"]["rewrite_ms"] > 0


class ForceWord(BaseFilter):
    """A logits-processor filter: only the word 'fair' may be generated."""

    name = "force-fair"

    def logits_processor(self, tokenizer):
        from transformers import LogitsProcessor

        token = tokenizer.convert_tokens_to_ids("fair")

        class Only(LogitsProcessor):
            def __call__(self, input_ids, scores):
                keep = scores[:, token].clone()
                scores[:] = -float("inf")
                scores[:, token] = keep
                return scores

        return Only()


def test_rewrite_regenerates_with_a_logits_processor_filter(pipe):
    counting = Counting(pipe)
    guard = Guard([WordReward(["fair"])], [ForceWord()], strategy="rewrite", n=2,
                  thresholds="words=0.9")
    out = guard.wrap(counting)("the doctor is", **GEN)
    assert len(counting.calls) == 2 and "logits_processor" in counting.calls[1]
    record = out[0]["fairguard"]
    assert out[0]["generated_text"] == "the doctor is" + " fair" * GEN["max_new_tokens"]
    assert record["action"] == "rewritten" and record["decision"] == "pass" and record["candidates"] == 4


def test_a_filter_whose_processor_fails_at_wrap_time_is_a_plugin_error(pipe):
    class Broken(BaseFilter):
        name = "broken"

        def logits_processor(self, tokenizer):
            raise RuntimeError("no layer")

    with pytest.raises(PluginError, match="broken"):
        Guard(["gender-bias"], [Broken()], strategy="rewrite").wrap(pipe)


def test_fail_open_passes_the_generation_through(pipe):
    guard = Guard([Raising()], strategy="score", fail="open")
    plain = pipe("the doctor is", do_sample=False, **GEN)
    out = guard.wrap(pipe)("the doctor is", do_sample=False, **GEN)
    assert out[0]["generated_text"] == plain[0]["generated_text"]
    record = out[0]["fairguard"]
    assert record["decision"] == "pass" and record["errors"][0]["kind"] == "error"
    assert record["scores"] == {"raising": None, "total": None}


def test_fail_closed_refuses_in_the_pipeline_shape(pipe):
    guard = Guard([Raising()], strategy="rerank", fail="closed", below="refuse", refusal_text="No.")
    out = guard.wrap(pipe)(["the doctor is", "a nurse"], **GEN)
    assert [[d["generated_text"] for d in row] for row in out] == [["the doctor isNo."], ["a nurseNo."]]
    assert all(row[0]["fairguard"]["action"] == "refused" for row in out)
    chat = guard.wrap(pipe)(CHAT, **GEN)
    assert chat[0]["generated_text"][-1] == {"role": "assistant", "content": "No."}


def test_below_raise_in_the_pipeline(pipe):
    guard = Guard([WordReward(["nothing-matches"])], strategy="score", thresholds="words=0.5",
                  below="raise")
    with pytest.raises(GuardBlockedError) as info:
        guard.wrap(pipe)("the doctor is", **GEN)
    assert info.value.records[0].decision == "block"


@pytest.mark.parametrize("inputs, words", [
    ("", "empty"), ("   ", "empty"), (123, "got int"), ([], "empty list"), ([1, 2], "mix"),
    (["ok", 3], "mix"), ([{"role": "user"}], "string 'role' and a string 'content'"),
    ([[{"role": "user", "content": "hi"}], "text"], "mix"), ((x for x in ["a"]), "generators"),
    ([{"role": "user", "content": " "}], "empty"),
])
def test_bad_inputs_are_input_errors(pipe, inputs, words):
    with pytest.raises(InputError, match=words):
        Guard(["gender-bias"], strategy="score").wrap(pipe)(inputs, **GEN)


def test_bad_options_are_input_errors(pipe):
    wrapped = Guard(["gender-bias"], strategy="rerank").wrap(pipe)
    with pytest.raises(InputError, match="do_sample=True"):
        wrapped("the doctor", do_sample=False, **GEN)
    with pytest.raises(InputError, match="return_tensors"):
        wrapped("the doctor", return_tensors=True, **GEN)
    with pytest.raises(InputError, match="num_return_sequences"):
        wrapped("the doctor", num_return_sequences=0, **GEN)
    with pytest.raises(InputError, match="max_chars"):
        Guard(["gender-bias"], max_chars=50).wrap(pipe)("word " * 20, **GEN)


def test_wrap_needs_a_text_generation_pipeline():
    with pytest.raises(ConfigError, match="text-generation"):
        Guard(["gender-bias"]).wrap(lambda x: x)


def test_wrapped_pipeline_exposes_the_pipeline(pipe):
    wrapped = Guard(["gender-bias"]).wrap(pipe)
    assert wrapped.tokenizer is pipe.tokenizer and wrapped.model is pipe.model and wrapped.pipeline is pipe


def test_normalise_inputs():
    assert normalise_inputs("a") == (["a"], True)
    assert normalise_inputs(("a", "b")) == (["a", "b"], False)
    assert normalise_inputs(CHAT) == ([CHAT], True)


def test_eight_threads_on_one_wrapped_pipeline_match_serial_calls(pipe):
    guard = Guard.from_names("gender-bias", ["neutralize"], strategy="rewrite", n=1,
                             thresholds="gender-bias=0.9")
    wrapped = guard.wrap(pipe)
    prompts = [["the doctor is", "she said", "he is a man"][i % 3] + f" {w}"
               for i, w in enumerate("good bad old young rich poor fair equal".split())]

    def run(prompt):
        out = wrapped(prompt, do_sample=False, **GEN)[0]
        out["fairguard"].pop("latency")
        return out

    serial = [run(p) for p in prompts]
    barrier = threading.Barrier(8)

    def threaded(prompt):
        barrier.wait()
        return run(prompt)

    with ThreadPoolExecutor(8) as pool:
        concurrent = list(pool.map(threaded, prompts))
    assert concurrent == serial


@pytest.mark.slow
def test_smollm2_chat_pipeline_wrapped_with_rerank():
    from transformers import pipeline

    from fairguard.models import load_causal_lm

    model, tokenizer = load_causal_lm("smollm2-135m-instruct")
    pipe = pipeline("text-generation", model=model, tokenizer=tokenizer)
    guard = Guard.from_names("gender-bias", ["neutralize"], strategy="rewrite", n=2,
                             thresholds="gender-bias=0.8")
    chats = [[{"role": "user", "content": "Describe a good nurse in one sentence."}],
             [{"role": "user", "content": "Who should lead an engineering team?"}]]
    out = guard.wrap(pipe)(chats, max_new_tokens=16)
    plain = pipe(chats, max_new_tokens=4)
    assert shape(out) == shape(plain)
    for row in out:
        record = row[0]["fairguard"]
        assert record["candidates"] >= 2 and record["scores"]["gender-bias"] is not None
        assert row[0]["generated_text"][-1]["content"].strip()
