"""Guarded streaming: an answer is released sentence by sentence, each sentence scored first.

Every complete sentence is checked together with the text already released (the reward sees the
context), before it goes out. A sentence under threshold is rewritten by the text filters
(``strategy: rewrite``), and when it still fails the ``below`` policy decides: ``refuse`` ends the
stream with the refusal text, ``flag`` lets it out and flags the answer, ``raise`` ends the stream
with an error. Text that was not checked (the unfinished tail of a broken or disconnected
stream) is never released. A stream has one candidate, so ``rerank`` has nothing to choose
between: streamed answers are checked, never reranked.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

from fairguard.guard.guard import Guard
from fairguard.guard.result import GuardRecord, PluginFailure
from fairguard.guard.timeouts import rewrite_texts
from fairguard.serve.backends import BackendError, StreamEnd

# a sentence ends at . ! ? (and their CJK forms), after any closing quotes or brackets, before
# whitespace; a line break ends one too
SENTENCE_END = re.compile(r"(?<=[.!?。！？])[\"'”’)\]]*\s+|(?<=[。！？])|\n+")


class SentenceSplitter:
    """Cuts streamed text into complete sentences (each with its trailing whitespace)."""

    def __init__(self) -> None:
        self.pending = ""

    def feed(self, piece: str) -> list[str]:
        self.pending += piece
        sentences, start = [], 0
        for match in SENTENCE_END.finditer(self.pending):
            end = match.end()
            if end < len(self.pending) or match.group(0).endswith(("\n", " ", "\t")):
                if end > start:
                    sentences.append(self.pending[start:end])
                start = end
        self.pending = self.pending[start:]
        return sentences

    def flush(self) -> str:
        rest, self.pending = self.pending, ""
        return rest


def stream_checker(guard: Guard) -> Guard:
    """The guard that checks each sentence: same plugins, weights, thresholds and fail policy,
    scoring only (``strategy="score"``, ``below="flag"``)."""
    return guard.with_options(strategy="score", below="flag")


@dataclass
class Release:
    """One step of a guarded stream: text to send, or the end (finish reason, final record)."""

    text: str = ""
    finish_reason: str | None = None
    record: GuardRecord | None = None
    end: StreamEnd | None = None
    error: str | None = None  # the message of an error that ends the stream (below="raise", fail="open")
    code: str | None = None  # its code: content_filter, or <backend>_<kind> for a generator failure


@dataclass
class _State:
    shown: str = ""
    sentences: int = 0
    rewritten: int = 0
    flagged: bool = False
    refused: bool = False
    withheld: str | None = None
    last: GuardRecord | None = None
    errors: list[PluginFailure] = field(default_factory=list)
    guard_ms: float = 0.0
    rewrite_ms: float = 0.0


class SentenceGate:
    """Checks sentences of one streamed answer to ``prompt`` and decides what goes out."""

    def __init__(self, guard: Guard, prompt: str, *, checker: Guard | None = None,
                 request_id: str | None = None, deadline_s: float | None = None,
                 started: float | None = None):
        self.guard = guard
        # the checker only tells pass from fail; the gate itself rewrites, refuses or flags
        self.checker = checker if checker is not None else stream_checker(guard)
        self.prompt = prompt
        self.request_id = request_id
        self.deadline_s = deadline_s
        self.started = time.perf_counter() if started is None else started
        self.state = _State()

    def _left(self) -> float | None:
        if self.deadline_s is None:
            return None
        return max(self.deadline_s - (time.perf_counter() - self.started), 1e-6)

    async def _check(self, text: str) -> GuardRecord:
        t0 = time.perf_counter()
        # adecide, not acheck: generated text past max_chars is the guard's "unread" failure
        # under the fail policy (as for a whole answer), not an input error
        [[record]] = await self.checker.adecide([self.prompt], [[text]], 1, deadline_s=self._left(),
                                                request_id=self.request_id)
        self.state.guard_ms += (time.perf_counter() - t0) * 1000.0
        self.state.errors.extend(record.errors)
        self.state.last = record
        return record

    async def _rewrite(self, sentence: str) -> str | None:
        """A rewrite of ``sentence`` by the text filters that passes in context, or None."""
        cfg = self.guard.config
        t0 = time.perf_counter()
        try:
            for flt in self.guard.filters[:cfg.max_rewrites]:
                texts, failure = await self.guard.batcher.run(rewrite_texts, flt, [self.prompt], [sentence],
                                                              cfg.timeout_s)
                if failure is not None:
                    self.state.errors.append(failure)
                if not texts or texts[0] == sentence or not texts[0].strip():
                    continue
                if (await self._check(self.state.shown + texts[0])).passed:
                    return texts[0]
            return None
        finally:
            self.state.rewrite_ms += (time.perf_counter() - t0) * 1000.0

    async def sentence(self, sentence: str) -> Release | None:
        """Check one sentence; the release to send (None: nothing), with ``finish_reason`` set when
        the stream must end here."""
        st, cfg = self.state, self.guard.config
        st.sentences += 1
        record = await self._check(st.shown + sentence)
        if record.passed:
            st.shown += sentence
            return Release(sentence)
        if cfg.strategy == "rewrite" and self.guard.filters:
            better = await self._rewrite(sentence)
            if better is not None:
                st.rewritten += 1
                st.shown += better
                return Release(better)
        if cfg.below == "flag":
            st.flagged = True
            st.shown += sentence
            return Release(sentence)
        st.refused, st.withheld = True, sentence
        if cfg.below == "raise":
            reasons = ", ".join(record.below) or ", ".join(f"{e.plugin} {e.kind}" for e in record.errors)
            return Release(finish_reason="content_filter", code="content_filter",
                           error=f"the guard stopped the stream: a sentence did not meet the policy ({reasons})")
        gap = "" if not st.shown or st.shown[-1].isspace() else " "
        return Release(gap + cfg.refusal_text, finish_reason="content_filter")

    def fail(self, error: BackendError) -> Release:
        """The generator failed mid-stream: ``fail="closed"`` ends with the refusal text (what was
        checked stays), ``fail="open"`` ends with an error; the unchecked tail is dropped."""
        st, cfg = self.state, self.guard.config
        st.errors.append(PluginFailure(error.backend, "generate", error.kind, error.message))
        st.refused = True
        if cfg.fail == "open":
            return Release(finish_reason="error", code=f"{error.backend}_{error.kind}",
                           error=f"the {error.backend} generator failed: {error.message}")
        gap = "" if not st.shown or st.shown[-1].isspace() else " "
        return Release(gap + cfg.refusal_text, finish_reason="content_filter")

    def record(self, generation_ms: float, note: str | None = None) -> GuardRecord:
        """The record of the whole streamed answer."""
        st, cfg = self.state, self.guard.config
        last = st.last
        scores: dict[str, float | None] = (dict(last.scores) if last is not None
                                           else {h: None for h in (*self.guard.heads, "total")})
        if st.refused:
            decision, action = "block", "refused"
        else:
            decision = "flag" if st.flagged else "pass"
            action = "rewritten" if st.rewritten else "none"
        notes = [f"streamed: {st.sentences} sentence(s) checked one by one before release"
                 + (f", {st.rewritten} rewritten" if st.rewritten else "")]
        if note:
            notes.append(note)
        total_ms = (time.perf_counter() - self.started) * 1000.0
        latency = {"generation_ms": generation_ms, "scoring_ms": st.guard_ms, "rewrite_ms": st.rewrite_ms,
                   "guard_ms": st.guard_ms + st.rewrite_ms, "total_ms": total_ms}
        return GuardRecord(text=st.shown, scores=scores, decision=decision, action=action, candidates=1,
                           candidate_totals=[scores.get("total")], below=list(last.below) if last else [],
                           errors=list(st.errors), fail_policy=cfg.fail, strategy=cfg.strategy,
                           original=st.withheld, notes=notes, latency=latency)


async def guarded_stream(gate: SentenceGate, pieces: AsyncIterator[Any]) -> AsyncIterator[Release]:
    """Releases of a streamed answer: checked sentences, then one last release with the finish
    reason and the record (``end`` carries the generator's token counts)."""
    splitter = SentenceSplitter()
    end = StreamEnd()
    started = time.perf_counter()

    def finish(release: Release, note: str | None = None) -> Release:
        generation_ms = (time.perf_counter() - started) * 1000.0 - gate.state.guard_ms - gate.state.rewrite_ms
        release.record = gate.record(max(generation_ms, 0.0), note)
        release.end = end
        return release

    async def sentences() -> AsyncIterator[str]:
        """The complete sentences of the pieces as they arrive, then the unfinished tail."""
        nonlocal end
        async for piece in pieces:
            if isinstance(piece, StreamEnd):
                end = piece
                continue
            for sentence in splitter.feed(piece):
                yield sentence
        tail = splitter.flush()
        if tail.strip():
            yield tail

    try:  # the generator behind ``pieces`` may fail mid-stream (BackendError)
        async for sentence in sentences():
            release = await gate.sentence(sentence)
            if release is not None and release.finish_reason is not None:
                yield finish(release)
                return
            if release is not None and release.text:
                yield release
    except BackendError as exc:
        yield finish(gate.fail(exc))
        return
    yield finish(Release(finish_reason=end.finish_reason))
