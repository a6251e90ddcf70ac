"""Calling plugins under a time limit and turning their failures into records, not crashes.

Every reward/filter call the guard makes at serving time goes through :func:`call_with_timeout`;
what comes back is checked here, so a plugin that raises, returns NaN or malformed output, or
runs past its time limit becomes a :class:`PluginFailure` that the fail policy acts on.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from fairguard.guard.result import PluginFailure
from fairguard.protocols import Filter, Reward


def call_with_timeout(fn: Callable[[], Any], timeout_s: float | None) -> Any:
    """Run ``fn()``; raise :class:`TimeoutError` if it has not returned within ``timeout_s``.

    With no limit the call runs in the calling thread. With a limit it runs in a fresh daemon
    thread: a Python thread cannot be cancelled, so a timed-out call keeps running in the
    background, and a daemon thread (unlike a shared pool worker) neither holds up later calls
    nor keeps the interpreter from exiting.
    """
    if timeout_s is None:
        return fn()
    box: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            box["error"] = exc
        finally:
            done.set()

    worker = threading.Thread(target=target, name="fairguard-plugin-call", daemon=True)
    worker.start()
    if not done.wait(timeout_s):
        raise TimeoutError(f"did not return within {timeout_s:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def score_reward(reward: Reward, prompts: list[str], completions: list[str],
                 timeout_s: float | None) -> tuple[dict[str, np.ndarray], list[list[PluginFailure]]]:
    """Score pairs with one reward; failed values are NaN and come with a failure per pair.

    A raise, a timeout or malformed output fails every pair of the call; a NaN/inf value fails
    only its own pair.
    """
    n = len(prompts)
    heads = tuple(reward.heads)
    failures: list[list[PluginFailure]] = [[] for _ in range(n)]
    nan = {head: np.full(n, np.nan) for head in heads}

    def fail_all(kind: str, message: str) -> tuple[dict[str, np.ndarray], list[list[PluginFailure]]]:
        failure = PluginFailure(reward.name, "score", kind, message)
        return nan, [[failure] for _ in range(n)]

    try:
        raw = call_with_timeout(lambda: reward.score(prompts, completions), timeout_s)
    except TimeoutError as exc:
        return fail_all("timeout", f"score() {exc}")
    except Exception as exc:  # noqa: BLE001 - any plugin failure is recorded, never re-raised
        return fail_all("error", f"score() raised {_describe(exc)}")
    if not isinstance(raw, Mapping):
        return fail_all("error", f"score() returned {type(raw).__name__}, expected a dict of arrays")
    out: dict[str, np.ndarray] = {}
    for head in heads:
        if head not in raw:
            return fail_all("error", f"score() returned no values for head {head!r}")
        try:
            values = np.asarray(raw[head], dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            return fail_all("error", f"head {head!r} is not numeric: {exc}")
        if values.shape[0] != n:
            return fail_all("error", f"head {head!r} has {values.shape[0]} values for {n} pairs")
        out[head] = values.copy()
    for head in heads:
        bad = ~np.isfinite(out[head])
        for i in np.flatnonzero(bad):
            failures[int(i)].append(PluginFailure(
                reward.name, "score", "nan", f"head {head!r} returned {out[head][i]!r}"))
        out[head][bad] = np.nan
    return out, failures


def rewrite_texts(flt: Filter, prompts: list[str], completions: list[str],
                  timeout_s: float | None) -> tuple[list[str] | None, PluginFailure | None]:
    """Rewrite completions with one filter: ``(texts, None)``, ``(None, None)`` when the filter
    does not rewrite, or ``(None, failure)``."""
    try:
        out = call_with_timeout(lambda: flt.rewrite(prompts, completions), timeout_s)
    except TimeoutError as exc:
        return None, PluginFailure(flt.name, "rewrite", "timeout", f"rewrite() {exc}")
    except Exception as exc:  # noqa: BLE001
        return None, PluginFailure(flt.name, "rewrite", "error", f"rewrite() raised {_describe(exc)}")
    if out is None:
        return None, None
    if isinstance(out, str) or not isinstance(out, Sequence) or len(out) != len(completions) \
            or not all(isinstance(t, str) for t in out):
        return None, PluginFailure(flt.name, "rewrite", "error",
                                   f"rewrite() must return {len(completions)} strings, got {type(out).__name__}")
    return list(out), None
