"""Applying a trained layer at serving time: a ``LogitsProcessor`` and a fill-mask helper.

The layer re-weights the LM's top-k tokens and leaves everything else alone: with M the LM's
probability mass on its top k, token i of the top k gets M x pi_i (pi = the layer's refined
distribution) and every other token keeps its probability. The identity layer therefore
changes nothing, and the distribution stays normalised.

Where: by default only at the *answer slot*, the first generated position (``slots="first"``),
because that is the only kind of distribution the layer was trained on: the top k at the point
where a question is answered. Re-weighting every step (``slots="every"``) applies a map learned
on answer distributions to ordinary next-token distributions, where it mostly reshapes
confidence on function words and costs fluency for no measured bias benefit; it is offered for
experiments. For masked LMs, :func:`refine_mask_logits` re-weights the logits at mask positions.
"""

from __future__ import annotations

import torch
from transformers import LogitsProcessor

from fairguard.errors import ConfigError
from fairguard.refine.layer import RefineLayer

SLOTS = ("first", "every")


def refine_scores(layer: RefineLayer, scores: torch.Tensor) -> torch.Tensor:
    """Re-weight the top k of ``scores`` [B, V] (logits or log-probs); returns log-probabilities.
    The layer moves to the device of ``scores`` (a policy on cuda, a layer loaded on the CPU)."""
    weight = next(layer.parameters(), None)
    if weight is not None and weight.device != scores.device:
        layer.to(scores.device)
    logp = torch.log_softmax(scores.float(), dim=-1)
    values, indices = logp.topk(layer.k, dim=-1)
    finite = torch.isfinite(values)
    mass = torch.logsumexp(values, dim=-1, keepdim=True)
    with torch.no_grad():
        refined = layer(torch.where(finite, values, torch.full_like(values, -1e4)))
    new = torch.where(finite, refined + mass, torch.full_like(values, float("-inf")))
    return logp.scatter(-1, indices, new).to(scores.dtype)


class RefineLogitsProcessor(LogitsProcessor):
    """``transformers.LogitsProcessor`` that applies a REFINE-LM layer at answer slots."""

    def __init__(self, layer: RefineLayer, slots: str = "first"):
        if slots not in SLOTS:
            raise ConfigError(f"slots must be one of {', '.join(SLOTS)}, got {slots!r}")
        self.layer = layer.eval()
        self.slots = slots
        self._last: torch.Tensor | None = None

    def _is_first_step(self, input_ids: torch.Tensor) -> bool:
        last, self._last = self._last, input_ids.detach()
        if last is None or last.shape[0] != input_ids.shape[0] or last.shape[1] + 1 != input_ids.shape[1]:
            return True
        return not torch.equal(last, input_ids[:, :-1])  # a new prompt, not a continuation

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if self.slots == "first" and not self._is_first_step(input_ids):
            return scores
        return refine_scores(self.layer, scores)


def refine_mask_logits(layer: RefineLayer, logits: torch.Tensor, input_ids: torch.Tensor,
                       mask_token_id: int) -> torch.Tensor:
    """Masked-LM logits [B, T, V] with the layer applied at every ``mask_token_id`` position."""
    out = logits.clone()
    where = input_ids == mask_token_id
    if where.any():
        out[where] = refine_scores(layer, logits[where])
    return out
