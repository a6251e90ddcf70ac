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

    def batches(self, prompts: Sequence[str], responses: Sequence[str], batch_size: int
                ) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
        """``(rows, arrays)`` per batch: ``rows`` are the pairs' positions in the input, the
        arrays ``input_ids``, ``token_type_ids`` and ``attention_mask`` (int64,
        ``[len(rows), longest pair in the batch]``), valid until the next batch is taken (one
        buffer serves every batch of the call). Pairs go shortest first."""
        return self.padded(self.encode(prompts, responses), batch_size)

    def padded(self, encoded: EncodedPairs, batch_size: int
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
        widest = int(lengths.max()) if lengths.size else 0
        # One buffer per input for the whole call; each batch is a contiguous view of its start.
        flat = {name: np.empty(min(batch_size, len(order)) * widest, dtype=np.int64)
                for name in ("input_ids", "token_type_ids", "attention_mask")}
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            width = int(lengths[rows].max())
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
