"""Batches for an inference session: pairs tokenised once, sorted by length, padded per batch.

:class:`PairBatcher` tokenises ``[CLS] prompt [SEP] response [SEP]`` exactly as
:func:`fairguard.reward_model.tokenize_pairs` does (same truncation to ``max_length``), but
without padding; pairs are then ordered by token count and each batch is padded only to its
own longest pair, into int64 arrays that onnxruntime reads without a copy. A fast tokenizer is
used through a private copy of its Rust tokenizer, configured once (truncation on, padding off)
and only read afterwards, so encoding needs no lock and never rewrites the settings of the
tokenizer other threads use.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# Padded tokens per batch that the ONNX scorer aims at by default: on the 2-core development
# machine, int8 and fp32 throughput peaked at about this size and fell at larger batches
# (docs/export.md, "Batches by tokens").
BATCH_TOKENS = 640
# A batch cut by the token budget holds a multiple of this many pairs: on that machine int8
# batches of 24, 32, 40 or 48 short pairs ran 5-10 % faster than batches of 25-31 or 33-36.
ALIGN = 8

_ONE = np.zeros(1, dtype=np.int64)  # the rows of a one-pair call (read-only)
_ONE.flags.writeable = False


@dataclass(frozen=True)
class EncodedPairs:
    """Unpadded token ids of ``n`` pairs: row ``i`` is ``ids[i]`` with segment ids ``types[i]``."""

    ids: list[list[int]]
    types: list[list[int]]

    def lengths(self) -> np.ndarray:
        return np.fromiter((len(row) for row in self.ids), dtype=np.int64, count=len(self.ids))

    def all_shorter_than(self, max_length: int) -> bool:
        """Whether every pair has fewer than ``max_length`` tokens: none was cut, each fits whole."""
        return all(len(row) < max_length for row in self.ids)


class PairBatcher:
    """Tokenises pairs like ``tokenize_pairs(tokenizer, ..., max_length)`` and yields batches
    padded to their own longest pair, pairs sorted by length."""

    def __init__(self, tokenizer: Any, max_length: int) -> None:
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        self.pad_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0)
        self.pad_type_id = int(getattr(tokenizer, "pad_token_type_id", 0) or 0)
        if getattr(tokenizer, "padding_side", "right") != "right":
            from fairguard.errors import ArtifactError

            raise ArtifactError("the reward model's tokenizer pads on the "
                                f"{tokenizer.padding_side}; its scorer pads on the right. Set "
                                '"padding_side": "right" in tokenizer_config.json')
        self._rust = None
        self._lock = threading.Lock()  # only for slow tokenizers (their call is not thread-safe)
        if getattr(tokenizer, "is_fast", False):
            from tokenizers import Tokenizer

            rust = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
            rust.no_padding()
            rust.enable_truncation(self.max_length, stride=0, strategy="longest_first",
                                   direction=getattr(tokenizer, "truncation_side", "right"))
            self._rust = rust
            # No character offsets are needed: the variant that skips them when it exists.
            self._encode_batch = getattr(rust, "encode_batch_fast", rust.encode_batch)

    def encode(self, prompts: Sequence[str], responses: Sequence[str]) -> EncodedPairs:
        """Token and segment ids of each pair, truncated to ``max_length``, unpadded."""
        if not prompts:
            return EncodedPairs([], [])
        if self._rust is not None:
            if len(prompts) == 1:  # no worker threads to wake for one pair
                encodings = [self._rust.encode(prompts[0], responses[0])]
            else:
                encodings = self._encode_batch(list(zip(prompts, responses)))
            return EncodedPairs([e.ids for e in encodings], [e.type_ids for e in encodings])
        with self._lock:
            enc = self.tokenizer(list(prompts), list(responses), truncation=True,
                                 max_length=self.max_length, padding=False)
        ids = enc["input_ids"]
        types = enc.get("token_type_ids") or [[0] * len(row) for row in ids]
        return EncodedPairs(ids, types)

    def batches(self, prompts: Sequence[str], responses: Sequence[str], batch_size: int,
                max_tokens: int | None = None
                ) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
        """``(rows, arrays)`` per batch: ``rows`` are the pairs' positions in the input, the
        arrays ``input_ids``, ``token_type_ids`` and ``attention_mask`` (int64,
        ``[len(rows), longest pair in the batch]``), valid until the next batch is taken (one
        buffer serves every batch of the call). Pairs go shortest first; a batch holds at most
        ``batch_size`` pairs and, when ``max_tokens`` is set, at most that many padded tokens
        (rows x width; a pair longer than that is a batch of its own)."""
        return self.padded(self.encode(prompts, responses), batch_size, max_tokens)

    def padded(self, encoded: EncodedPairs, batch_size: int, max_tokens: int | None = None
               ) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
        """:meth:`batches` of pairs already encoded by :meth:`encode`."""
        if len(encoded.ids) == 1:  # one pair: its own arrays, nothing to sort or pad
            n = len(encoded.ids[0])
            yield _ONE, {"input_ids": np.array(encoded.ids, dtype=np.int64),
                         "token_type_ids": np.array(encoded.types, dtype=np.int64),
                         "attention_mask": np.ones((1, n), dtype=np.int64)}
            return
        lengths = encoded.lengths()
        order = np.argsort(lengths, kind="stable")
        bounds = length_batches(lengths[order], batch_size, max_tokens)
        # One buffer per input for the whole call; each batch is a contiguous view of its start.
        biggest = max(((end - start) * int(lengths[order[end - 1]]) for start, end in bounds),
                      default=0)
        flat = {name: np.empty(biggest, dtype=np.int64)
                for name in ("input_ids", "token_type_ids", "attention_mask")}
        for start, end in bounds:
            rows = order[start:end]
            width = int(lengths[order[end - 1]])  # sorted: the batch's last pair is its longest
            size = len(rows) * width
            ids = flat["input_ids"][:size].reshape(len(rows), width)
            types = flat["token_type_ids"][:size].reshape(len(rows), width)
            mask = flat["attention_mask"][:size].reshape(len(rows), width)
            ids.fill(self.pad_id)
            types.fill(self.pad_type_id)
            mask.fill(0)
            for k, i in enumerate(rows):
                n = lengths[i]
                ids[k, :n] = encoded.ids[i]
                types[k, :n] = encoded.types[i]
                mask[k, :n] = 1
            yield rows, {"input_ids": ids, "token_type_ids": types, "attention_mask": mask}


def length_batches(sorted_lengths: np.ndarray, batch_size: int, max_tokens: int | None = None
                   ) -> list[tuple[int, int]]:
    """``(start, end)`` of consecutive batches over pairs sorted by ascending length: each holds
    at most ``batch_size`` pairs and, with ``max_tokens``, at most that many tokens once padded to
    its longest pair (at least one pair, however long); a batch that the tokens cut at more than
    ``ALIGN`` pairs is cut at a multiple of ``ALIGN``."""
    n = len(sorted_lengths)
    if max_tokens is None:
        return [(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]
    bounds = []
    start = 0
    while start < n:
        end = start + 1
        while (end < n and end - start < batch_size
               and (end - start + 1) * int(sorted_lengths[end]) <= max_tokens):
            end += 1
        if end < n and end - start < batch_size and end - start > ALIGN:
            end -= (end - start) % ALIGN  # cut by tokens: a whole number of ALIGN rows
        bounds.append((start, end))
        start = end
    return bounds
