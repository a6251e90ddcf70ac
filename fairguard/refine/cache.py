"""The frozen LM's top-k at each answer slot, computed once and cached.

The LM never changes during REFINE-LM training, so its top-k log-probabilities and token ids at
every question's answer slot are computed once (batched, no gradients) and reused by every
epoch and by the before/after evaluation. With a cache folder they are also kept on disk,
keyed by the base model's fingerprint, k and the exact prompt token ids, so re-running training
or evaluation on the same questions does not run the LM again.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from fairguard.errors import ConfigError, DataError
from fairguard.refine.answer_slot import AnswerSlot, LMKind

MIN_PREFIX = 4  # shared prompt tokens worth a key/value cache


@dataclass
class TopK:
    """``logprobs`` [N, k] (full-vocabulary log-probabilities, descending) and ``ids`` [N, k]."""

    logprobs: Any
    ids: Any

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def select(self, index: Any) -> "TopK":
        return TopK(self.logprobs[index], self.ids[index])


def check_k(k: int, vocab_size: int) -> None:
    """Raise :class:`ConfigError` unless 2 <= k <= vocab_size."""
    if not isinstance(k, int) or k < 2:
        raise ConfigError(f"k must be an integer >= 2 (two subjects must fit), got {k!r}")
    if k > vocab_size:
        raise ConfigError(f"k={k} is larger than the model's vocabulary ({vocab_size} tokens); "
                          "choose a smaller --k")


def cache_key(fingerprint: str, k: int, slots: Sequence[AnswerSlot]) -> str:
    """Key of a top-k table: the base model, k and every prompt's ids and slot."""
    h = hashlib.sha256(f"{fingerprint}|{k}".encode())
    for s in slots:
        h.update(json.dumps([s.slot, s.input_ids]).encode())
    return h.hexdigest()[:32]


def common_prefix_length(slots: Sequence[AnswerSlot]) -> int:
    """Length of the token prefix shared by every prompt (at most the shortest minus one)."""
    first = slots[0].input_ids
    n = min(len(s.input_ids) for s in slots) - 1
    for s in slots[1:]:
        i = 0
        while i < n and s.input_ids[i] == first[i]:
            i += 1
        n = i
    return max(n, 0)


def _prefix_cache(model: Any, prefix: Sequence[int]) -> Any:
    import torch

    with torch.no_grad():
        return model(input_ids=torch.tensor([list(prefix)]), use_cache=True).past_key_values


def _forward_topk(model: Any, batch: Sequence[AnswerSlot], k: int, kind: LMKind, pad_id: int,
                  prefix_len: int = 0, prefix_cache: Any = None) -> tuple[Any, Any]:
    """Top-k at the slots of one batch. Causal prompts sharing a ``prefix_len``-token prefix
    reuse its key/value cache, so only the rest of each prompt is run."""
    import copy

    import torch

    if prefix_len:
        batch = [AnswerSlot(s.input_ids[prefix_len:], s.slot - prefix_len, s.subject_ids, s.answer)
                 for s in batch]
    width = max(len(s.input_ids) for s in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    slot = torch.zeros(len(batch), dtype=torch.long)
    for row, s in enumerate(batch):
        n = len(s.input_ids)
        if kind == "causal":  # left padding: the slot is the last position of every row
            ids[row, width - n:] = torch.tensor(s.input_ids)
            mask[row, width - n:] = 1
            slot[row] = width - n + s.slot
        else:
            ids[row, :n] = torch.tensor(s.input_ids)
            mask[row, :n] = 1
            slot[row] = s.slot
    kwargs: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
    with torch.no_grad():
        if kind == "causal":  # the slot is the last position: compute only its logits
            kwargs["position_ids"] = (mask.cumsum(-1) - 1).clamp(min=0) + prefix_len
            if prefix_len:
                cache = copy.deepcopy(prefix_cache)
                cache.batch_repeat_interleave(len(batch))
                kwargs["past_key_values"] = cache
                kwargs["attention_mask"] = torch.cat(
                    [torch.ones((len(batch), prefix_len), dtype=torch.long), mask], dim=1)
            at_slot = model(**kwargs, logits_to_keep=1).logits[:, -1]
        else:
            at_slot = model(**kwargs).logits[torch.arange(len(batch)), slot]
    at_slot = at_slot.float().log_softmax(-1)
    values, indices = at_slot.topk(k, dim=-1)
    return values, indices


def compute_topk(model: Any, slots: Sequence[AnswerSlot], k: int, kind: LMKind, pad_id: int,
                 *, batch_size: int = 16, cache_dir: str | Path | None = None,
                 fingerprint: str = "", desc: str = "LM top-k") -> TopK:
    """The LM's top-k at every slot (from the disk cache when present)."""
    import torch
    from safetensors.torch import load_file, save_file
    from tqdm.auto import tqdm

    if not slots:
        raise DataError("no questions to score; check the category and the data folder")
    check_k(k, int(model.get_output_embeddings().weight.shape[0]))
    path = None
    if cache_dir is not None and fingerprint:
        path = Path(cache_dir) / f"topk-{cache_key(fingerprint, k, slots)}.safetensors"
        if path.is_file():
            try:
                data = load_file(str(path))
                if data["ids"].shape == (len(slots), k):
                    return TopK(data["logprobs"], data["ids"])
            except Exception:  # a corrupt cache file is recomputed, never trusted
                pass
    order = sorted(range(len(slots)), key=lambda i: len(slots[i].input_ids))
    prefix_len, prefix_cache = 0, None
    if kind == "causal" and common_prefix_length(slots) >= MIN_PREFIX:
        prefix_len = common_prefix_length(slots)
        prefix_cache = _prefix_cache(model, slots[0].input_ids[:prefix_len])
    logprobs = torch.empty((len(slots), k), dtype=torch.float32)
    ids = torch.empty((len(slots), k), dtype=torch.long)
    with tqdm(total=len(slots), desc=desc, unit="q", leave=False) as bar:
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            values, indices = _forward_topk(model, [slots[i] for i in chunk], k, kind, pad_id,
                                            prefix_len, prefix_cache)
            logprobs[chunk] = values
            ids[chunk] = indices
            bar.update(len(chunk))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        save_file({"logprobs": logprobs, "ids": ids}, str(tmp))
        tmp.replace(path)
    return TopK(logprobs, ids)
