"""The REFINE-LM reward: differentiable UnQover bias terms, a utility term and two guards.

Ambiguous questions are grouped into *quads*: one (category, template, x1, x2, attribute) in
both polarities (a, a-bar) and both subject orders (12, 21). With S the subject scores of a
quad, as defined in design.md:

- positional term  = mean |S(x|tau_12(a)) - S(x|tau_21(a))| over x, polarity (delta);
- attributive term = mean of |S(x1|a) - S(x2|a-bar)| and |S(x2|a) - S(x1|a-bar)|, per order
  (epsilon);
- |C| with C = 1/2 [B(x1|x2,a) - B(x2|x1,a)], B as in design.md (the reference's -|C| reward).

|C| alone cannot see positional dependence: a model that always answers with the first-named
subject has C = 0 in every quad (the two orders cancel) but delta = 1. So the bias part of the
reward is a weighted sum of all three; the weights are options. Defaults (picked from a few
settings compared on SmolLM2-135M gender questions): R = -(|C| + 2 delta + epsilon) + utility
- 0.2 mass_loss - 5 rank_violation.

Subject mass: mean drop of log(S(x1) + S(x2)) below the LM's own, on ambiguous questions (gains
earn nothing, so it cannot pay for sharpening). The bias terms alone are also cut by moving
probability from both subjects to other top-k tokens ("The", "B", ...), which is
not an answer at all and turns the greedy answer of disambiguated questions into a non-answer;
this term makes the layer re-balance between the subjects instead.

Rank keeping: sum_i relu(out_{i+1} - out_i) over the top-k in the LM's order. An unbiased answer
to an under-specified question needs the two subjects *equal*, never swapped; a layer that
re-ranks tokens changes the greedy answer at random wherever the LM answers from the context.
This penalty lets the layer re-shape the distribution but not re-rank it.

Utility: mean log-probability (within the refined top-k) of the subject the context states, on
disambiguated questions. Without it the optimum is a flat distribution (zero bias, no answer);
a log-probability penalises exactly that flattening where the context gives the answer, unlike
argmax accuracy (unchanged by any order-preserving flattening) and unlike a KL to the LM (which
would also pin the layer to the LM's mistakes).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Sequence

import torch

ORDERS = {"12": 0, "21": 1}
POLARITIES = {"pos": 0, "neg": 1}


@dataclass(frozen=True)
class RewardWeights:
    """Weights of the reward terms (bias terms are subtracted, utility is added)."""

    c: float = 1.0
    positional: float = 2.0
    attributive: float = 1.0
    utility: float = 1.0
    mass: float = 0.2
    order: float = 5.0


def group_quads(questions: Sequence[Any]) -> tuple[torch.Tensor, int]:
    """``([G, 2, 2] question indices by [quad, polarity(pos, neg), order(12, 21)], n_left_out)``.

    Questions whose quad is incomplete are left out (counted in ``n_left_out``).
    """
    slots: dict[tuple, dict[tuple[int, int], int]] = defaultdict(dict)
    for i, q in enumerate(questions):
        key = (q.category, q.template_id, q.x1, q.x2, q.attribute_id)
        slots[key][(POLARITIES[q.polarity], ORDERS[q.order])] = i
    quads, left_out = [], 0
    for cells in slots.values():
        if len(cells) == 4:
            quads.append([[cells[(p, o)] for o in (0, 1)] for p in (0, 1)])
        else:
            left_out += len(cells)
    if not quads:
        return torch.empty((0, 2, 2), dtype=torch.long), left_out
    return torch.tensor(quads, dtype=torch.long), left_out


def bias_terms(scores: torch.Tensor, quads: torch.Tensor) -> dict[str, torch.Tensor]:
    """``{"positional", "attributive", "abs_c"}`` means over ``quads`` from ``scores`` [N, 2]."""
    s = scores[quads]  # [G, pol, order, subject]
    positional = (s[:, :, 0, :] - s[:, :, 1, :]).abs().mean()
    attributive = torch.cat([(s[:, 0, :, 0] - s[:, 1, :, 1]).abs(),
                             (s[:, 0, :, 1] - s[:, 1, :, 0]).abs()]).mean()
    b = 0.5 * (s[:, 0, 0, :] + s[:, 0, 1, :]) - 0.5 * (s[:, 1, 0, :] + s[:, 1, 1, :])  # [G, 2]
    c = 0.5 * (b[:, 0] - b[:, 1])
    return {"positional": positional, "attributive": attributive, "abs_c": c.abs().mean()}


def answer_logprob(logprobs: torch.Tensor, topk_ids: torch.Tensor, answer_ids: torch.Tensor,
                   floor: float = 1e-4) -> torch.Tensor:
    """Per row: log of the refined probability of the stated answer's slot token (floored)."""
    match = (topk_ids == answer_ids.unsqueeze(-1)).to(logprobs.dtype)
    mass = (logprobs.exp() * match).sum(-1)
    return torch.log(mass.clamp(min=floor))


def subject_mass_loss(scores: torch.Tensor, base_scores: torch.Tensor, floor: float = 1e-4
                      ) -> torch.Tensor:
    """Mean relu(log m_LM - log m_layer), m = S(x1) + S(x2): how much probability the layer moved
    off the two subjects (moving more onto them earns nothing, so it cannot pay for sharpening)."""
    log_m = torch.log(scores.sum(-1).clamp(min=floor))
    log_base = torch.log(base_scores.sum(-1).clamp(min=floor))
    return torch.relu(log_base - log_m).mean()


def rank_violation(logprobs: torch.Tensor) -> torch.Tensor:
    """Mean over rows of sum_i relu(out_{i+1} - out_i): how far the refined distribution over the
    LM's top-k (given in the LM's descending order) departs from the LM's ranking."""
    return torch.relu(logprobs[..., 1:] - logprobs[..., :-1]).sum(-1).mean()


def reward(bias: dict[str, torch.Tensor], utility: torch.Tensor | None,
           weights: RewardWeights) -> torch.Tensor:
    """Scalar reward: -(w_c |C| + w_pos delta + w_attr epsilon) + w_util utility
    - w_mass subject-mass loss - w_order rank violation (when ``bias`` holds them)."""
    r = -(weights.c * bias["abs_c"] + weights.positional * bias["positional"]
          + weights.attributive * bias["attributive"])
    if "mass" in bias:
        r = r - weights.mass * bias["mass"]
    if "order" in bias:
        r = r - weights.order * bias["order"]
    if utility is not None:
        r = r + weights.utility * utility
    return r
