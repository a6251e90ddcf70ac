"""`fairguard serve` end to end: the real `openai` client against a real server on a free
localhost port, with a tiny local causal LM or a stub upstream server (tests/serve_stub.py)."""

from __future__ import annotations

import json
import logging
import threading
import time
from contextlib import contextmanager

import httpx
import numpy as np
import openai
import pytest
from serve_stub import StubUpstream

from fairguard import Guard
from fairguard.protocols import BaseFilter
from fairguard.serve import BackgroundServer, ServeConfig, create_app

FAIR = "Everyone deserves the same chance."
BIASED = "Rural people are lazy."
STORY = "Everyone deserves a fair chance. Rural people are lazy. Judge the skills."
ASK = [{"role": "user", "content": "Should we hire the rural applicant?"}]


class Fairness:
    """Deterministic: 0 when a text calls people lazy or dishonest, else 1."""

    name = "fair"
    heads = ("fairness",)

    def score(self, prompts, completions):
        return {"fairness": np.array([0.0 if ("lazy" in c or "dishonest" in c) else 1.0 for c in completions])}


class Raising:
    name = "raising"
    heads = ("raising",)

    def score(self, prompts, completions):
        raise RuntimeError("the scorer crashed")


class Sleepy:
    name = "sleepy"
    heads = ("sleepy",)

    def score(self, prompts, completions):
        time.sleep(1.0)
        return {"sleepy": np.ones(len(prompts))}


class Kind(BaseFilter):
    name = "kind"

    def rewrite(self, prompts, completions):
        return [c.replace("lazy", "capable") for c in completions]


def make_guard(rewards=None, **options):
    options.setdefault("thresholds", "fairness=0.5")
    return Guard(rewards or [Fairness()], [Kind()], **options)


@contextmanager
def serving(guard=None, **config):
    config.setdefault("rewards", "(plugin objects given in code)")
    app = create_app(ServeConfig(**config), guard=guard if guard is not None else make_guard())
    with BackgroundServer(app) as server:
        server.state = app.state.fairguard
        yield server


def client(server, key="unused"):
    """An openai client for the server (one per server and key: making one costs ~0.1 s)."""
    cache = server.__dict__.setdefault("clients", {})
    if key not in cache:
        cache[key] = openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, timeout=60)
    return cache[key]


def metric(server, line_start):
    text = httpx.get(server.url + "/metrics").text
    values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(line_start)]
    return sum(values)


def wait_for(predicate, timeout_s=20.0):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


# ----- the local model -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def local(tiny_causal_lm_dir):
    with serving(make_guard(strategy="rerank", n=3), model=str(tiny_causal_lm_dir)) as server:
        server.model = str(tiny_causal_lm_dir)
        yield server


def test_chat_completion_has_openai_shape_and_the_record(local):
    raw = client(local).chat.completions.with_raw_response.create(model=local.model, messages=ASK, max_tokens=6)
    out = raw.parse()
    assert raw.headers["x-request-id"] and out.id == f"chatcmpl-{raw.headers['x-request-id']}"
    assert out.object == "chat.completion" and out.model == local.model and len(out.choices) == 1
    choice = out.choices[0]
    assert choice.index == 0 and choice.message.role == "assistant" and isinstance(choice.message.content, str)
    assert choice.finish_reason in ("stop", "length")
    record = choice.model_extra["fairguard"]
    assert record["strategy"] == "rerank" and record["candidates"] == 3 and len(record["candidate_totals"]) == 3
    assert record["decision"] in ("pass", "block", "flag") and set(record["scores"]) == {"fairness", "total"}
    assert out.usage.prompt_tokens > 0 and 0 < out.usage.completion_tokens <= 3 * 6
    assert out.usage.total_tokens == out.usage.prompt_tokens + out.usage.completion_tokens


def test_chat_stream_has_chunk_shapes_and_a_final_record(local):
    stream = client(local).chat.completions.create(model=local.model, messages=ASK, max_tokens=12, stream=True,
                                                    stream_options={"include_usage": True})
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finals) == 1 and finals[0].choices[0].finish_reason in ("stop", "length", "content_filter")
    record = finals[0].choices[0].model_extra["fairguard"]
    assert record["candidates"] == 1 and record["notes"][0].startswith("streamed:")
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens > 0


def test_completions_plain_list_and_streamed(local):
    c = client(local)
    one = c.completions.create(model=local.model, prompt="the city", max_tokens=4)
    assert one.object == "text_completion" and one.id.startswith("cmpl-") and len(one.choices) == 1
    many = c.completions.create(model=local.model, prompt=["the city", "a good doctor"], max_tokens=4, n=2)
    assert [ch.index for ch in many.choices] == [0, 1, 2, 3]
    assert all(isinstance(ch.text, str) and "fairguard" in ch.model_extra for ch in many.choices)
    pieces = list(c.completions.create(model=local.model, prompt="the city", max_tokens=6, stream=True))
    assert pieces[-1].choices[0].finish_reason in ("stop", "length", "content_filter")
    assert "fairguard" in pieces[-1].choices[0].model_extra


def test_health_and_models(local):
    health = httpx.get(local.url + "/health").json()
    assert health["status"] == "ok" and health["backend"] == "local" and health["rewards"] == ["fair"]
    assert health["thresholds"] == {"fairness": 0.5}
    ids = [m.id for m in client(local).models.list()]
    assert ids == [local.model, "fairguard-moderation"]


def test_local_stream_disconnect_stops_generation(local):
    backend = local.state.backend
    before = backend.stopped_early
    body = {"model": local.model, "messages": ASK, "max_tokens": 200, "stream": True,
            "temperature": 1.0}
    with httpx.stream("POST", local.url + "/v1/chat/completions", json=body, timeout=30) as response:
        assert response.status_code == 200
        next(response.iter_lines())  # the role chunk, then leave
    assert wait_for(lambda: backend.stopped_early > before or metric(local, "fairguard_stream_disconnects_total") > 0)
    assert httpx.get(local.url + "/health").status_code == 200


# ----- moderations -----------------------------------------------------------------------------------

def test_moderations_shape_and_one_batch_for_a_list(local):
    c = client(local)
    out = c.moderations.create(input=[FAIR, BIASED, ""])
    assert out.model == "fairguard-moderation" and out.id.startswith("modr-") and len(out.results) == 3
    flags = [r.flagged for r in out.results]
    assert flags == [False, True, False]
    biased = out.results[1]
    assert biased.categories.model_extra == {"fairness": True}
    assert biased.category_scores.model_extra == {"fairness": 1.0}
    assert biased.category_applied_input_types.model_extra == {"fairness": ["text"]}
    assert biased.model_extra["fairguard"]["scores"]["fairness"] == 0.0
    single = c.moderations.create(input=FAIR, model="omni-moderation-latest")
    assert len(single.results) == 1 and not single.results[0].flagged
    with pytest.raises(openai.NotFoundError) as info:
        c.moderations.create(input=FAIR, model="no-such-moderator")
    assert info.value.body["code"] == "model_not_found"


def test_moderation_prompts_and_text_parts(local):
    body = {"input": [{"type": "text", "text": BIASED}], "prompt": ["Who works hard?"]}
    out = httpx.post(local.url + "/v1/moderations", json=body).json()
    assert out["results"][0]["flagged"] is True
    bad = httpx.post(local.url + "/v1/moderations", json={"input": [FAIR, BIASED], "prompt": ["only one"]})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "prompt"


# ----- bad input ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("payload, status, param", [
    (b"{not json", 400, None),
    (b"", 400, None),
    (b"[1, 2]", 400, None),
    (b'{"model": "M", "messages": ' + b"[" * 5000 + b"]" * 5000 + b"}", 400, None),  # nested past recursion
    (json.dumps({"model": "M", "messages": []}).encode(), 400, "messages"),
    (json.dumps({"model": "M", "messages": [{"role": "user", "content": 3}]}).encode(), 400, "messages[0].content"),
    (json.dumps({"model": "M", "messages": [{"role": "robot", "content": "hi"}]}).encode(), 400, "messages[0].role"),
    (json.dumps({"model": "M", "messages": ASK, "temperature": "hot"}).encode(), 400, "temperature"),
    (json.dumps({"model": "M", "messages": ASK, "n": 0}).encode(), 400, "n"),
    (json.dumps({"model": "M", "messages": ASK, "max_tokens": 10 ** 6}).encode(), 400, "max_tokens"),
    (json.dumps({"model": "M", "messages": ASK, "stream": True, "n": 2}).encode(), 400, "n"),
    (json.dumps({"model": 7, "messages": ASK}).encode(), 400, "model"),
    (json.dumps({"model": "M", "messages": [{"role": "user", "content": "x" * 30_000}]}).encode(), 400,
     "messages[0].content"),
])
def test_bad_requests_get_openai_errors_and_the_server_keeps_serving(local, payload, status, param):
    payload = payload.replace(b'"M"', json.dumps(local.model).encode())
    response = httpx.post(local.url + "/v1/chat/completions", content=payload,
                          headers={"content-type": "application/json"})
    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    assert error["type"] == "invalid_request_error" and error["param"] == param
    assert httpx.get(local.url + "/health").status_code == 200


def test_a_10_mb_body_is_413(local):
    body = json.dumps({"model": local.model, "messages": [{"role": "user", "content": "x" * 10_000_000}]})
    response = httpx.post(local.url + "/v1/chat/completions", content=body.encode(),
                          headers={"content-type": "application/json"}, timeout=60)
    assert response.status_code == 413 and response.json()["error"]["code"] == "request_too_large"
    assert httpx.get(local.url + "/health").status_code == 200


def test_unknown_model_is_404_model_not_found(local):
    with pytest.raises(openai.NotFoundError) as info:
        client(local).chat.completions.create(model="gpt-9", messages=ASK)
    assert info.value.body["code"] == "model_not_found" and info.value.body["param"] == "model"


def test_api_key_missing_wrong_and_right(tiny_causal_lm_dir):
    with serving(make_guard(strategy="score"), model=str(tiny_causal_lm_dir), api_key="s3cret") as server:
        assert httpx.get(server.url + "/health").status_code == 200  # health needs no key
        missing = httpx.post(server.url + "/v1/moderations", json={"input": FAIR})
        assert missing.status_code == 401 and missing.json()["error"]["code"] == "invalid_api_key"
        with pytest.raises(openai.AuthenticationError):
            client(server, key="wrong").moderations.create(input=FAIR)
        assert httpx.get(server.url + "/metrics").status_code == 401
        ok = client(server, key="s3cret").moderations.create(input=FAIR)
        assert ok.results[0].flagged is False


# ----- the upstream mode ---------------------------------------------------------------------------

def test_upstream_rerank_asks_for_n_candidates_in_one_call():
    with StubUpstream([BIASED, FAIR]) as stub, \
            serving(make_guard(strategy="rerank", n=2), upstream=stub.url, upstream_model="stub-7b") as server:
        out = client(server).chat.completions.create(model="stub-7b", messages=ASK, temperature=0.7)
        assert out.choices[0].message.content == FAIR
        assert out.choices[0].model_extra["fairguard"]["action"] == "reranked"
        assert len(stub.requests) == 1 and stub.requests[0]["n"] == 2 and stub.requests[0]["stream"] is False
        assert stub.requests[0]["model"] == "stub-7b" and stub.requests[0]["temperature"] == 0.7
        assert out.usage.completion_tokens == 10


def test_upstream_parallel_candidates_and_a_server_that_returns_fewer():
    with StubUpstream([BIASED, FAIR]) as stub, \
            serving(make_guard(strategy="rerank", n=2), upstream=stub.url, upstream_model="m",
                    upstream_candidates="parallel") as server:
        out = client(server).chat.completions.create(model="m", messages=ASK)
        assert out.choices[0].message.content == FAIR and [r["n"] for r in stub.requests] == [1, 1]
    with StubUpstream([BIASED], mode="one") as stub, \
            serving(make_guard(strategy="rerank", n=3), upstream=stub.url) as server:
        out = client(server).chat.completions.create(model="any-name", messages=ASK)
        record = out.choices[0].model_extra["fairguard"]
        assert record["candidates"] == 1 and "1 of the 3 candidates" in record["notes"][0]


@pytest.mark.parametrize("expose", [False, True])
def test_a_refused_answer_never_reaches_the_client(expose):
    with StubUpstream([BIASED]) as stub, \
            serving(make_guard(strategy="rerank", n=2, below="refuse"), upstream=stub.url,
                    expose_original=expose) as server:
        out = client(server).chat.completions.create(model="m", messages=ASK)
        choice = out.choices[0]
        assert choice.finish_reason == "content_filter" and "lazy" not in choice.message.content
        assert choice.message.refusal == choice.message.content == server.state.guard.config.refusal_text
        record = choice.model_extra["fairguard"]
        assert record["decision"] == "block" and record["action"] == "refused"
        assert ("original" in record) is expose and "lazy" not in json.dumps(record) or expose


def test_upstream_rewrite_and_completions():
    with StubUpstream([BIASED]) as stub, \
            serving(make_guard(strategy="rewrite", n=1), upstream=stub.url) as server:
        out = client(server).chat.completions.create(model="m", messages=ASK)
        assert out.choices[0].message.content == "Rural people are capable."
        assert out.choices[0].model_extra["fairguard"]["action"] == "rewritten"
        text = client(server).completions.create(model="m", prompt="Rural people are", max_tokens=5)
        assert text.choices[0].text == "Rural people are capable." and stub.requests[-1]["prompt"] == "Rural people are"


@pytest.mark.parametrize("mode, fail, status, kind", [
    ("error", "closed", 200, "error"), ("error", "open", 502, "error"),
    ("slow", "closed", 200, "timeout"), ("slow", "open", 504, "timeout"),
])
def test_a_failing_or_slow_upstream_follows_the_fail_policy(mode, fail, status, kind, caplog):
    with StubUpstream([FAIR], mode=mode, delay=3.0) as stub, \
            serving(make_guard(strategy="rerank", n=2, fail=fail), upstream=stub.url,
                    upstream_timeout_s=0.3) as server, caplog.at_level(logging.WARNING, logger="fairguard"):
        response = httpx.post(server.url + "/v1/chat/completions", json={"model": "m", "messages": ASK},
                              timeout=30)
        assert response.status_code == status
        rid = response.headers["x-request-id"]
        if status == 200:
            choice = response.json()["choices"][0]
            assert choice["finish_reason"] == "content_filter"
            assert choice["fairguard"]["errors"][0] | {"message": ""} == {
                "plugin": "upstream", "stage": "generate", "kind": kind, "message": ""}
        else:
            assert response.json()["error"]["code"] == f"upstream_{kind}"
        assert any(rid in m and f"upstream generator {kind}" in m for m in caplog.messages)
        assert metric(server, f'fairguard_backend_failures_total{{backend="upstream",kind="{kind}"}}') == 1


def test_an_upstream_400_is_passed_back_as_it_came():
    with StubUpstream([FAIR], mode="reject") as stub, serving(make_guard(), upstream=stub.url) as server:
        with pytest.raises(openai.BadRequestError) as info:
            client(server).chat.completions.create(model="m", messages=ASK)
        assert info.value.body["param"] == "temperature" and "too hot" in info.value.body["message"]


# ----- guarded streaming -------------------------------------------------------------------------------

def _streamed(server, **extra):
    stream = client(server).chat.completions.create(model="m", messages=ASK, stream=True, **extra)
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    final = [c for c in chunks if c.choices and c.choices[0].finish_reason][0]
    return text, final.choices[0].finish_reason, final.choices[0].model_extra["fairguard"]


def test_stream_stops_at_a_failing_sentence_with_the_refusal():
    with StubUpstream([STORY]) as stub, serving(make_guard(below="refuse"), upstream=stub.url) as server:
        text, finish, record = _streamed(server)
        assert text.startswith("Everyone deserves a fair chance. ") and "lazy" not in text
        assert text.endswith(server.state.guard.config.refusal_text) and "Judge" not in text
        assert finish == "content_filter" and record["decision"] == "block" and record["action"] == "refused"
        assert "original" not in record and stub.requests[0]["stream"] is True and stub.requests[0]["n"] == 1


def test_stream_rewrites_or_flags_a_failing_sentence():
    with StubUpstream([STORY]) as stub, serving(make_guard(strategy="rewrite"), upstream=stub.url) as server:
        text, finish, record = _streamed(server)
        assert text == STORY.replace("lazy", "capable") and finish == "stop"
        assert record["action"] == "rewritten" and record["decision"] == "pass"
    with StubUpstream([STORY]) as stub, \
            serving(make_guard(strategy="score", below="flag"), upstream=stub.url) as server:
        text, finish, record = _streamed(server)
        assert text == STORY and record["decision"] == "flag"


def test_stream_below_raise_ends_with_an_error_event():
    with StubUpstream([STORY]) as stub, serving(make_guard(below="raise"), upstream=stub.url) as server:
        seen = []
        with pytest.raises(openai.APIError, match="stopped the stream"):
            for c in client(server).chat.completions.create(model="m", messages=ASK, stream=True):
                seen.append(c.choices[0].delta.content or "" if c.choices else "")
        assert "".join(seen) == "Everyone deserves a fair chance. "


def test_stream_from_a_failing_upstream_follows_the_fail_policy():
    with StubUpstream([STORY], mode="error") as stub, serving(make_guard(fail="closed"), upstream=stub.url) as server:
        text, finish, record = _streamed(server)
        assert text == server.state.guard.config.refusal_text and finish == "content_filter"
        assert record["errors"][0]["plugin"] == "upstream"
    with StubUpstream([STORY], mode="error") as stub, serving(make_guard(fail="open"), upstream=stub.url) as server:
        with pytest.raises(openai.APIError, match="upstream generator failed") as info:
            list(client(server).chat.completions.create(model="m", messages=ASK, stream=True))
        assert info.value.body["code"] == "upstream_error" and info.value.body["type"] == "server_error"


def test_a_client_that_disconnects_mid_stream():
    story = " ".join(f"Sentence number {i} is fair." for i in range(200))
    with StubUpstream([story], chunk_delay=0.01) as stub, serving(make_guard(), upstream=stub.url) as server:
        body = {"model": "m", "messages": ASK, "stream": True}
        with httpx.stream("POST", server.url + "/v1/chat/completions", json=body, timeout=30) as response:
            lines = response.iter_lines()
            while "Sentence number 0" not in next(lines):
                pass
        assert wait_for(lambda: metric(server, "fairguard_stream_disconnects_total") == 1)
        assert wait_for(lambda: stub.broken == 1)  # the upstream stream was closed, not read to its end
        out = client(server).chat.completions.create(model="m", messages=ASK)  # still serving
        assert out.choices[0].message.content.startswith("Sentence number 0")


# ----- failures, timeouts, metrics ------------------------------------------------------------------------

def test_fail_open_passes_are_logged_and_counted(tiny_causal_lm_dir, caplog):
    guard = make_guard([Fairness(), Raising()], strategy="score", fail="open")
    with serving(guard, model=str(tiny_causal_lm_dir)) as server, \
            caplog.at_level(logging.WARNING, logger="fairguard"):
        raw = client(server).moderations.with_raw_response.create(input=[FAIR, FAIR])
        rid = raw.headers["x-request-id"]
        out = raw.parse()
        assert [r.flagged for r in out.results] == [False, False]
        assert out.results[0].model_extra["fairguard"]["errors"][0]["plugin"] == "raising"
        assert any(rid in m and "fail-open pass" in m for m in caplog.messages)
        assert any(rid in m and "'raising'" in m for m in caplog.messages)
        assert metric(server, 'fairguard_fail_open_passes_total{endpoint="moderations"}') == 2
        assert metric(server, 'fairguard_plugin_failures_total{plugin="raising",stage="score",kind="error"}') == 2
        assert metric(server, 'fairguard_requests_total{endpoint="moderations",status="200"}') == 1
        assert metric(server, 'fairguard_stage_seconds_count{endpoint="moderations",stage="scoring"}') == 1
        assert metric(server, "fairguard_score_batch_pairs_count") >= 1


def test_the_request_deadline_covers_scoring(tiny_causal_lm_dir, caplog):
    guard = make_guard([Fairness(), Sleepy()], strategy="score", fail="closed", timeout_s=30)
    with serving(guard, model=str(tiny_causal_lm_dir), deadline_s=0.3) as server, \
            caplog.at_level(logging.WARNING, logger="fairguard"):
        raw = client(server).moderations.with_raw_response.create(input=FAIR)
        result = raw.parse().results[0]
        assert result.flagged is True
        assert {e["kind"] for e in result.model_extra["fairguard"]["errors"]} == {"timeout"}
        assert any(raw.headers["x-request-id"] in m and "timeout" in m for m in caplog.messages)


def test_concurrent_moderation_requests_all_answer(local):
    results, errors = [], []

    def ask(i):
        try:
            text = BIASED if i % 2 else FAIR
            results.append((i, client(local).moderations.create(input=text).results[0].flagged))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and sorted(results) == [(i, bool(i % 2)) for i in range(16)]


def test_a_reward_model_folder_from_the_config(tmp_path, tiny_causal_lm_dir):
    from onnx_export_data import tiny_reward_dir

    folder = tiny_reward_dir(tmp_path / "rm")
    config = tmp_path / "serve.yaml"
    config.write_text(f"reward_model: {folder}\nmodel: {tiny_causal_lm_dir}\n"
                      "guard:\n  strategy: rerank\n  n: 2\n  below: refuse\n")
    from fairguard.serve import build_serve_config

    app = create_app(build_serve_config(config, guard_overrides={"n": 3}))
    with BackgroundServer(app) as server:
        out = client(server).chat.completions.create(model=str(tiny_causal_lm_dir), messages=ASK, max_tokens=4)
        record = out.choices[0].model_extra["fairguard"]
        assert set(record["scores"]) == {"fairness", "relevance", "fluency", "total"}
        assert record["candidates"] == 3
        health = httpx.get(server.url + "/health").json()
        assert health["rewards"] == ["reward-model"] and health["below"] == "refuse"
        moderation = client(server).moderations.create(input=FAIR).results[0]
        assert set(moderation.categories.model_extra) == {"fairness", "relevance", "fluency"}
        assert metric(server, "fairguard_window_cache_windows_total") == 0
        long_text = " ".join([FAIR] * 40)  # read in several windows; the second time from the cache
        counts = []
        for _ in range(2):
            client(server).moderations.create(input=long_text)
            counts.append([metric(server, f'fairguard_window_cache_windows_total{{result="{result}"}}')
                           for result in ("hit", "miss")])
        (hits, misses), (hits_after, misses_after) = counts
        assert misses >= 1 and misses_after == misses and hits_after >= hits + misses


def test_the_example_config_and_client(tmp_path, tiny_causal_lm_dir):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from onnx_export_data import tiny_reward_dir

    from fairguard.serve import build_serve_config

    examples = Path(__file__).resolve().parents[1] / "examples" / "serve"
    config = build_serve_config(examples / "serve.yaml", reward_model=str(tiny_reward_dir(tmp_path / "rm")),
                                model=str(tiny_causal_lm_dir))
    with BackgroundServer(create_app(config)) as server:
        result = subprocess.run([sys.executable, str(examples / "client.py"), "--base-url", server.url + "/v1",
                                 "--max-tokens", "8"], capture_output=True, text=True, timeout=300,
                                env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    assert "CHAT [" in result.stdout and "STREAM:" in result.stdout and result.stdout.count("MODERATION") == 2
