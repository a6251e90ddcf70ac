"""The guard: scores, reranks and rewrites completions with reward and filter plugins."""

from __future__ import annotations

import time
from typing import Any, Mapping, Sequence

import numpy as np

from fairguard.errors import (
    ConfigError,
    GuardBlockedError,
    InputError,
    UnknownNameError,
)
from fairguard.guard.batching import AsyncGuardMixin, CallScope, MicroBatcher, Scores
from fairguard.guard.candidates import Candidate, Regenerate, Slot, make_record
from fairguard.guard.config import GuardConfig
from fairguard.guard.pipeline_wrap import AsyncGuardedPipeline, GuardedPipeline
from fairguard.guard.result import GuardRecord, PluginFailure
from fairguard.guard.timeouts import rewrite_texts, score_reward
from fairguard.inputs import check_pairs
from fairguard.protocols import Filter, Reward
from fairguard.registry import get_filter, resolve_filter, resolve_reward
from fairguard.scoring import TOTAL, WeightedRewards, build_rewards, parse_weights


def _as_list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, (Reward, Filter)):
        return [value]
    if isinstance(value, Sequence):
        return list(value)
    raise ConfigError(f"{what} must be a list of plugin objects or names, got {type(value).__name__}")


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


class Guard(AsyncGuardMixin):
    """Scores completions with reward plugins and acts on them with filter plugins.

    ``rewards`` and ``filters`` are plugin objects or registered names (no options; use
    :meth:`from_names` for options). Every other keyword is a :class:`GuardConfig` option
    (``strategy``, ``n``, ``weights``, ``thresholds``, ``fail``, ``timeout_s``, ``below``,
    ``refusal_text``, ``max_rewrites``, ``max_chars``), or pass ``config=GuardConfig(...)``.

    Without ``thresholds`` the guard uses the ``thresholds`` mapping a reward offers (the
    reward model's ``fairguard.json``); a reward with none has no threshold, so it only scores.
    A guard keeps no per-call state: one guard can serve many threads at once. The async methods
    (``adecide``, ``acheck``, ``ascore_batch``, ``awrap``) run in worker threads and share reward
    batches across concurrent calls (``use_batching``).
    """

    def __init__(self, rewards: Sequence[Reward | str] | Reward | str,
                 filters: Sequence[Filter | str] | Filter | str | None = (), *,
                 config: GuardConfig | None = None, **options: Any):
        if config is not None and options:
            raise ConfigError(f"give either config= or options ({', '.join(sorted(options))}), not both")
        if config is None:
            try:
                config = GuardConfig(**options)
            except TypeError as exc:
                raise ConfigError(f"unknown guard option: {exc}") from None
        self.config = config
        self.rewards: tuple[Reward, ...] = tuple(resolve_reward(r) for r in _as_list(rewards, "rewards"))
        self.filters: tuple[Filter, ...] = tuple(resolve_filter(f) for f in _as_list(filters, "filters"))
        self.combined = WeightedRewards(self.rewards, parse_weights(config.weights))
        self.heads: tuple[str, ...] = self.combined.heads
        self.weights: dict[str, float] = dict(self.combined.weights)
        self.thresholds: dict[str, float] = self._thresholds()
        self._batcher: MicroBatcher | None = None

    @classmethod
    def from_names(cls, rewards: str | Mapping[str, float] | Sequence[str],
                   filters: str | Sequence[str] | None = (), *,
                   reward_options: Mapping[str, Mapping[str, Any]] | None = None,
                   filter_options: Mapping[str, Mapping[str, Any]] | None = None,
                   **options: Any) -> "Guard":
        """Build a guard from registered names.

        ``rewards="gender-bias=1,reward-model=0.5"``: each reward's weight applies to all of its
        heads; ``weights={"fairness": 2}`` (or ``"fairness=2"``) then overrides single heads.
        ``reward_options={"reward-model": {"path": "DIR"}}`` passes options to a plugin factory.
        """
        combined = build_rewards(rewards, reward_options=reward_options,
                                 head_weights=options.pop("weights", None))
        filter_options = dict(filter_options or {})
        filter_names = _as_list(filters, "filters")
        for name in list(filter_options):
            if name not in filter_names:
                raise ConfigError(f"filter_options names {name!r}, which is not among the filters {filter_names}")
        built_filters = [get_filter(name, **dict(filter_options.get(name, {}))) for name in filter_names]
        return cls(combined.rewards, built_filters, weights=combined.weights, **options)

    def _thresholds(self) -> dict[str, float]:
        known = set(self.heads) | {TOTAL}
        given = dict(self.config.threshold_map)
        if not given and self.config.thresholds is None:
            for reward in self.rewards:
                offered = getattr(reward, "thresholds", None)
                if isinstance(offered, Mapping):
                    for head, value in offered.items():
                        if head in reward.heads and isinstance(value, (int, float)) and np.isfinite(value):
                            given[head] = float(value)
        for name in given:
            if name not in known:
                raise UnknownNameError("threshold head", name, sorted(known))
        return given

    # ----- scoring ---------------------------------------------------------------------------

    def _score_pairs(self, prompts: list[str], completions: list[str], timeout_s: float | None) -> Scores:
        """Every reward's values for the pairs (one call per reward) and the failures of each pair."""
        arrays: dict[str, np.ndarray] = {}
        failures: list[list[PluginFailure]] = [[] for _ in prompts]
        for reward in self.rewards:
            values, fails = score_reward(reward, prompts, completions, timeout_s)
            arrays.update(values)
            for mine, theirs in zip(failures, fails):
                mine.extend(theirs)
        return arrays, failures

    def _scores_within(self, scope: CallScope, prompts: list[str], completions: list[str]) -> Scores:
        """:meth:`_score_pairs` within the call's deadline, through its micro-batcher if it has one."""
        if scope.expired():
            return scope.timed_out(self.rewards, len(prompts))
        if scope.batcher is None:
            return self._score_pairs(prompts, completions, scope.limit(self.config.timeout_s))
        try:
            return scope.batcher.score(prompts, completions, scope.limit(None))
        except TimeoutError:
            return scope.timed_out(self.rewards, len(prompts))

    def _score(self, prompts: list[str], completions: list[str], scope: CallScope | None = None) -> list[Candidate]:
        """Score pairs with every reward (one batch per reward); never raises for plugin faults."""
        n = len(prompts)
        if n == 0:
            return []
        limit = self.config.max_chars
        # Rewards read all they are shown (the reward model in sentence windows,
        # fairguard/reward_model/windows.py): only text past max_chars goes unscored, and that
        # is recorded as a failure of the guard's own, so the fail policy decides it.
        shown = [c[:limit] for c in completions]
        arrays, failures = self._scores_within(scope or CallScope(), prompts, shown)
        for text, fails in zip(completions, failures):
            if len(text) > limit:
                fails.append(PluginFailure(
                    "guard", "score", "unread",
                    f"the completion has {len(text):,} characters and only the first {limit:,} "
                    "(max_chars) were scored; raise max_chars to read it all"))
        cands = []
        for i in range(n):
            scores: dict[str, float | None] = {}
            for head in self.heads:
                value = float(arrays[head][i])
                scores[head] = value if np.isfinite(value) else None
            partial = 0.0
            complete = True
            for head, weight in self.weights.items():
                score = scores[head]
                if score is None:
                    complete = False
                else:
                    partial += weight * score
            total = partial if complete else None
            scores[TOTAL] = total
            cands.append(Candidate(completions[i], scores, total, partial, failures[i]))
        return cands

    def below(self, scores: Mapping[str, float | None]) -> list[str]:
        """Threshold names (heads or ``total``) that ``scores`` does not meet; unscored ones skipped."""
        out = []
        for name, minimum in self.thresholds.items():
            value = scores.get(name)
            if value is not None and value < minimum:
                out.append(name)
        return out

    def _passes(self, cand: Candidate) -> bool:
        if self.below(cand.scores):
            return False
        return not (cand.failures and self.config.fail == "closed")

    def _needs_rewrite(self, cand: Candidate) -> bool:
        """Under threshold on a head that was scored (a broken reward is not fixed by rewriting)."""
        return bool(self.below(cand.scores))

    def _rank_key(self, cand: Candidate) -> tuple[bool, bool, float]:
        """Smaller is better: passing first, fully scored next, then the higher weighted total."""
        return (not self._passes(cand), bool(cand.failures), -cand.partial)

    # ----- the decision core, shared by check/score_batch, the pipeline wrapper and the server ---

    def decide(self, prompts: list[str], groups: list[list[str]], keep: int = 1, *,
               regenerate: Regenerate | None = None, processors: Sequence[Any] = (),
               generation_ms: float = 0.0, started: float | None = None,
               notes: list[list[str]] | None = None, deadline_s: float | None = None,
               request_id: str | None = None, batched: bool = False) -> list[list[GuardRecord]]:
        """Decide ``keep`` outputs per prompt from its candidate completions ``groups[i]``.

        Scores every candidate (one batch per reward), ranks (``rerank``/``rewrite``), rewrites
        outputs under threshold (``rewrite``: text filters, and ``regenerate(filter_index,
        group_indices)`` for the logits processors in ``processors``), and applies the policies.
        ``started`` (a ``time.perf_counter()`` value, default now) is when the whole call began,
        e.g. before generation; ``deadline_s`` bounds the call from then on: scores still missing
        at the deadline count as a plugin timeout under the fail policy, and filters not yet
        tried are skipped (with a note). ``batched=True`` scores through :attr:`batcher`, shared
        with concurrent calls. Plugin failures, timeouts and fail-open passes are logged with
        ``request_id``. Returns one row of ``keep`` records per prompt, best first.
        """
        cfg = self.config
        if len(groups) != len(prompts) or isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            raise InputError(f"decide() needs one candidate list per prompt and keep >= 1; got "
                             f"{len(prompts)} prompts, {len(groups)} candidate lists, keep={keep!r}")
        started = time.perf_counter() if started is None else started
        scope = CallScope.start(started, deadline_s, request_id, self.batcher if batched else None)
        t_score = time.perf_counter()
        flat_p = [prompts[g] for g, group in enumerate(groups) for _ in group]
        flat_c = [text for group in groups for text in group]
        scored = self._score(flat_p, flat_c, scope)
        scoring_ms = _ms(t_score)

        slots: list[list[Slot]] = []
        pos = 0
        for g, group in enumerate(groups):
            cands = scored[pos:pos + len(group)]
            pos += len(group)
            totals = [c.total for c in cands]
            if cfg.strategy == "score":
                chosen = cands[:keep]
            else:
                order = sorted(range(len(cands)), key=lambda i: (self._rank_key(cands[i]), i))
                chosen = [cands[i] for i in order[:keep]]
            slots.append([Slot(g, prompts[g], c, c, len(cands), totals, len(cands),
                                notes=list(notes[g]) if notes else []) for c in chosen])

        t_rewrite = time.perf_counter()
        if cfg.strategy == "rewrite" and self.filters and cfg.max_rewrites > 0:
            self._rewrite([s for row in slots for s in row], regenerate, processors, scope)
            for row in slots:  # rewrites can change the order: keep the outputs best first
                row.sort(key=lambda slot: self._rank_key(slot.current))
        rewrite_ms = _ms(t_rewrite) if cfg.strategy == "rewrite" else 0.0

        records: list[list[GuardRecord]] = []
        blocked = []
        for row in slots:
            out_row = []
            for slot in row:
                record = make_record(slot, self.below(slot.current.scores), cfg)
                if record.decision != "pass" and cfg.below == "raise":
                    blocked.append(record)
                out_row.append(record)
            records.append(out_row)
        done = time.perf_counter()
        total_ms = (done - started) * 1000.0
        latency = {
            "generation_ms": generation_ms,
            "scoring_ms": scoring_ms,
            "rewrite_ms": rewrite_ms,
            "guard_ms": max(total_ms - generation_ms, 0.0),
            "total_ms": total_ms,
        }
        for out_row in records:
            for record in out_row:
                record.latency = dict(latency)
        scope.log(records, cfg.fail)
        if blocked:
            flat = [r for row in records for r in row]
            reasons = sorted({name for r in blocked for name in r.below}
                             | {f"{e.plugin} {e.kind}" for r in blocked for e in r.errors})
            raise GuardBlockedError(
                f"{len(blocked)} of {len(flat)} output(s) did not meet the guard's policy "
                f"({', '.join(reasons) or 'under threshold'}); the records are on .records",
                records=flat)
        return records

    def _better(self, new: Candidate, old: Candidate) -> bool:
        """Whether ``new`` ranks above ``old`` by more than float noise (batch padding can move a
        score of the same text by ~1e-7)."""
        a, b = self._rank_key(new), self._rank_key(old)
        if a[:2] != b[:2]:
            return a[:2] < b[:2]
        return a[2] < b[2] - 1e-6

    def _rewrite(self, slots: list[Slot], regenerate: Regenerate | None,
                 processors: Sequence[Any], scope: CallScope) -> None:
        """Apply filters in order to outputs under threshold until they pass or attempts run out."""
        cfg = self.config
        attempts = 0
        for index, flt in enumerate(self.filters):
            if attempts >= cfg.max_rewrites:
                break
            used = False
            todo = [s for s in slots if self._needs_rewrite(s.current)]
            if todo and scope.expired():
                for s in todo:
                    s.notes.append(f"the request deadline of {scope.deadline_s:g} s passed; the filters "
                                   f"from {flt.name!r} on were not tried")
                break
            if todo and regenerate is not None and index < len(processors) and processors[index] is not None:
                used = True
                try:
                    new_groups = regenerate(index, [s.group for s in todo])
                except Exception as exc:  # noqa: BLE001 - a processor that breaks generation
                    broke = PluginFailure(flt.name, "logits_processor", "error",
                                          f"generation with its logits processor raised "
                                          f"{type(exc).__name__}: {exc}")
                    for s in todo:
                        s.extra_failures.append(broke)
                else:
                    flat_p = [s.prompt for s, group in zip(todo, new_groups) for _ in group]
                    flat_c = [text for group in new_groups for text in group]
                    scored = self._score(flat_p, flat_c, scope)
                    pos = 0
                    for s, group in zip(todo, new_groups):
                        cands = scored[pos:pos + len(group)]
                        pos += len(group)
                        s.considered += len(cands)
                        for c in cands:
                            c.rewritten = True
                        if cands:
                            best = min(cands, key=self._rank_key)
                            if self._better(best, s.current):
                                s.current = best
                todo = [s for s in todo if self._needs_rewrite(s.current)]
            if todo:
                texts, failure = rewrite_texts(flt, [s.prompt for s in todo],
                                               [s.current.text for s in todo], scope.limit(cfg.timeout_s))
                if failure is not None:
                    used = True
                    for s in todo:
                        s.extra_failures.append(failure)
                elif texts is not None:
                    used = True
                    changed = [(s, t) for s, t in zip(todo, texts) if t != s.current.text]
                    scored = self._score([s.prompt for s, _ in changed], [t for _, t in changed], scope)
                    for (s, _), cand in zip(changed, scored):
                        s.considered += 1
                        cand.rewritten = True
                        if self._better(cand, s.current):
                            s.current = cand
            if used:
                attempts += 1

    # ----- use without a pipeline ---------------------------------------------------------------

    @staticmethod
    def _one_pair(prompt: Any, response: Any) -> tuple[list[str], list[str]]:
        if not isinstance(prompt, str):
            raise InputError(f"prompt must be a string, got {type(prompt).__name__}")
        if not isinstance(response, str):
            raise InputError(f"response must be a string, got {type(response).__name__}")
        return [prompt], [response]

    def check(self, prompt: str, response: str, *, deadline_s: float | None = None,
              request_id: str | None = None, batched: bool = False) -> GuardRecord:
        """Score one (prompt, response) pair and apply the policies; ``record.text`` is what to show.

        With ``strategy="rewrite"`` the text-rewrite filters run (no regeneration: there is no
        model here). Raises :class:`InputError` for unusable input and
        :class:`GuardBlockedError` under ``below="raise"``. ``deadline_s``, ``request_id`` and
        ``batched`` are those of :meth:`decide`.
        """
        return self.score_batch(*self._one_pair(prompt, response), deadline_s=deadline_s,
                                request_id=request_id, batched=batched)[0]

    def score_batch(self, prompts: Sequence[str], responses: Sequence[str], *,
                    deadline_s: float | None = None, request_id: str | None = None,
                    batched: bool = False) -> list[GuardRecord]:
        """Check many (prompt, response) pairs, scored in one batch per reward."""
        started = time.perf_counter()
        prompts, responses = check_pairs(prompts, responses, max_chars=self.config.max_chars)
        if not prompts:
            return []
        rows = self.decide(prompts, [[r] for r in responses], keep=1, started=started,
                           deadline_s=deadline_s, request_id=request_id, batched=batched)
        return [row[0] for row in rows]

    def wrap(self, pipe: Any) -> GuardedPipeline:
        """Wrap a transformers ``text-generation`` pipeline; see :class:`GuardedPipeline`."""
        return GuardedPipeline(self, pipe)

    def awrap(self, pipe: Any) -> AsyncGuardedPipeline:
        """Wrap a ``text-generation`` pipeline for async code; see :class:`AsyncGuardedPipeline`."""
        return AsyncGuardedPipeline(self, pipe)

    def __repr__(self) -> str:
        return (f"Guard(rewards={[r.name for r in self.rewards]}, filters={[f.name for f in self.filters]}, "
                f"strategy={self.config.strategy!r}, n={self.config.n}, fail={self.config.fail!r}, "
                f"below={self.config.below!r}, thresholds={self.thresholds})")
