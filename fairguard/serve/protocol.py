"""OpenAI's request and response shapes: parsing and checking requests, building responses.

Requests are checked here rather than by a schema library so that every problem becomes an
:class:`APIError` in OpenAI's error shape, ``{"error": {"message", "type", "param", "code"}}``,
with the field named in ``param``.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from fairguard.guard.pipeline_wrap import chat_prompt
from fairguard.guard.result import GuardRecord

ROLES = ("system", "developer", "user", "assistant")
MODERATION_MODEL = "fairguard-moderation"
# OpenAI's moderation model names, accepted so that client code written for OpenAI runs unchanged
MODERATION_ALIASES = ("omni-moderation-latest", "omni-moderation-2024-09-26", "text-moderation-latest",
                      "text-moderation-stable")


class APIError(Exception):
    """An error answered in OpenAI's shape with an HTTP status."""

    def __init__(self, status: int, message: str, type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type, param, code

    def body(self) -> dict[str, Any]:
        return error_body(self.message, self.type, self.param, self.code)


def error_body(message: str, type: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def _bad(param: str, message: str) -> APIError:
    return APIError(400, message, param=param)


@dataclass
class Limits:
    """The request limits of one server."""

    max_inputs: int = 256
    max_chars: int = 20_000
    max_n: int = 16
    max_tokens: int = 1024
    default_max_tokens: int = 128


@dataclass
class Sampling:
    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    stop: list[str] = field(default_factory=list)
    seed: int | None = None


@dataclass
class GenerationRequest:
    """A checked chat or completions request: one chat, or one or more completion prompts."""

    kind: str  # "chat" or "completion"
    model: str
    inputs: list[Any]  # one chat (a list of {"role", "content"}) or the prompt strings
    prompts: list[str]  # what the rewards see as the prompt of each input
    n: int
    sampling: Sampling
    stream: bool
    include_usage: bool
    body: dict[str, Any]  # the request as sent, for an upstream server


@dataclass
class ModerationRequest:
    model: str | None
    texts: list[str]
    prompts: list[str]


# ----- field checks ---------------------------------------------------------------------------------

def _mapping(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise APIError(400, f"the request body must be a JSON object, got {type(body).__name__}")
    return body


def _number(body: dict[str, Any], name: str, default: float, lo: float, hi: float,
            lo_open: bool = False) -> float:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _bad(name, f"{name} must be a number, got {value!r}")
    if value > hi or value < lo or (lo_open and value == lo):
        raise _bad(name, f"{name} must be in {'(' if lo_open else '['}{lo:g}, {hi:g}], got {value!r}")
    return float(value)


def _integer(body: dict[str, Any], name: str, default: int | None, lo: int, hi: int) -> int | None:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(name, f"{name} must be an integer, got {value!r}")
    if not lo <= value <= hi:
        raise _bad(name, f"{name} must be in {lo}..{hi}, got {value}")
    return value


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _bad(name, f"{name} must be true or false, got {value!r}")
    return value


def _model(body: dict[str, Any], required: bool = True) -> str | None:
    model = body.get("model")
    if model is None and not required:
        return None
    if not isinstance(model, str) or not model.strip():
        raise _bad("model", "model must be a non-empty string naming the model (see GET /v1/models)")
    return model


def _text(value: Any, param: str, limits: Limits, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise _bad(param, f"{param} must be a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise _bad(param, f"{param} is empty; give non-empty text")
    if len(value) > limits.max_chars:
        raise _bad(param, f"{param} has {len(value):,} characters, more than this server's limit of "
                          f"{limits.max_chars:,}")
    return value


def _content(value: Any, param: str, limits: Limits) -> str:
    """A message's content: a string, or a list of ``{"type": "text", "text": ...}`` parts."""
    if isinstance(value, list):
        parts = []
        for i, part in enumerate(value):
            if not isinstance(part, dict) or part.get("type") != "text":
                raise _bad(f"{param}[{i}]", f"{param}[{i}]: only text parts ({{'type': 'text', 'text': ...}}) "
                                            "are supported")
            parts.append(_text(part.get("text"), f"{param}[{i}].text", limits, allow_empty=True))
        value = "".join(parts)
    return _text(value, param, limits, allow_empty=True)


def _sampling(body: dict[str, Any], limits: Limits) -> Sampling:
    max_tokens = body.get("max_completion_tokens")
    name = "max_completion_tokens"
    if max_tokens is None:
        name = "max_tokens"
    max_tokens = _integer(body, name, limits.default_max_tokens, 1, limits.max_tokens)
    stop = body.get("stop")
    if stop is None:
        stops: list[str] = []
    elif isinstance(stop, str):
        stops = [stop] if stop else []
    elif isinstance(stop, list) and len(stop) <= 4 and all(isinstance(s, str) and s for s in stop):
        stops = list(stop)
    else:
        raise _bad("stop", "stop must be a string or a list of up to 4 non-empty strings")
    return Sampling(max_tokens=max_tokens or limits.default_max_tokens,  # type: ignore[arg-type]
                    temperature=_number(body, "temperature", 1.0, 0.0, 2.0),
                    top_p=_number(body, "top_p", 1.0, 0.0, 1.0, lo_open=True),
                    stop=stops, seed=_integer(body, "seed", None, -(2 ** 63), 2 ** 63 - 1))


def _stream(body: dict[str, Any], n: int) -> tuple[bool, bool]:
    stream = _flag(body, "stream")
    options = body.get("stream_options")
    include_usage = False
    if options is not None:
        if not isinstance(options, dict):
            raise _bad("stream_options", "stream_options must be an object such as {\"include_usage\": true}")
        include_usage = _flag(options, "include_usage")
    if stream and n != 1:
        raise _bad("n", f"a streamed answer has one choice; drop stream or ask for n=1 (got n={n})")
    return stream, include_usage


def _unsupported(body: dict[str, Any], names: dict[str, Any]) -> None:
    for name, neutral in names.items():
        value = body.get(name)
        if value is not None and value != neutral:
            raise _bad(name, f"{name} is not supported by fairguard serve")


# ----- requests -------------------------------------------------------------------------------------

def parse_chat(body: Any, limits: Limits) -> GenerationRequest:
    """Check a ``POST /v1/chat/completions`` body."""
    body = _mapping(body)
    model = _model(body)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _bad("messages", "messages must be a non-empty list of {\"role\", \"content\"} objects")
    if len(messages) > limits.max_inputs:
        raise _bad("messages", f"{len(messages)} messages are more than this server's limit of {limits.max_inputs}")
    chat = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise _bad(f"messages[{i}]", f"messages[{i}] must be an object, got {type(message).__name__}")
        role = message.get("role")
        if role not in ROLES:
            raise _bad(f"messages[{i}].role", f"messages[{i}].role must be one of {', '.join(ROLES)}, got {role!r}")
        content = _content(message.get("content"), f"messages[{i}].content", limits)
        chat.append({"role": "system" if role == "developer" else role, "content": content})
    prompt = chat_prompt(chat)
    if not prompt.strip():
        raise _bad("messages", "the last user message is empty; the guard needs the question to judge the answer")
    n = _integer(body, "n", 1, 1, limits.max_n)
    _unsupported(body, {"logprobs": False, "tools": [], "functions": [], "audio": None})
    stream, include_usage = _stream(body, n)  # type: ignore[arg-type]
    return GenerationRequest("chat", model, [chat], [prompt], n, _sampling(body, limits),  # type: ignore[arg-type]
                             stream, include_usage, body)


def parse_completion(body: Any, limits: Limits) -> GenerationRequest:
    """Check a ``POST /v1/completions`` body (one prompt string or a list of them)."""
    body = _mapping(body)
    model = _model(body)
    raw = body.get("prompt")
    if isinstance(raw, str):
        prompts = [_text(raw, "prompt", limits)]
    elif isinstance(raw, list) and raw and all(isinstance(p, str) for p in raw):
        if len(raw) > limits.max_inputs:
            raise _bad("prompt", f"{len(raw)} prompts are more than this server's limit of {limits.max_inputs}")
        prompts = [_text(p, f"prompt[{i}]", limits) for i, p in enumerate(raw)]
    else:
        raise _bad("prompt", "prompt must be a non-empty string or a list of them (token arrays are not supported)")
    n = _integer(body, "n", 1, 1, limits.max_n)
    _unsupported(body, {"logprobs": None, "echo": False, "best_of": 1, "suffix": None})
    stream, include_usage = _stream(body, n)  # type: ignore[arg-type]
    if stream and len(prompts) > 1:
        raise _bad("prompt", "a streamed completion takes one prompt")
    return GenerationRequest("completion", model, list(prompts), list(prompts), n,  # type: ignore[arg-type]
                             _sampling(body, limits), stream, include_usage, body)


def parse_moderation(body: Any, limits: Limits, default_prompt: str) -> ModerationRequest:
    """Check a ``POST /v1/moderations`` body: ``input`` is a string, a list of strings, or a list of
    text parts; the extension field ``prompt`` (a string, or one per input) gives the question each
    text answers (default ``default_prompt``)."""
    body = _mapping(body)
    model = _model(body, required=False)
    raw = body.get("input")
    if isinstance(raw, str):
        items: list[Any] = [raw]
    elif isinstance(raw, list) and raw:
        items = raw
    else:
        raise _bad("input", "input must be a string or a non-empty list of strings or text parts")
    if len(items) > limits.max_inputs:
        raise _bad("input", f"{len(items)} inputs are more than this server's limit of {limits.max_inputs}")
    texts = []
    for i, item in enumerate(items):
        if isinstance(item, dict):
            if item.get("type") != "text":
                raise _bad(f"input[{i}]", f"input[{i}]: only text inputs are supported, got type {item.get('type')!r}")
            item = item.get("text")
        texts.append(_text(item, f"input[{i}]" if isinstance(raw, list) else "input", limits, allow_empty=True))
    prompt = body.get("prompt", default_prompt)
    if isinstance(prompt, str):
        prompts = [_text(prompt, "prompt", limits)] * len(texts)
    elif isinstance(prompt, list) and len(prompt) == len(texts):
        prompts = [_text(p, f"prompt[{i}]", limits) for i, p in enumerate(prompt)]
    else:
        raise _bad("prompt", f"prompt must be a string or a list of {len(texts)} strings, one per input")
    return ModerationRequest(model, texts, prompts)


# ----- responses ------------------------------------------------------------------------------------

def new_id() -> str:
    return uuid.uuid4().hex[:24]


def public_record(record: GuardRecord, expose_original: bool) -> dict[str, Any]:
    """The record a client sees: without the text before a rewrite or refusal unless allowed."""
    data = record.to_dict(include_text=False)
    if not expose_original:
        data.pop("original", None)
    return data


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def completion_response(kind: str, rid: str, model: str, choices: list[tuple[str, str, dict[str, Any]]],
                        use: dict[str, int], refusal: str | None = None) -> dict[str, Any]:
    """A ``chat.completion`` or ``text_completion`` object; each choice is ``(text,
    finish_reason, fairguard record)``."""
    out = []
    for i, (text, finish, record) in enumerate(choices):
        if kind == "chat":
            message = {"role": "assistant", "content": text,
                       "refusal": text if finish == "content_filter" and text == refusal else None}
            out.append({"index": i, "message": message, "logprobs": None, "finish_reason": finish,
                        "fairguard": record})
        else:
            out.append({"index": i, "text": text, "logprobs": None, "finish_reason": finish,
                        "fairguard": record})
    return {"id": f"{'chatcmpl' if kind == 'chat' else 'cmpl'}-{rid}",
            "object": "chat.completion" if kind == "chat" else "text_completion",
            "created": int(time.time()), "model": model, "system_fingerprint": None,
            "choices": out, "usage": use}


def chunk(kind: str, rid: str, model: str, created: int, text: str | None = None,
          finish: str | None = None, record: dict[str, Any] | None = None, first: bool = False,
          use: dict[str, int] | None = None) -> dict[str, Any]:
    """One ``chat.completion.chunk`` or streamed ``text_completion`` object."""
    if use is not None:
        choices: list[dict[str, Any]] = []
    elif kind == "chat":
        delta: dict[str, Any] = {}
        if first:
            delta["role"] = "assistant"
        if text is not None:
            delta["content"] = text
        choices = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
    else:
        choices = [{"index": 0, "text": text or "", "logprobs": None, "finish_reason": finish}]
    if record is not None:
        choices[0]["fairguard"] = record
    out: dict[str, Any] = {
        "id": f"{'chatcmpl' if kind == 'chat' else 'cmpl'}-{rid}",
        "object": "chat.completion.chunk" if kind == "chat" else "text_completion",
        "created": created, "model": model, "system_fingerprint": None, "choices": choices}
    if use is not None:
        out["usage"] = use
    return out


def moderation_result(record: GuardRecord, thresholds: dict[str, float], expose_original: bool) -> dict[str, Any]:
    """One moderation result in OpenAI's shape; the categories are the guard's heads (and
    ``total`` when it has a threshold), ``category_scores`` use OpenAI's direction (1 - score,
    clipped to [0, 1]: higher = more likely a problem), the raw scores are in ``fairguard``."""
    scores = {head: value for head, value in record.scores.items() if head != "total"}
    names = list(scores) + (["total"] if "total" in thresholds else [])
    unscored_fails = record.fail_policy == "closed"
    categories = {}
    for name in names:
        value = record.scores.get(name)
        categories[name] = name in record.below or (value is None and unscored_fails and name in thresholds)
    category_scores = {head: (None if value is None else min(max(1.0 - value, 0.0), 1.0))
                       for head, value in scores.items()}
    return {"flagged": record.decision != "pass", "categories": categories,
            "category_scores": category_scores,
            "category_applied_input_types": {name: ["text"] for name in names},
            "fairguard": public_record(record, expose_original)}
