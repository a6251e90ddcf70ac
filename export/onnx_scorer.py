"""``OnnxRewardScorer``: scores (prompt, response) pairs with an exported reward model.

Same interface as the torch scorer: ``.heads`` and ``.score(prompts, responses) -> {head:
array}``, each value ``sigmoid(logit)`` in [0, 1], higher = better. One onnxruntime session is
shared by all threads (``InferenceSession.run`` is thread-safe). Pairs are tokenised once,
sorted by token count and padded per batch to the batch's longest pair
(:class:`~fairguard.export.batching.PairBatcher`, lock-free for fast tokenizers); scores come
back in input order. A batch holds at most ``batch_size`` pairs and ``batch_tokens`` padded
tokens (rows x longest pair): many short pairs share a batch, long ones go a few at a time.
Long responses are scored in windows combined per head, exactly as the
torch scorer does (:mod:`fairguard.reward_model.windows`); a call whose pairs all fit in
``max_length`` tokens (each its own only window) is tokenised once and skips the windowing.
The scores of the last ``window_cache`` windows of long responses are kept, so a growing
answer scored again (a stream checked at every sentence) costs only its new windows.

Boundary re-check: an int8 export records, per head, how far its logits strayed from fp32's
on the calibration pairs (a high quantile, ``onnx.quantization.recheck_margins``). With
``recheck`` on (the default where those margins and ``model.onnx`` exist), a pair whose int8
logit lies within that margin of some head's threshold is scored again by the fp32 graph
(loaded beside the int8 one), so pass/fail decisions match fp32's almost always while most
pairs cost int8's time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fairguard.errors import ArtifactError, ConfigError, FairguardError
from fairguard.export.batching import BATCH_TOKENS, EncodedPairs, PairBatcher
from fairguard.export.parity import logit_threshold, near_thresholds
from fairguard.inputs import DEFAULT_MAX_CHARS, check_pairs
from fairguard.reward_model.windows import WINDOW_CACHE, combine_rules, make_window_cache, score_windowed

BATCH_INPUTS = ("input_ids", "token_type_ids", "attention_mask")  # what PairBatcher yields
FP32_FILE = "model.onnx"
INT8_FILE = "model_int8.onnx"


def has_onnx(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder`` holds an exported ONNX reward model (what backend choice keys on)."""
    return (Path(folder) / FP32_FILE).is_file() or (Path(folder) / INT8_FILE).is_file()


class OnnxRewardScorer:
    """Multi-head reward scores from an ONNX export (int8 when present, else fp32).

    Long answers are read in windows as :class:`~fairguard.reward_model.TorchRewardScorer`
    reads them, and disguised words in their plain spelling (``reveal=False``: as written).
    """

    name = "reward-model"

    def __init__(self, folder: str | os.PathLike[str], quantized: bool | None = None,
                 threads: int | None = None, batch_size: int = 32,
                 max_length: int | None = None, max_chars: int = DEFAULT_MAX_CHARS,
                 windows: bool = True, recheck: bool | None = None, reveal: bool = True,
                 batch_tokens: int | None = BATCH_TOKENS, window_cache: int = WINDOW_CACHE) -> None:
        from fairguard.export.session import feed_names, make_session
        from fairguard.export.source import check_heads, max_length_of, thresholds_of
        from fairguard.reward_model.disguise import Undisguiser

        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                    or threads < 1):
            raise ConfigError(f"threads must be a positive integer or None, got {threads!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
        if batch_tokens is not None and (isinstance(batch_tokens, bool)
                                         or not isinstance(batch_tokens, int) or batch_tokens < 1):
            raise ConfigError(f"batch_tokens must be a positive integer or None, got {batch_tokens!r}")
        if recheck is not None and not isinstance(recheck, bool):
            raise ConfigError(f"recheck must be True, False or None, got {recheck!r}")
        if max_length is not None and (isinstance(max_length, bool)
                                       or not isinstance(max_length, int) or max_length < 8):
            raise ConfigError(f"max_length must be an integer >= 8 or None, got {max_length!r}")
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise ArtifactError(f"{self.folder} is not a folder; give the folder written by "
                                "`fairguard export onnx`")
        self.metadata, heads = check_heads(self.folder)
        if not has_onnx(self.folder):
            raise ArtifactError(
                f"{self.folder} holds no {FP32_FILE} or {INT8_FILE}; it is a torch reward model "
                "or an incomplete export. Export it with `fairguard export onnx --model "
                f"{self.folder} --out DIR`")
        if quantized is None:
            quantized = (self.folder / INT8_FILE).is_file()
        file = INT8_FILE if quantized else FP32_FILE
        if not (self.folder / file).is_file():
            hint = ("export with --quantize int8" if quantized
                    else "re-export it (the fp32 model.onnx is missing)")
            raise ArtifactError(f"{self.folder} has no {file}; {hint} or pass "
                                f"quantized={not quantized}")
        self.heads: tuple[str, ...] = tuple(heads)
        self.thresholds = thresholds_of(self.metadata, heads)
        trained = max_length_of(self.metadata)
        if max_length is not None and max_length > trained:
            raise ConfigError(f"{max_length} tokens a window is more than the {trained} tokens "
                              f"{self.folder} was trained to read; give at most that")
        self.max_length = max_length if max_length is not None else trained
        self.batch_size = batch_size  # pairs per batch at most
        self.batch_tokens = batch_tokens  # padded tokens per batch at most (None: no limit)
        self.max_chars = max_chars
        self.windows = bool(windows)  # False: read only each pair's first max_length tokens
        self.window_cache = make_window_cache(window_cache)
        self.combine = combine_rules(self.heads)  # how windows combine, per head
        self.quantized = bool(quantized)
        self.backend = "onnx-int8" if quantized else "onnx-fp32"
        self.path = self.folder / file
        self.tokenizer = self._load_tokenizer()
        self.undisguiser = Undisguiser(self.tokenizer) if reveal else None
        self.batcher = PairBatcher(self.tokenizer, self.max_length)
        self.session = make_session(self.path, threads)
        self._inputs = feed_names(self.session, BATCH_INPUTS)
        outputs = self.session.get_outputs()
        self._outputs = [outputs[0].name] if outputs else None
        width = outputs[0].shape[-1] if outputs and outputs[0].shape else None
        if isinstance(width, int) and width != len(self.heads):
            raise ArtifactError(f"{self.path} has {width} outputs but fairguard.json lists "
                                f"{len(self.heads)} heads; re-export the reward model")
        self.recheck_margins = self._recheck_margins(recheck)
        self.recheck = self.recheck_margins is not None
        self._threshold_logits = np.array([logit_threshold(self.thresholds[h]) for h in self.heads],
                                          dtype=np.float32)
        # Opened now, so that a broken model.onnx fails at load, not in the middle of serving.
        # Its threads do not spin between runs: spinning beside the int8 session's threads made
        # re-checked scoring 1.8-1.9x int8's time instead of 1.2x (docs/export.md).
        self._fp32_session = (make_session(self.folder / FP32_FILE, threads, spin=False)
                              if self.recheck else None)
        self._lock = threading.Lock()
        self.rechecked = 0  # pairs (windows) the fp32 graph scored again
        self.scored = 0  # pairs (windows) the session scored

    def _recheck_margins(self, recheck: bool | None) -> np.ndarray | None:
        """Per-head margins (logits) of the boundary re-check, or None when it is off."""
        if recheck is False or not self.quantized:
            if recheck and not self.quantized:
                raise ConfigError("recheck re-scores int8 pairs in fp32; the fp32 scorer needs "
                                  "none (pass recheck=None or False)")
            return None
        margins = ((self.metadata.get("onnx") or {}).get("quantization") or {}).get("recheck_margins")
        usable = (isinstance(margins, dict) and set(margins) >= set(self.heads)
                  and all(isinstance(margins[h], (int, float)) and not isinstance(margins[h], bool)
                          and np.isfinite(margins[h]) and margins[h] >= 0 for h in self.heads))
        missing = (f"{self.folder} records no usable re-check margins (fairguard.json "
                   "onnx.quantization.recheck_margins)" if not usable else
                   f"{self.folder} has no {FP32_FILE}" if not (self.folder / FP32_FILE).is_file()
                   else None)
        if missing:
            if recheck:
                raise ArtifactError(f"{missing}; re-export it with `fairguard export onnx` or "
                                    "pass recheck=False")
            return None
        assert isinstance(margins, dict)
        return np.array([margins[h] for h in self.heads], dtype=np.float32)

    def _load_tokenizer(self) -> Any:
        from transformers import AutoTokenizer

        try:
            return AutoTokenizer.from_pretrained(self.folder)
        except Exception as exc:  # noqa: BLE001
            raise ArtifactError(f"could not load the tokenizer in {self.folder} "
                                f"({type(exc).__name__}: {exc}); re-export it") from exc

    def __repr__(self) -> str:
        return (f"OnnxRewardScorer({str(self.folder)!r}, backend={self.backend!r}, "
                f"heads={list(self.heads)})")

    def logits(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        """Raw logits ``[n, heads]`` (column order = ``heads``) of each pair's first
        ``max_length`` tokens, after input checks (fp32's for pairs the re-check re-scored)."""
        prompts, responses = self._checked(prompts, responses)
        return self._pair_logits(prompts, responses)

    def _checked(self, prompts: Sequence[str], responses: Sequence[str]) -> tuple[list[str], list[str]]:
        """The pairs after the input checks, disguised words revealed."""
        prompts, responses = check_pairs(prompts, responses, max_chars=self.max_chars)
        if self.undisguiser is not None:
            return self.undisguiser.reveal_pairs(prompts, responses)
        return prompts, responses

    def _pair_logits(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        """:meth:`logits` without the input checks (windows are parts of checked texts)."""
        return self._encoded_logits(self.batcher.encode(prompts, responses))

    def _encoded_logits(self, encoded: EncodedPairs) -> np.ndarray:
        """Logits ``[n, heads]`` of pairs encoded by ``self.batcher``."""
        n = len(encoded.ids)
        if n == 0:
            return np.zeros((0, len(self.heads)), dtype=np.float32)
        batches = self.batcher.padded(encoded, self.batch_size, self.batch_tokens)
        if n == 1:
            return self._run(next(batches)[1])
        out = np.empty((n, len(self.heads)), dtype=np.float32)
        for rows, arrays in batches:
            out[rows] = self._run(arrays)
        return out

    def _run(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        """The logits of one padded batch (rows near a threshold from fp32 when re-checking)."""
        logits = self._session_run(self.session, self.path, arrays)
        if self.recheck_margins is None:
            return logits
        near = near_thresholds(logits, self._threshold_logits, self.recheck_margins)
        with self._lock:
            self.scored += int(near.size)
            self.rechecked += int(near.sum())
        if near.any():
            rows = {name: value[near] for name, value in arrays.items()}
            logits = logits.copy()
            logits[near] = self._session_run(self._fp32_session, self.folder / FP32_FILE, rows)
        return logits

    def _session_run(self, session: Any, path: Path, arrays: dict[str, np.ndarray]) -> np.ndarray:
        try:
            return session.run(self._outputs, {name: arrays[name] for name in self._inputs})[0]
        except Exception as exc:  # noqa: BLE001 - onnxruntime's own exception types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise FairguardError(f"onnxruntime failed scoring with {path} "
                                 f"({type(exc).__name__}: {first})") from exc

    def score_pairs(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        """``sigmoid(logit)`` ``[n, heads]`` of each pair's first ``max_length`` tokens (no checks)."""
        return _sigmoid(self._pair_logits(prompts, responses))

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> dict[str, np.ndarray]:
        """``{head: float64 array of sigmoid(logit)}``, one value per pair; higher = better."""
        prompts, responses = self._checked(prompts, responses)
        encoded = self.batcher.encode(prompts, responses)
        if self.windows and not encoded.all_shorter_than(self.max_length):
            return score_windowed(self.score_pairs, self.tokenizer, prompts, responses,
                                  self.heads, self.max_length, self.window_cache)
        scores = _sigmoid(self._encoded_logits(encoded))
        return {head: scores[:, i].copy() for i, head in enumerate(self.heads)}

    def decide(self, scores: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per-head pass/fail: ``score >= threshold`` (thresholds from ``fairguard.json``)."""
        return {head: np.asarray(scores[head]) >= self.thresholds[head] for head in self.heads}


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    """float64 ``sigmoid(logits)``."""
    return 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
