"""The reference-free fluency proxy: a reward (head ``fluency-proxy``) that runs a reference
causal LM over each response and maps its mean per-token NLL to (0, 1] with
:func:`fairguard.metrics.quality.fluency_from_nll` (see that module for the formula)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from fairguard.errors import ConfigError
from fairguard.inputs import check_pairs, check_texts
from fairguard.metrics.quality import DEFAULT_TEMPERATURE, fluency_from_nll

FLUENCY_PROXY = "fluency-proxy"


def mean_token_nll(model: Any, tokenizer: Any, texts: Sequence[str], *, batch_size: int = 8,
                   max_length: int = 512) -> np.ndarray:
    """Mean per-token NLL (nats) of each text under a causal LM; NaN for an empty text.

    Each text is prefixed with the tokenizer's BOS token (EOS when it has none) so that its first
    token is predicted too; special tokens the tokenizer would add itself are not used.
    """
    import torch

    texts = check_texts(texts, "responses", allow_empty=True)
    start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    if start is None:
        raise ConfigError("the reference LM's tokenizer has neither a BOS nor an EOS token")
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else start
    out = np.full(len(texts), np.nan)
    device = next(model.parameters()).device
    encoded = [tokenizer(t, add_special_tokens=False)["input_ids"][: max_length - 1] if t.strip() else []
               for t in texts]
    order = [i for i in range(len(texts)) if encoded[i]]
    for b in range(0, len(order), batch_size):
        idx = order[b:b + batch_size]
        seqs = [[start] + encoded[i] for i in idx]
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), pad, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for row, seq in enumerate(seqs):
            ids[row, : len(seq)] = torch.tensor(seq)
            mask[row, : len(seq)] = 1
        ids, mask = ids.to(device), mask.to(device)
        with torch.no_grad():
            logits = model(input_ids=ids, attention_mask=mask).logits.float()
        logp = torch.log_softmax(logits[:, :-1], dim=-1)
        target_logp = logp.gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
        target_mask = mask[:, 1:].float()
        nll = -(target_logp * target_mask).sum(-1) / target_mask.sum(-1)
        out[idx] = nll.cpu().numpy()
    return out


class FluencyProxy:
    """A reward (head ``fluency-proxy``) = ``exp(-NLL / T)`` of the completion under a reference
    causal LM; the prompt is ignored. Empty completions score 0."""

    name = FLUENCY_PROXY
    heads: tuple[str, ...] = (FLUENCY_PROXY,)

    def __init__(self, model: Any, tokenizer: Any, temperature: float = DEFAULT_TEMPERATURE,
                 batch_size: int = 8):
        fluency_from_nll(0.0, temperature)  # validates the temperature
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.model, self.tokenizer = model, tokenizer
        self.temperature = float(temperature)
        self.batch_size = batch_size

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> dict[str, np.ndarray]:
        _, completions = check_pairs(prompts, completions)
        nll = mean_token_nll(self.model, self.tokenizer, completions, batch_size=self.batch_size)
        empty = np.isnan(nll)
        values = np.zeros(len(completions))
        if (~empty).any():
            values[~empty] = fluency_from_nll(nll[~empty], self.temperature)
        return {FLUENCY_PROXY: values}
