"""The ASGI app of ``fairguard serve``: OpenAI-compatible endpoints with the guard in the middle.

``POST /v1/chat/completions`` and ``POST /v1/completions`` generate candidates (locally or
upstream), let the guard decide, and answer in OpenAI's shapes with the guard's record in the
extension field ``fairguard`` of each choice; ``stream: true`` releases the answer sentence by
sentence (:mod:`fairguard.serve.streaming`). ``POST /v1/moderations`` scores texts in OpenAI's
moderation shape. ``GET /health``, ``GET /metrics`` (Prometheus text), ``GET /v1/models``.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import re
import time
from typing import Any, AsyncGenerator, AsyncIterator, Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from fairguard.errors import FairguardError, GuardBlockedError
from fairguard.guard.guard import Guard
from fairguard.guard.result import GuardRecord, PluginFailure
from fairguard.serve.backends import BackendError, LocalBackend, UpstreamBackend
from fairguard.serve.config import ServeConfig
from fairguard.serve.metrics import ServeMetrics
from fairguard.serve.protocol import (
    MODERATION_ALIASES,
    MODERATION_MODEL,
    APIError,
    GenerationRequest,
    Limits,
    chunk,
    completion_response,
    error_body,
    moderation_result,
    new_id,
    parse_chat,
    parse_completion,
    parse_moderation,
    public_record,
    usage,
)
from fairguard.serve.streaming import SentenceGate, guarded_stream, stream_checker

logger = logging.getLogger("fairguard.serve")
DRAIN_LIMIT = 64 * 1024 * 1024  # an oversized body is read and dropped up to this size, so the 413 arrives
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def build_guard(config: ServeConfig) -> Guard:
    """The guard that ``config`` describes (rewards and filters loaded once, here)."""
    reward_options = {name: dict(options) for name, options in config.reward_options.items()}
    if config.reward_model is not None:
        reward_options.setdefault("reward-model", {})["path"] = config.reward_model
    rewards = config.rewards if config.rewards is not None else "reward-model"
    return Guard.from_names(rewards, config.filters or (), reward_options=reward_options,
                            filter_options=config.filter_options, **config.guard)


def build_backend(config: ServeConfig, guard: Guard) -> LocalBackend | UpstreamBackend:
    """The local model or the upstream client that ``config`` describes."""
    if config.upstream:
        return UpstreamBackend(config.upstream, config.upstream_model, config.upstream_api_key,
                               config.upstream_timeout_s, config.upstream_candidates)
    return LocalBackend(config.model, guard.filters, device=config.device)


class ServeState:
    """What the endpoints share: the config, the guard (and its scoring-only variants), the
    backend, the limits and the metrics."""

    def __init__(self, config: ServeConfig, guard: Guard, backend: Any, metrics: ServeMetrics | None = None):
        self.config = config
        self.guard = guard
        self.backend = backend
        self.metrics = metrics or ServeMetrics()
        guard.use_batching(window_ms=config.batch_window_ms, max_batch=config.max_batch,
                           observer=self.metrics.observe_batch)
        self.checker = stream_checker(guard)
        self.moderation_guard = guard.with_options(strategy="score", below="flag",
                                                   thresholds=self._moderation_thresholds())
        self.limits = Limits(config.max_inputs, guard.config.max_chars, config.max_n, config.max_tokens,
                             config.default_max_tokens)
        self.model_names = config.model_names()

    def _moderation_thresholds(self) -> dict[str, float]:
        """``moderation_thresholds``, or the guard's without ``relevance``: a moderation input
        answers no real question unless the request names one."""
        if self.config.moderation_thresholds is not None:
            from fairguard.guard.config import parse_thresholds

            return parse_thresholds(self.config.moderation_thresholds)
        return {name: value for name, value in self.guard.thresholds.items() if name != "relevance"}

    def check_model(self, model: str) -> None:
        if self.model_names and model not in self.model_names:
            raise APIError(404, f"The model '{model}' does not exist on this server; it serves "
                                f"{', '.join(self.model_names)}", param="model", code="model_not_found")

    def backend_failed(self, exc: BackendError, rid: str) -> None:
        self.metrics.backend_failures.inc(backend=exc.backend, kind=exc.kind)
        logger.warning("request %s: %s generator %s: %s (fail=%r)", rid, exc.backend, exc.kind, exc.message,
                       self.guard.config.fail)

    def refusal(self, exc: BackendError, started: float) -> GuardRecord:
        """The record of an answer the generator could not give, under ``fail="closed"``."""
        cfg = self.guard.config
        scores: dict[str, float | None] = {head: None for head in (*self.guard.heads, "total")}
        total_ms = (time.perf_counter() - started) * 1000.0
        return GuardRecord(text=cfg.refusal_text, scores=scores, decision="block", action="refused",
                           candidates=0, errors=[PluginFailure(exc.backend, "generate", exc.kind, exc.message)],
                           fail_policy=cfg.fail, strategy=cfg.strategy,
                           notes=["no candidate: the generator failed, and fail='closed' answers with the "
                                  "refusal text"],
                           latency={"generation_ms": total_ms, "scoring_ms": 0.0, "rewrite_ms": 0.0,
                                    "guard_ms": 0.0, "total_ms": total_ms})

    def deadline(self, started: float) -> float | None:
        return None if self.config.deadline_s is None else started + self.config.deadline_s


# ----- request plumbing ---------------------------------------------------------------------------

def _error(exc: APIError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status)


def _authorize(request: Request, key: str | None) -> None:
    if key is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise APIError(401, "You didn't provide an API key. Send it as the header 'Authorization: Bearer KEY'.",
                       code="invalid_api_key")
    if not hmac.compare_digest(given.strip().encode(), key.encode()):
        raise APIError(401, "Incorrect API key provided.", code="invalid_api_key")


async def _json(request: Request, limit: int) -> Any:
    """The request body as JSON; 413 past ``limit`` bytes, 400 when it is not JSON."""
    declared = request.headers.get("content-length", "")
    too_big = APIError(413, f"the request body is larger than this server's limit of {limit:,} bytes",
                       code="request_too_large")
    chunks, size = [], 0
    async for piece in request.stream():
        size += len(piece)
        if size > DRAIN_LIMIT:
            break
        if size <= limit:
            chunks.append(piece)
    if size > limit or (declared.isdigit() and int(declared) > limit):
        raise too_big
    raw = b"".join(chunks)
    if not raw.strip():
        raise APIError(400, "the request body is empty; send a JSON object")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise APIError(400, f"We could not parse the JSON body of your request ({exc}); send valid JSON") from None
    except RecursionError:
        raise APIError(400, "the JSON body of your request is nested too deeply to parse; send a flat "
                            "request object") from None


def _request_id(request: Request) -> str:
    given = request.headers.get("x-request-id", "")
    return given if REQUEST_ID.match(given) else new_id()


Handler = Callable[[Request, str], Awaitable[Response]]


def _endpoint(state: ServeState, name: str, handler: Handler,
              auth: bool = True) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        started = time.perf_counter()
        rid = _request_id(request)
        try:
            if auth:
                _authorize(request, state.config.api_key)
            response = await handler(request, rid)
        except APIError as exc:
            response = _error(exc)
        except GuardBlockedError as exc:
            state.metrics.observe_records(name, exc.records, state.guard.config.fail)
            response = _error(APIError(400, str(exc), "content_filter", code="content_filter"))
        except FairguardError as exc:
            response = _error(APIError(400, str(exc)))
        except Exception:  # noqa: BLE001 - answered as a 500; the traceback goes to the log
            logger.exception("request %s: %s failed", rid, name)
            response = _error(APIError(500, f"internal error (request {rid}); see the server log", "server_error"))
        if response.status_code >= 400:
            logger.info("request %s: %s answered %d", rid, name, response.status_code)
        response.headers["x-request-id"] = rid
        state.metrics.requests.inc(endpoint=name, status=str(response.status_code))
        state.metrics.request_seconds.observe(time.perf_counter() - started, endpoint=name)
        return response
    return endpoint


def _sse(data: Any) -> bytes:
    return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


# ----- generation endpoints -----------------------------------------------------------------------

def _finish_reason(record: GuardRecord, texts: list[str], reasons: list[str]) -> str:
    if record.action == "refused":
        return "content_filter"
    for text, reason in zip(texts, reasons):
        if text == record.text:
            return reason
    return "stop"


async def _complete(state: ServeState, endpoint: str, request: GenerationRequest, rid: str) -> dict[str, Any]:
    cfg = state.guard.config
    started = time.perf_counter()
    deadline = state.deadline(started)
    keep = request.n
    n_generate = keep if cfg.strategy == "score" or request.sampling.temperature == 0 else max(cfg.n, keep)
    try:
        generated = await state.backend.generate(request, n_generate, deadline)
    except BackendError as exc:
        state.backend_failed(exc, rid)
        if cfg.fail == "open":
            raise APIError(504 if exc.kind == "timeout" else 502, f"the {exc.backend} generator failed: "
                           f"{exc.message}", "server_error", code=f"{exc.backend}_{exc.kind}") from None
        records = [[state.refusal(exc, started) for _ in range(keep)] for _ in request.inputs]
        texts: list[list[str]] = [[] for _ in request.inputs]
        reasons: list[list[str]] = [[] for _ in request.inputs]
        prompt_tokens = completion_tokens = 0
    else:
        records = await state.guard.adecide(
            request.prompts, generated.texts, keep,
            regenerate=state.backend.regenerator(request, n_generate, deadline),
            processors=state.backend.processors, generation_ms=generated.generation_ms, started=started,
            notes=generated.notes or None, deadline_s=state.config.deadline_s, request_id=rid)
        texts, reasons = generated.texts, generated.finish_reasons
        prompt_tokens, completion_tokens = generated.prompt_tokens, generated.completion_tokens
    state.metrics.observe_records(endpoint, [r for row in records for r in row], cfg.fail)
    choices = [(record.text, _finish_reason(record, texts[g], reasons[g]),
                public_record(record, state.config.expose_original))
               for g, row in enumerate(records) for record in row]
    return completion_response(request.kind, rid, request.model, choices, usage(prompt_tokens, completion_tokens),
                               refusal=cfg.refusal_text)


async def _primed(pieces: AsyncGenerator[Any, None]) -> AsyncGenerator[Any, None]:
    """Start a stream before answering, so that an upstream that refuses the request (4xx) gets
    an HTTP error, not a stream; a generator failure goes on to the fail policy inside the stream."""
    try:
        first = await pieces.__anext__()
    except StopAsyncIteration:
        first = None
    except BackendError as exc:
        first = exc

    async def replay() -> AsyncGenerator[Any, None]:
        try:
            if isinstance(first, BackendError):
                raise first
            if first is not None:
                yield first
            async for piece in pieces:
                yield piece
        finally:
            await pieces.aclose()
    return replay()


async def _stream(state: ServeState, endpoint: str, request: GenerationRequest, rid: str) -> StreamingResponse:
    cfg = state.guard.config
    started = time.perf_counter()
    pieces = await _primed(state.backend.stream(request, state.deadline(started)))
    gate = SentenceGate(state.guard, request.prompts[0], checker=state.checker, request_id=rid,
                        deadline_s=state.config.deadline_s, started=started)
    kind, model, created = request.kind, request.model, int(time.time())

    async def events() -> AsyncIterator[bytes]:
        finished = False
        try:
            if kind == "chat":
                yield _sse(chunk(kind, rid, model, created, text="", first=True))
            async for release in guarded_stream(gate, pieces):
                if release.text:
                    yield _sse(chunk(kind, rid, model, created, text=release.text))
                if release.record is None:
                    continue
                state.metrics.observe_records(endpoint, [release.record], cfg.fail)
                if release.error is not None:
                    kind_of = "content_filter" if release.code == "content_filter" else "server_error"
                    yield _sse(error_body(release.error, kind_of, code=release.code))
                else:
                    yield _sse(chunk(kind, rid, model, created, finish=release.finish_reason,
                                     record=public_record(release.record, state.config.expose_original)))
                    if request.include_usage and release.end is not None:
                        yield _sse(chunk(kind, rid, model, created,
                                         use=usage(release.end.prompt_tokens, release.end.completion_tokens)))
            yield b"data: [DONE]\n\n"
            finished = True
        except Exception:  # noqa: BLE001 - the status line is gone: end the stream with an error event
            logger.exception("request %s: the stream failed", rid)
            yield _sse(error_body(f"internal error (request {rid}); see the server log", "server_error"))
            yield b"data: [DONE]\n\n"
            finished = True
        finally:
            if not finished:
                state.metrics.stream_disconnects.inc()
                logger.info("request %s: the client left the stream after %d checked sentence(s); generation "
                            "was stopped", rid, gate.state.sentences)
            with contextlib.suppress(Exception):
                await pieces.aclose()

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"cache-control": "no-cache", "x-accel-buffering": "no"})


def create_app(config: ServeConfig, *, guard: Guard | None = None, backend: Any = None,
               metrics: ServeMetrics | None = None) -> Starlette:
    """The ASGI app for ``config``; ``guard`` and ``backend`` replace the ones the config would
    build (e.g. a guard with plugin objects made in code). Models load here, not per request."""
    own_guard = guard is None
    guard = guard if guard is not None else build_guard(config)
    backend = backend if backend is not None else build_backend(config, guard)
    state = ServeState(config, guard, backend, metrics)

    def generation_endpoint(kind: str, parse: Callable[..., GenerationRequest]
                            ) -> Callable[[Request, str], Awaitable[Response]]:
        """``/v1/chat/completions`` (``kind`` "chat") or ``/v1/completions``: parse, check the
        model, answer whole or streamed."""
        async def endpoint(request: Request, rid: str) -> Response:
            parsed = parse(await _json(request, config.max_body_bytes), state.limits)
            state.check_model(parsed.model)
            if parsed.stream:
                return await _stream(state, kind, parsed, rid)
            return JSONResponse(await _complete(state, kind, parsed, rid))
        return endpoint

    chat = generation_endpoint("chat", parse_chat)
    completions = generation_endpoint("completions", parse_completion)

    async def moderations(request: Request, rid: str) -> Response:
        parsed = parse_moderation(await _json(request, config.max_body_bytes), state.limits,
                                  config.moderation_prompt)
        known = (MODERATION_MODEL, *MODERATION_ALIASES, *state.model_names)
        if parsed.model is not None and parsed.model not in known:
            raise APIError(404, f"The model '{parsed.model}' does not exist on this server; moderations use "
                                f"{MODERATION_MODEL}", param="model", code="model_not_found")
        guard_ = state.moderation_guard
        records = await guard_.ascore_batch(parsed.prompts, parsed.texts, deadline_s=config.deadline_s,
                                            request_id=rid)
        state.metrics.observe_records("moderations", records, guard_.config.fail)
        results = [moderation_result(r, guard_.thresholds, config.expose_original) for r in records]
        return JSONResponse({"id": f"modr-{rid}", "model": MODERATION_MODEL, "results": results})

    async def models(request: Request, rid: str) -> Response:
        names = state.model_names or ([config.upstream_model] if config.upstream_model else [])
        data = [{"id": name, "object": "model", "created": 0, "owned_by": "fairguard"}
                for name in [*names, MODERATION_MODEL]]
        return JSONResponse({"object": "list", "data": data})

    async def health(request: Request, rid: str) -> Response:
        cfg = guard.config
        return JSONResponse({"status": "ok", "backend": config.backend, "models": state.model_names,
                             "rewards": [r.name for r in guard.rewards], "filters": [f.name for f in guard.filters],
                             "strategy": cfg.strategy, "n": cfg.n, "fail": cfg.fail, "below": cfg.below,
                             "thresholds": guard.thresholds})

    async def metrics_text(request: Request, rid: str) -> Response:
        return PlainTextResponse(state.metrics.render(state.guard.rewards),
                                 media_type="text/plain; version=0.0.4")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        logger.info("fairguard serve: %s backend, rewards %s, strategy %s, fail %s", config.backend,
                    [r.name for r in guard.rewards], guard.config.strategy, guard.config.fail)
        try:
            yield
        finally:
            await backend.aclose()
            if own_guard:
                guard.batcher.close()

    routes = [
        Route("/v1/chat/completions", _endpoint(state, "chat", chat), methods=["POST"]),
        Route("/v1/completions", _endpoint(state, "completions", completions), methods=["POST"]),
        Route("/v1/moderations", _endpoint(state, "moderations", moderations), methods=["POST"]),
        Route("/v1/models", _endpoint(state, "models", models), methods=["GET"]),
        Route("/health", _endpoint(state, "health", health, auth=False), methods=["GET"]),
        Route("/metrics", _endpoint(state, "metrics", metrics_text), methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.fairguard = state
    return app
