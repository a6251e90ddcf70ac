"""OpenAI request checks and response shapes."""

import pytest

from fairguard.guard.result import GuardRecord
from fairguard.serve.protocol import (
    APIError,
    Limits,
    chunk,
    completion_response,
    moderation_result,
    parse_chat,
    parse_completion,
    parse_moderation,
    public_record,
)

LIMITS = Limits(max_inputs=4, max_chars=100, max_n=3, max_tokens=64, default_max_tokens=16)


def test_chat_request_is_normalised():
    body = {"model": "m", "messages": [
        {"role": "developer", "content": "be fair"},
        {"role": "user", "content": [{"type": "text", "text": "who "}, {"type": "text", "text": "leads?"}]},
        {"role": "assistant", "content": "Anyone"}], "stop": "\n", "seed": 3, "max_completion_tokens": 8}
    request = parse_chat(body, LIMITS)
    assert request.inputs == [[{"role": "system", "content": "be fair"}, {"role": "user", "content": "who leads?"},
                               {"role": "assistant", "content": "Anyone"}]]
    assert request.prompts == ["who leads?"] and request.n == 1 and not request.stream
    assert (request.sampling.max_tokens, request.sampling.temperature, request.sampling.top_p) == (8, 1.0, 1.0)
    assert request.sampling.stop == ["\n"] and request.sampling.seed == 3
    assert parse_chat({"model": "m", "messages": [{"role": "user", "content": "q"}]}, LIMITS).sampling.max_tokens == 16


@pytest.mark.parametrize("body, param", [
    ({"model": "m", "messages": [{"role": "user", "content": " "}]}, "messages"),
    ({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "messages[0].content[0]"),
    ({"model": "m", "messages": [{"role": "user", "content": "q"}] * 5}, "messages"),
    ({"model": "m", "messages": [{"role": "user", "content": "q"}], "tools": [{"type": "function"}]}, "tools"),
    ({"model": "m", "messages": [{"role": "user", "content": "q"}], "top_p": 0}, "top_p"),
    ({"model": "m", "messages": [{"role": "user", "content": "q"}], "stop": ["a"] * 5}, "stop"),
    ({"model": "m", "messages": [{"role": "user", "content": "q"}], "stream": "yes"}, "stream"),
    ({"model": "m", "messages": [{"role": "user", "content": "q"}], "n": 4}, "n"),
    ({"model": "m", "messages": [{"role": "user", "content": "q"}], "seed": 1.5}, "seed"),
    ({"messages": [{"role": "user", "content": "q"}]}, "model"),
])
def test_bad_chat_requests_name_the_field(body, param):
    with pytest.raises(APIError) as info:
        parse_chat(body, LIMITS)
    assert info.value.status == 400 and info.value.param == param
    assert set(info.value.body()["error"]) == {"message", "type", "param", "code"}


def test_completion_and_moderation_requests():
    request = parse_completion({"model": "m", "prompt": ["a", "b"], "n": 2}, LIMITS)
    assert request.kind == "completion" and request.inputs == request.prompts == ["a", "b"]
    with pytest.raises(APIError, match="one prompt"):
        parse_completion({"model": "m", "prompt": ["a", "b"], "stream": True}, LIMITS)
    with pytest.raises(APIError, match="token arrays"):
        parse_completion({"model": "m", "prompt": [1, 2]}, LIMITS)
    moderation = parse_moderation({"input": ["x", {"type": "text", "text": "y"}]}, LIMITS, "Q?")
    assert moderation.model is None and moderation.texts == ["x", "y"] and moderation.prompts == ["Q?", "Q?"]
    assert parse_moderation({"input": "x", "prompt": "Who?"}, LIMITS, "Q?").prompts == ["Who?"]
    with pytest.raises(APIError) as info:
        parse_moderation({"input": "x" * 101}, LIMITS, "Q?")
    assert info.value.param == "input" and "100" in info.value.message


def _record(**changes):
    data = dict(text="t", scores={"fairness": 0.2, "fluency": None, "total": None}, decision="flag",
                action="none", below=["fairness"], fail_policy="closed", original="secret")
    data.update(changes)
    return GuardRecord(**data)


def test_moderation_result_uses_openais_direction():
    result = moderation_result(_record(), {"fairness": 0.5, "fluency": 0.5}, expose_original=False)
    assert result["flagged"] is True
    assert result["categories"] == {"fairness": True, "fluency": True}  # unscored under fail=closed
    assert result["category_scores"] == {"fairness": pytest.approx(0.8), "fluency": None}
    assert "original" not in result["fairguard"]
    open_ = moderation_result(_record(fail_policy="open", decision="pass", below=[]), {"fluency": 0.5}, False)
    assert open_["flagged"] is False and open_["categories"] == {"fairness": False, "fluency": False}


def test_responses_and_chunks():
    record = public_record(_record(), expose_original=True)
    assert record["original"] == "secret" and "text" not in record
    out = completion_response("chat", "abc", "m", [("no", "content_filter", {}), ("ok", "stop", {})],
                              {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}, refusal="no")
    assert out["id"] == "chatcmpl-abc" and out["object"] == "chat.completion"
    assert [c["message"]["refusal"] for c in out["choices"]] == ["no", None]
    text = completion_response("completion", "abc", "m", [("x", "length", {})], {})
    assert text["object"] == "text_completion" and text["choices"][0]["text"] == "x"
    first = chunk("chat", "abc", "m", 1, text="", first=True)
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    last = chunk("chat", "abc", "m", 1, finish="stop", record={"decision": "pass"})
    assert last["choices"][0]["delta"] == {} and last["choices"][0]["fairguard"] == {"decision": "pass"}
    use = chunk("chat", "abc", "m", 1, use={"total_tokens": 3})
    assert use["choices"] == [] and use["usage"] == {"total_tokens": 3}
