"""The server's generators: a tiny local causal LM, and an upstream server (tests/serve_stub.py)."""

import asyncio
import time

import pytest
from serve_stub import StubUpstream

from fairguard.protocols import BaseFilter
from fairguard.serve.backends import BackendError, LocalBackend, StreamEnd, UpstreamBackend, cut_at_stop
from fairguard.serve.protocol import APIError, Limits, parse_chat, parse_completion

LIMITS = Limits()
ASK = [{"role": "user", "content": "who is a good doctor"}]


def chat(**extra):
    return parse_chat({"model": "m", "messages": ASK, **extra}, LIMITS)


class EndAtOnce(BaseFilter):
    """A logits-processor filter that makes the end token the only choice."""

    name = "end-at-once"

    def logits_processor(self, tokenizer):
        import torch

        eos = tokenizer.eos_token_id

        def processor(input_ids, scores):
            out = torch.full_like(scores, -float("inf"))
            out[:, eos] = 0.0
            return out
        return processor


@pytest.fixture(scope="module")
def local(tiny_causal_lm_dir):
    return LocalBackend(str(tiny_causal_lm_dir), filters=[EndAtOnce()])


def test_cut_at_stop():
    assert cut_at_stop("a. b\nc", ["\n", ". "]) == ("a", True)
    assert cut_at_stop("abc", ["x"]) == ("abc", False)


def test_local_candidates_tokens_and_finish_reasons(local):
    out = asyncio.run(local.generate(chat(max_tokens=5), 3, None))
    assert len(out.texts) == 1 and len(out.texts[0]) == 3 and all(isinstance(t, str) for t in out.texts[0])
    assert set(out.finish_reasons[0]) <= {"stop", "length"} and out.prompt_tokens > 0
    assert 0 < out.completion_tokens <= 15 and out.generation_ms > 0
    greedy = chat(max_tokens=5, temperature=0)
    again = [asyncio.run(local.generate(greedy, 1, None)).texts for _ in range(2)]
    assert again[0] == again[1]
    words = again[0][0][0].split()
    if len(words) > 2:
        cut = asyncio.run(local.generate(chat(max_tokens=5, temperature=0, stop=[" " + words[2]]), 1, None))
        assert cut.texts[0][0] == " ".join(words[:2]) and cut.finish_reasons[0][0] == "stop"
    assert local.tokenizer.chat_template  # the plain template stands in for the missing one


def test_local_completions_and_regeneration_with_a_logits_processor(local):
    request = parse_completion({"model": "m", "prompt": ["the city", "a doctor"], "max_tokens": 4}, LIMITS)
    out = asyncio.run(local.generate(request, 2, None))
    assert [len(t) for t in out.texts] == [2, 2]
    regenerate = local.regenerator(request, 2, None)
    assert regenerate(0, [1]) == [["", ""]]


def test_local_stream_and_an_early_close(local):
    async def collect(request):
        return [piece async for piece in local.stream(request, None)]

    pieces = asyncio.run(collect(chat(max_tokens=12)))
    assert isinstance(pieces[-1], StreamEnd) and all(isinstance(p, str) for p in pieces[:-1])
    assert pieces[-1].prompt_tokens > 0

    async def leave_early():
        stream = local.stream(chat(max_tokens=200), None)
        first = await stream.__anext__()
        await stream.aclose()
        return first

    before = local.stopped_early
    assert isinstance(asyncio.run(leave_early()), str)
    end = time.monotonic() + 30
    while local.stopped_early == before and time.monotonic() < end:
        time.sleep(0.02)
    assert local.stopped_early == before + 1


def test_upstream_one_call_parallel_and_choice_grouping():
    request = parse_completion({"model": "m", "prompt": ["p", "q"]}, LIMITS)

    async def main(url):
        backend = UpstreamBackend(url, "up", api_key="k")
        parallel = UpstreamBackend(url, "up", candidates="parallel")
        try:
            return (await backend.generate(chat(), 2, None), await backend.generate(request, 1, None),
                    await parallel.generate(chat(), 2, None))
        finally:
            await backend.aclose()
            await parallel.aclose()

    with StubUpstream(["a", "b", "c", "d"]) as stub:
        out, grouped, parallel = asyncio.run(main(stub.url))
        assert out.texts == [["a", "b"]] and out.completion_tokens == 10 and out.prompt_tokens == 7
        assert grouped.texts == [["c"], ["d"]] and stub.requests[1]["prompt"] == ["p", "q"]
        assert sorted(parallel.texts[0]) == ["a", "b"] and [r["n"] for r in stub.requests[-2:]] == [1, 1]
    assert UpstreamBackend("http://127.0.0.1:9/v1").regenerator(request, 1, None) is None


def test_upstream_failures():
    with StubUpstream(["x"], mode="error") as stub:
        with pytest.raises(BackendError) as info:
            asyncio.run(UpstreamBackend(stub.url).generate(chat(), 1, None))
        assert info.value.kind == "error" and "HTTP 500" in info.value.message and "crashed" in info.value.message
    with StubUpstream(["x"], mode="slow", delay=2.0) as stub:
        with pytest.raises(BackendError) as info:
            asyncio.run(UpstreamBackend(stub.url, timeout_s=0.2).generate(chat(), 1, None))
        assert info.value.kind == "timeout"
        with pytest.raises(BackendError, match="deadline"):
            asyncio.run(UpstreamBackend(stub.url).generate(chat(), 1, time.perf_counter() - 1))
    with StubUpstream(["x"], mode="reject") as stub:
        with pytest.raises(APIError) as error:
            asyncio.run(UpstreamBackend(stub.url).generate(chat(), 1, None))
        assert error.value.status == 400 and error.value.param == "temperature"
    with pytest.raises(BackendError, match="could not be reached"):
        asyncio.run(UpstreamBackend("http://127.0.0.1:9/v1").generate(chat(), 1, None))


def test_upstream_stream():
    async def collect(backend, request):
        return [piece async for piece in backend.stream(request, None)]

    with StubUpstream(["one two. three"]) as stub:
        pieces = asyncio.run(collect(UpstreamBackend(stub.url, "up"), chat(stream=True)))
        assert pieces[:-1] == ["one", " two.", " three"] and pieces[-1].finish_reason == "stop"
        assert stub.requests[-1]["stream"] is True and stub.requests[-1]["model"] == "up"


def test_a_local_generation_that_raises_is_a_backend_error(local):
    request = chat()
    request.inputs = [123]  # neither a chat nor a prompt: the tokenizer raises
    with pytest.raises(BackendError) as info:
        asyncio.run(local.generate(request, 1, None))
    assert info.value.backend == "local" and info.value.kind == "error"
