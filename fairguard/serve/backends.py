"""Where the server's candidates come from: a local Hugging Face causal LM, or an upstream
OpenAI-compatible server (vLLM, llama.cpp's server, TGI, Ollama, ...).

Both give ``n`` candidates per input (:meth:`generate`) or one streamed answer (:meth:`stream`,
text pieces then a :class:`StreamEnd`). A failure of the generator itself (the upstream is down,
answers 5xx or garbage, or runs past its time) is a :class:`BackendError`, which the server
hands to the guard's fail policy; an upstream 4xx (the client's request was wrong) is passed
back to the client as it came.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Sequence

from fairguard.errors import PluginError
from fairguard.serve.protocol import APIError, GenerationRequest, Sampling

logger = logging.getLogger("fairguard.serve")

# used when a local tokenizer has no chat template of its own (tiny test models)
PLAIN_CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)


class BackendError(Exception):
    """The generator failed: ``kind`` is ``error`` or ``timeout``."""

    def __init__(self, backend: str, kind: str, message: str):
        super().__init__(message)
        self.backend, self.kind, self.message = backend, kind, message


@dataclass
class Generated:
    """Candidates per input with their finish reasons, and the tokens spent."""

    texts: list[list[str]]
    finish_reasons: list[list[str]]
    prompt_tokens: int = 0
    completion_tokens: int = 0
    generation_ms: float = 0.0
    notes: list[list[str]] = field(default_factory=list)


@dataclass
class StreamEnd:
    """The last item of a stream: why generation stopped, and the tokens spent (when known)."""

    finish_reason: str = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """``text`` up to its first stop sequence, and whether one was found."""
    cuts = [i for i in (text.find(s) for s in stops) if i >= 0]
    return (text[:min(cuts)], True) if cuts else (text, False)


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


class LocalBackend:
    """A causal LM loaded in this process (an embedded name, a local folder or a hub id).

    It generates one request at a time (a lock around ``generate``); ``processors`` holds each
    filter's logits processor, so the guard's ``rewrite`` strategy can generate again with it.
    """

    kind = "local"

    def __init__(self, model: str, filters: Sequence[Any] = (), device: str | None = None,
                 loaded: tuple[Any, Any] | None = None):
        from fairguard.models import load_causal_lm

        self.name = model
        self.model, self.tokenizer = loaded if loaded is not None else load_causal_lm(model)
        if device is not None:
            self.model.to(device)
        if getattr(self.tokenizer, "chat_template", None) is None:
            logger.info("the tokenizer of %s has no chat template; chats are written as 'role: content' "
                        "lines", model)
            self.tokenizer.chat_template = PLAIN_CHAT_TEMPLATE
        self.processors: list[Any] = []
        for flt in filters:
            try:
                self.processors.append(flt.logits_processor(self.tokenizer))
            except Exception as exc:  # noqa: BLE001 - setup failure: say so at start, not per request
                raise PluginError(flt.name, f"logits_processor() raised {type(exc).__name__}: {exc}") from exc
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(4, thread_name_prefix="fairguard-generate")
        self.stopped_early = 0  # streamed generations stopped before their end (client gone, stop string)
        eos = self.model.generation_config.eos_token_id
        self._eos = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])

    def _encode(self, item: Any) -> Any:
        if isinstance(item, str):
            return self.tokenizer(item, return_tensors="pt")
        from fairguard.generation import chat_text

        text = chat_text(self.tokenizer, item)
        return self.tokenizer(text, return_tensors="pt", add_special_tokens=False)

    def generate_sync(self, item: Any, n: int, sampling: Sampling, deadline: float | None = None,
                      logits_processor: Any = None, streamer: Any = None,
                      cancel: threading.Event | None = None) -> tuple[list[str], list[str], int, int]:
        """``(texts, finish_reasons, prompt_tokens, completion_tokens)`` of ``n`` samples for one
        input (a chat or a prompt string). Blocking; stops early at the deadline or on ``cancel``."""
        import torch
        from transformers import LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

        class _Cancelled(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
                return bool(cancel is not None and cancel.is_set())

        encoded = self._encode(item)
        kwargs: dict[str, Any] = {"max_new_tokens": sampling.max_tokens, "num_return_sequences": n,
                                  "pad_token_id": self.tokenizer.pad_token_id,
                                  "stopping_criteria": StoppingCriteriaList([_Cancelled()])}
        if sampling.temperature > 0:
            kwargs.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if deadline is not None:
            kwargs["max_time"] = max(deadline - time.perf_counter(), 0.01)
        if logits_processor is not None:
            chain = logits_processor if isinstance(logits_processor, (list, tuple)) else [logits_processor]
            kwargs["logits_processor"] = LogitsProcessorList(chain)
        if streamer is not None:
            kwargs["streamer"] = streamer
        prompt_len = int(encoded["input_ids"].shape[1])
        with self._lock:
            if sampling.seed is not None:
                torch.manual_seed(sampling.seed)
            with torch.no_grad():
                out = self.model.generate(**encoded.to(self.model.device), **kwargs)
        texts, reasons, spent = [], [], 0
        for row in out[:, prompt_len:].tolist():
            ended = next((i for i, t in enumerate(row) if t in self._eos), None)
            ids = row if ended is None else row[:ended]
            spent += len(ids) + (0 if ended is None else 1)
            text, stopped = cut_at_stop(self.tokenizer.decode(ids, skip_special_tokens=True), sampling.stop)
            texts.append(text.strip() if isinstance(item, list) else text)
            reasons.append("stop" if ended is not None or stopped or len(ids) < sampling.max_tokens else "length")
        return texts, reasons, prompt_len, spent

    async def generate(self, request: GenerationRequest, n: int, deadline: float | None) -> Generated:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        result = Generated([], [])
        for item in request.inputs:
            try:
                texts, reasons, p_tok, c_tok = await loop.run_in_executor(
                    self._pool, functools.partial(self.generate_sync, item, n, request.sampling, deadline))
            except Exception as exc:  # noqa: BLE001 - a generator failure: the fail policy decides
                raise BackendError(self.kind, "error", f"generation raised {type(exc).__name__}: {exc}") from exc
            result.texts.append(texts)
            result.finish_reasons.append(reasons)
            result.prompt_tokens += p_tok
            result.completion_tokens += c_tok
        result.generation_ms = _ms(started)
        return result

    def regenerator(self, request: GenerationRequest, n: int,
                    deadline: float | None) -> Callable[[int, list[int]], list[list[str]]]:
        """The guard's ``regenerate(filter_index, group_indices)`` for this request."""
        def regenerate(index: int, groups: list[int]) -> list[list[str]]:
            return [self.generate_sync(request.inputs[g], n, request.sampling, deadline,
                                       logits_processor=self.processors[index])[0] for g in groups]
        return regenerate

    async def stream(self, request: GenerationRequest, deadline: float | None) -> AsyncIterator[Any]:
        """Text pieces of one sample as they are generated, then a :class:`StreamEnd`."""
        from transformers import TextStreamer

        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        cancel = threading.Event()

        def put(item: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is gone: nobody is listening any more
                cancel.set()

        class _Pieces(TextStreamer):
            def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
                if text:
                    put(text)

        def work() -> None:
            try:
                streamer = _Pieces(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
                _, reasons, p_tok, c_tok = self.generate_sync(request.inputs[0], 1, request.sampling, deadline,
                                                              streamer=streamer, cancel=cancel)
                if cancel.is_set():
                    self.stopped_early += 1
                put(StreamEnd(reasons[0], p_tok, c_tok))
            except BaseException as exc:  # noqa: BLE001 - handed to the stream's reader
                put(BackendError(self.kind, "error", f"generation raised {type(exc).__name__}: {exc}"))

        loop.run_in_executor(self._pool, work)
        try:
            sent = ""
            while True:
                item = await queue.get()
                if isinstance(item, BackendError):
                    raise item
                if isinstance(item, StreamEnd):
                    yield item
                    return
                head, stopped = cut_at_stop(sent + item, request.sampling.stop)
                if len(head) > len(sent):
                    yield head[len(sent):]
                    sent = head
                if stopped:
                    yield StreamEnd("stop")
                    return
        finally:
            cancel.set()  # a client that went away stops the generation at its next token

    async def aclose(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class UpstreamBackend:
    """An OpenAI-compatible server at ``base_url`` (e.g. ``http://127.0.0.1:8000/v1``)."""

    kind = "upstream"

    def __init__(self, base_url: str, model: str | None = None, api_key: str | None = None,
                 timeout_s: float = 60.0, candidates: str = "one-call"):
        import httpx

        self.name = model
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.candidates = candidates
        self.processors: list[Any] = []
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.AsyncClient(base_url=self.base_url + "/", headers=headers, timeout=timeout_s)

    def _timeout(self, deadline: float | None) -> float:
        if deadline is None:
            return self.timeout_s
        left = deadline - time.perf_counter()
        if left <= 0:
            raise BackendError(self.kind, "timeout", "the request deadline passed before the upstream was asked")
        return min(self.timeout_s, left)

    def _body(self, request: GenerationRequest, n: int, stream: bool) -> dict[str, Any]:
        body = {k: v for k, v in request.body.items() if k not in ("stream", "stream_options", "n")}
        body["model"] = self.name or request.model
        body["n"] = n
        body["stream"] = stream
        if stream and request.include_usage:
            body["stream_options"] = {"include_usage": True}
        return body

    def _path(self, request: GenerationRequest) -> str:
        return "chat/completions" if request.kind == "chat" else "completions"

    async def _fail_on_status(self, response: Any) -> None:
        if response.status_code < 400:
            return
        raw = await response.aread()
        try:
            error = json.loads(raw)["error"]
            message = str(error.get("message") or error) if isinstance(error, dict) else str(error)
        except (ValueError, KeyError, TypeError):
            error, message = None, raw[:200].decode("utf-8", "replace")
        if 400 <= response.status_code < 500 and response.status_code not in (401, 403, 408, 429):
            # the client's request was wrong: pass the upstream's answer back as it came
            if isinstance(error, dict):
                raise APIError(response.status_code, f"upstream: {message}", str(error.get("type") or
                               "invalid_request_error"), error.get("param"), error.get("code"))
            raise APIError(response.status_code, f"upstream: {message}")
        raise BackendError(self.kind, "error", f"the upstream answered HTTP {response.status_code}: {message}")

    async def _post(self, request: GenerationRequest, n: int, deadline: float | None) -> dict[str, Any]:
        import httpx

        try:
            response = await self.client.post(self._path(request), json=self._body(request, n, False),
                                              timeout=self._timeout(deadline))
            await self._fail_on_status(response)
            data = response.json()
        except httpx.TimeoutException as exc:
            raise BackendError(self.kind, "timeout", f"the upstream did not answer in time ({type(exc).__name__})") \
                from exc
        except httpx.HTTPError as exc:
            raise BackendError(self.kind, "error", f"the upstream could not be reached: {type(exc).__name__}: "
                                                   f"{exc}") from exc
        except ValueError as exc:
            raise BackendError(self.kind, "error", "the upstream's answer is not JSON") from exc
        if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
            raise BackendError(self.kind, "error", "the upstream's answer has no 'choices' list")
        return data

    def _choices(self, request: GenerationRequest, data: dict[str, Any], n: int) -> tuple[list[list[str]],
                                                                                        list[list[str]]]:
        """Choices by input; OpenAI numbers a list of prompts' choices input by input, n each."""
        inputs = len(request.inputs)
        texts: list[list[str]] = [[] for _ in range(inputs)]
        reasons: list[list[str]] = [[] for _ in range(inputs)]
        for position, choice in enumerate(data["choices"]):
            if not isinstance(choice, dict):
                raise BackendError(self.kind, "error", "the upstream's answer has a malformed choice")
            index = choice.get("index", position)
            index = index if isinstance(index, int) and 0 <= index < inputs * n else position
            if request.kind == "chat":
                text = (choice.get("message") or {}).get("content") or ""
            else:
                text = choice.get("text") or ""
            if not isinstance(text, str):
                raise BackendError(self.kind, "error", "the upstream's answer has a choice without text")
            texts[min(index // n, inputs - 1)].append(text)
            reasons[min(index // n, inputs - 1)].append(str(choice.get("finish_reason") or "stop"))
        return texts, reasons

    async def generate(self, request: GenerationRequest, n: int, deadline: float | None) -> Generated:
        started = time.perf_counter()
        one_call = self.candidates == "one-call" or n == 1
        calls = [self._post(request, n, deadline)] if one_call else \
            [self._post(request, 1, deadline) for _ in range(n)]
        answers = await asyncio.gather(*calls)
        result = Generated([[] for _ in request.inputs], [[] for _ in request.inputs],
                           notes=[[] for _ in request.inputs])
        for data in answers:
            texts, reasons = self._choices(request, data, n if one_call else 1)
            for i in range(len(request.inputs)):
                result.texts[i].extend(texts[i])
                result.finish_reasons[i].extend(reasons[i])
            usage = data.get("usage")
            use = usage if isinstance(usage, dict) else {}
            result.prompt_tokens = int(use.get("prompt_tokens") or 0)
            result.completion_tokens += int(use.get("completion_tokens") or 0)
        for i, got in enumerate(result.texts):
            if not got:
                raise BackendError(self.kind, "error", f"the upstream returned no choice for input {i}")
            if len(got) < n:
                result.notes[i].append(f"the upstream returned {len(got)} of the {n} candidates asked for "
                                       "(set upstream_candidates: parallel for servers that allow one "
                                       "choice per call)")
        result.generation_ms = _ms(started)
        return result

    def regenerator(self, request: GenerationRequest, n: int, deadline: float | None) -> None:
        return None  # an upstream takes no logits processor; only text-rewrite filters apply

    async def stream(self, request: GenerationRequest, deadline: float | None) -> AsyncIterator[Any]:
        """Text pieces of the upstream's streamed answer, then a :class:`StreamEnd`."""
        import httpx

        end = StreamEnd()
        try:
            async with self.client.stream("POST", self._path(request), json=self._body(request, 1, True),
                                          timeout=self._timeout(deadline)) as response:
                await self._fail_on_status(response)
                async for line in response.aiter_lines():
                    if deadline is not None and time.perf_counter() > deadline:
                        raise BackendError(self.kind, "timeout", "the request deadline passed while the "
                                                                 "upstream was streaming")
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    try:
                        event = json.loads(data)
                    except ValueError as exc:
                        raise BackendError(self.kind, "error", "the upstream streamed a chunk that is not "
                                                               "JSON") from exc
                    if not isinstance(event, dict) or "error" in event:
                        raise BackendError(self.kind, "error", f"the upstream's stream failed: "
                                                               f"{str(event)[:200]}")
                    for choice in event.get("choices") or []:
                        piece = ((choice.get("delta") or {}).get("content") if request.kind == "chat"
                                 else choice.get("text"))
                        if piece:
                            yield piece
                        if choice.get("finish_reason"):
                            end.finish_reason = str(choice["finish_reason"])
                    use = event.get("usage")
                    if isinstance(use, dict):
                        end.prompt_tokens = int(use.get("prompt_tokens") or 0)
                        end.completion_tokens = int(use.get("completion_tokens") or 0)
        except httpx.TimeoutException as exc:
            raise BackendError(self.kind, "timeout", f"the upstream did not answer in time "
                                                     f"({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise BackendError(self.kind, "error", f"the upstream could not be reached: {type(exc).__name__}: "
                                                   f"{exc}") from exc
        yield end

    async def aclose(self) -> None:
        await self.client.aclose()
