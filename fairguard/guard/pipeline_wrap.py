"""Wrapping a transformers ``text-generation`` pipeline so every output passes the guard."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

from fairguard.errors import ConfigError, InputError, PluginError
from fairguard.guard.batching import MicroBatcher
from fairguard.guard.candidates import Regenerate
from fairguard.guard.config import GuardConfig
from fairguard.guard.result import GuardRecord
from fairguard.protocols import Filter


class Decider(Protocol):
    """What the wrapper needs of a guard (:class:`~fairguard.Guard` is one): its public
    ``decide``/``adecide``, config, filters and micro-batcher. The wrapper does not import the
    guard module, so the guard can import the wrapper."""

    config: GuardConfig
    filters: tuple[Filter, ...]

    @property
    def batcher(self) -> MicroBatcher: ...

    def decide(self, prompts: list[str], groups: list[list[str]], keep: int = 1, *,
               regenerate: Regenerate | None = None, processors: Sequence[Any] = (),
               generation_ms: float = 0.0, started: float | None = None) -> list[list[GuardRecord]]: ...

    async def adecide(self, prompts: list[str], groups: list[list[str]], keep: int = 1,
                      **options: Any) -> list[list[GuardRecord]]: ...

# transformers.pipelines.text_generation.ReturnType values (not imported: keeps this light)
_TENSORS, _NEW_TEXT, _FULL_TEXT = 0, 1, 2


def _chat_error(where: str, message: str) -> InputError:
    return InputError(f"{where}: {message}; a chat is a list of {{'role': str, 'content': str}} messages")


def _check_chat(chat: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(chat, (list, tuple)) or not chat:
        raise _chat_error(where, "empty or not a list")
    for i, message in enumerate(chat):
        if not isinstance(message, dict):
            raise _chat_error(where, f"message {i} is {type(message).__name__}")
        if not isinstance(message.get("role"), str) or not isinstance(message.get("content"), str):
            raise _chat_error(where, f"message {i} needs a string 'role' and a string 'content'")
    return list(chat)


def chat_prompt(chat: list[dict[str, Any]]) -> str:
    """The text a reward sees as the prompt of a chat: the last user message."""
    for message in reversed(chat):
        if message["role"] == "user":
            return message["content"]
    return chat[-1]["content"]


def normalise_inputs(text_inputs: Any) -> tuple[list[Any], bool]:
    """``(items, single)``: the pipeline inputs as a list of prompts or chats, and whether the
    caller passed one prompt/chat (output: a list of dicts) or a batch (a list of lists)."""
    if isinstance(text_inputs, str):
        return [text_inputs], True
    if isinstance(text_inputs, (list, tuple)):
        if not text_inputs:
            raise InputError("the input is an empty list; give a prompt, a chat, or a list of them")
        first = text_inputs[0]
        if isinstance(first, dict):
            return [_check_chat(text_inputs, "chat")], True
        if all(isinstance(x, str) for x in text_inputs):
            return list(text_inputs), False
        if all(isinstance(x, (list, tuple)) for x in text_inputs):
            return [_check_chat(chat, f"chat {i}") for i, chat in enumerate(text_inputs)], False
        kinds = sorted({type(x).__name__ for x in text_inputs})
        raise InputError(f"a batch must be all prompt strings or all chats, got a mix of {', '.join(kinds)}")
    raise InputError(f"a guarded pipeline takes a prompt string, a chat (list of messages), or a list "
                     f"of either; got {type(text_inputs).__name__} (generators and datasets: pass a list)")


@dataclass
class _Generated:
    """One guarded pipeline call after generation, before the guard decides."""

    items: list[Any]
    single: bool
    full: bool
    keep: int
    prompts: list[str]
    prefills: list[str | None]
    groups: list[list[str]]
    regenerate: Callable[[int, list[int]], list[list[str]]]
    generation_ms: float
    started: float


class GuardedPipeline:
    """A text-generation pipeline whose outputs pass through a :class:`~fairguard.Guard`.

    Called like the pipeline (same inputs and keyword arguments) it returns the same shape: a
    list of ``{"generated_text": ...}`` dicts for one prompt or chat, a list of such lists for a
    batch, each dict with an added ``"fairguard"`` record (scores, decision, action, candidates,
    errors, latency). ``num_return_sequences=k`` returns the best ``k`` (``rerank``/``rewrite``
    generate ``max(n, k)`` candidates); ``return_full_text`` is honoured; ``return_tensors`` is
    not supported (the guard needs text).
    """

    def __init__(self, guard: Decider, pipe: Any):
        if not callable(pipe) or getattr(pipe, "tokenizer", None) is None:
            raise ConfigError("guard.wrap() needs a transformers text-generation pipeline with a tokenizer, "
                              f"got {type(pipe).__name__}")
        task = getattr(pipe, "task", "text-generation")
        if task != "text-generation":
            raise ConfigError(f"guard.wrap() needs a 'text-generation' pipeline, got task {task!r}")
        self.guard = guard
        self.pipeline = pipe
        self.processors: list[Any] = []
        for flt in guard.filters:
            try:
                processor = flt.logits_processor(pipe.tokenizer)
            except Exception as exc:  # noqa: BLE001 - setup failure: tell the user now, not per call
                raise PluginError(flt.name, f"logits_processor() raised {type(exc).__name__}: {exc}") from exc
            self.processors.append(processor)

    def __getattr__(self, name: str) -> Any:  # tokenizer, model, task, ... of the wrapped pipeline
        if name in ("pipeline", "guard", "processors"):
            raise AttributeError(name)
        return getattr(self.pipeline, name)

    def __repr__(self) -> str:
        return f"GuardedPipeline({self.guard!r}, model={type(getattr(self.pipeline, 'model', None)).__name__})"

    # -- keyword handling ---------------------------------------------------------------------

    def _full_text(self, kwargs: dict[str, Any]) -> bool:
        if kwargs.pop("return_tensors", None):
            raise InputError("a guarded pipeline returns text; return_tensors=True is not supported")
        return_type = kwargs.pop("return_type", None)
        return_full_text = kwargs.pop("return_full_text", None)
        return_text = kwargs.pop("return_text", None)
        if return_text is False:
            raise InputError("a guarded pipeline returns text; return_text=False is not supported")
        if return_type is None and return_full_text is not None:
            return bool(return_full_text)
        if return_type is None:
            return_type = getattr(self.pipeline, "_postprocess_params", {}).get("return_type", _FULL_TEXT)
        value = getattr(return_type, "value", return_type)  # a ReturnType enum or its int
        if value == _TENSORS:
            raise InputError("a guarded pipeline returns text; return_type=TENSORS is not supported")
        return value == _FULL_TEXT

    def _count(self, kwargs: dict[str, Any]) -> int:
        k = kwargs.pop("num_return_sequences", None)
        if k is None:
            k = getattr(self.pipeline, "_forward_params", {}).get("num_return_sequences")
        if k is None:
            k = getattr(getattr(self.pipeline, "generation_config", None), "num_return_sequences", None) or 1
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise InputError(f"num_return_sequences must be a positive integer, got {k!r}")
        return k

    # -- the call -------------------------------------------------------------------------------

    def __call__(self, text_inputs: Any, **kwargs: Any) -> list[Any]:
        run = self._generate(text_inputs, kwargs)
        records = self.guard.decide(run.prompts, run.groups, run.keep, regenerate=run.regenerate,
                                    processors=self.processors, generation_ms=run.generation_ms,
                                    started=run.started)
        return self._assemble(run, records)

    def _generate(self, text_inputs: Any, kwargs: dict[str, Any]) -> "_Generated":
        """Check the inputs and options, and generate every prompt's candidates in one call."""
        started = time.perf_counter()
        guard = self.guard
        cfg = guard.config
        items, single = normalise_inputs(text_inputs)
        kwargs = dict(kwargs)
        full = self._full_text(kwargs)
        keep = self._count(kwargs)
        n_generate = keep if cfg.strategy == "score" else max(cfg.n, keep)
        gen = dict(kwargs, return_full_text=False, num_return_sequences=n_generate)
        if cfg.strategy != "score" and n_generate > 1:
            if kwargs.get("do_sample") is False:
                raise InputError(f"strategy {cfg.strategy!r} samples {n_generate} candidates and needs "
                                 "do_sample=True; drop do_sample=False or use n=1")
            gen["do_sample"] = True

        prompts: list[str] = []
        prefills: list[str | None] = []
        for i, item in enumerate(items):
            if isinstance(item, str):
                prompt, prefill = item, None
            else:
                prompt = chat_prompt(item)
                cont = kwargs.get("continue_final_message")
                if cont is None:
                    cont = item[-1]["role"] == "assistant"
                prefill = item[-1]["content"] if cont else None
            if not prompt.strip():
                raise InputError(f"prompt {i} is empty; give non-empty text")
            if len(prompt) > cfg.max_chars:
                raise InputError(f"prompt {i} has {len(prompt):,} characters, more than max_chars="
                                 f"{cfg.max_chars:,}; shorten it or raise max_chars")
            prompts.append(prompt)
            prefills.append(prefill)

        def completions(indices: list[int], outputs: list[Any]) -> list[list[str]]:
            rows = []
            for g, row in zip(indices, outputs):
                if isinstance(row, dict):  # defensive: one dict instead of a list of one
                    row = [row]
                texts = []
                for d in row:
                    text = d.get("generated_text") if isinstance(d, dict) else None
                    if not isinstance(text, str):
                        raise InputError("the pipeline returned no text; a guarded pipeline needs "
                                         "'generated_text' strings")
                    texts.append((prefills[g] or "") + text)
                rows.append(texts)
            return rows

        t_gen = time.perf_counter()
        if single:  # called as the caller called it, so a seeded call samples what the plain one does
            outputs = [self.pipeline(items[0], **gen)]
        else:
            outputs = self.pipeline(list(items), **gen)
        groups = completions(list(range(len(items))), outputs)
        generation_ms = (time.perf_counter() - t_gen) * 1000.0

        def regenerate(index: int, group_indices: list[int]) -> list[list[str]]:
            from transformers import LogitsProcessorList

            processor = self.processors[index]
            chain = list(kwargs.get("logits_processor") or [])
            chain.extend(processor if isinstance(processor, (list, tuple)) else [processor])
            again = self.pipeline([items[g] for g in group_indices],
                                  **dict(gen, logits_processor=LogitsProcessorList(chain)))
            return completions(group_indices, again)

        return _Generated(items, single, full, keep, prompts, prefills, groups, regenerate,
                          generation_ms, started)

    def _assemble(self, run: "_Generated", records: list[list[Any]]) -> list[Any]:
        """The pipeline-shaped output: the chosen texts, each with its ``fairguard`` record."""
        result = []
        for g, item in enumerate(run.items):
            row = []
            for record in records[g]:
                row.append({"generated_text": self._shape(item, run.prefills[g], record.text, run.full),
                            "fairguard": record.to_dict(include_text=False)})
            result.append(row)
        return result[0] if run.single else result

    @staticmethod
    def _shape(item: Any, prefill: str | None, completion: str, full: bool) -> Any:
        """The ``generated_text`` value the pipeline itself would give for ``completion``."""
        if isinstance(item, str):
            return item + completion if full else completion
        if prefill is not None:
            if full:
                return [dict(m) for m in item[:-1]] + [{"role": item[-1]["role"], "content": completion}]
            return completion[len(prefill):] if completion.startswith(prefill) else completion
        if full:
            return [dict(m) for m in item] + [{"role": "assistant", "content": completion}]
        return completion


class AsyncGuardedPipeline:
    """:class:`GuardedPipeline` for async code: ``await guarded(inputs, **kwargs)``.

    Generation runs in one of the guard's worker threads, and scoring goes through the guard's
    micro-batcher, so the event loop never blocks and concurrent calls share reward batches.
    ``deadline_s`` bounds the whole call (generation included) and ``request_id`` names it in
    the logs; every other keyword goes to the pipeline, as with :class:`GuardedPipeline`.
    """

    def __init__(self, guard: Decider, pipe: Any):
        self.guarded = GuardedPipeline(guard, pipe)
        self.guard = guard

    async def __call__(self, text_inputs: Any, *, deadline_s: float | None = None,
                       request_id: str | None = None, **kwargs: Any) -> list[Any]:
        run = await self.guard.batcher.run(self.guarded._generate, text_inputs, dict(kwargs))
        records = await self.guard.adecide(run.prompts, run.groups, run.keep, regenerate=run.regenerate,
                                           processors=self.guarded.processors,
                                           generation_ms=run.generation_ms, started=run.started,
                                           deadline_s=deadline_s, request_id=request_id)
        return self.guarded._assemble(run, records)

    def __repr__(self) -> str:
        return f"Async{self.guarded!r}"
