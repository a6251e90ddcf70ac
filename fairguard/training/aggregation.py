"""How a training run turns several reward heads into the one reward that advantages use.

``sum``: the weighted sum of the heads (TRL's GRPOTrainer, the multi-reward GRPO paper). With heads that are
probabilities, a sum lets one head buy another: fair-but-off-topic and on-topic-but-biased
answers can score the same, and the run drifts along that trade-off as the weights say.
GRPO's default: the heads are normalised together within the group, so a head moves the
advantage by its real spread there and the rare answer the fairness head flags ranks far below
its group; ``decoupled`` scales every head's spread to one size, so such a flag counts no more
than small differences in another head (docs/grpo.md, the measured runs).

``product``: the weighted geometric product ``prod_k s_k ** w_k`` of heads in [0, 1]. An answer
scores high only when every weighted head is high (for independent probability heads it is the
probability that all criteria hold, with weights as exponents), so a group's advantage favours
answers that are fair *and* relevant *and* fluent over answers that trade one for another.

``decoupled``: GDPO (Liu et al. 2026, arXiv 2601.05242). Each head is normalised within its
group on its own, the normalised heads are summed with the weights, and the sum is normalised
over the batch (``fairguard.training.losses.decoupled_advantages``). A head's pull on the
advantage then follows its weight rather than its spread: a head that varies little inside a
group (relevance among answers that all stay on topic) still counts, where in a sum or product
the head with the widest spread (fairness) decides most rankings. The logged ``total`` is the
weighted sum. GRPO only: REINFORCE has no groups.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from fairguard.errors import ConfigError

if TYPE_CHECKING:  # torch is imported by the trainer; the config must stay light
    import torch

AGGREGATIONS = ("sum", "product", "decoupled")


def check_weights(weights: Mapping[str, float], how: str | None) -> None:
    """Refuse weights that ``how`` cannot use (a product needs non-negative exponents)."""
    if how not in AGGREGATIONS:
        raise ConfigError(f"reward_aggregation must be one of {', '.join(AGGREGATIONS)}; got {how!r}")
    if how == "product":
        negative = {h: w for h, w in weights.items() if w < 0}
        if negative:
            raise ConfigError(f"reward_aggregation product needs weights >= 0 (they are exponents); "
                              f"got {negative}; use reward_aggregation sum for penalties")


def aggregate_rewards(table: torch.Tensor, heads: list[str], weights: Mapping[str, float],
                      how: str | None) -> torch.Tensor:
    """One reward per row of ``table`` (rows: completions, columns: ``heads``).

    For ``decoupled`` this is the weighted sum, which is logged; the advantages come from the
    heads themselves (``decoupled_advantages``).
    """
    import torch

    check_weights(weights, how)
    used = _weighted(heads, weights)
    if how in ("sum", "decoupled"):
        total = torch.zeros(table.shape[0], dtype=table.dtype, device=table.device)
        for column, weight in used:
            total = total + weight * table[:, column]
        return total
    for column, _ in used:
        values = table[:, column]
        if bool(((values < 0) | (values > 1)).any()):
            bad = float(values[(values < 0) | (values > 1)][0])
            raise ConfigError(f"reward_aggregation product needs every weighted head in [0, 1]; "
                              f"head {heads[column]!r} gave {bad:.4g}; use reward_aggregation sum "
                              "for this reward")
    total = torch.ones(table.shape[0], dtype=table.dtype, device=table.device)
    for column, weight in used:
        total = total * table[:, column].pow(weight)
    return total


def _weighted(heads: list[str], weights: Mapping[str, float]) -> list[tuple[int, float]]:
    """(column, weight) of every head with a non-zero weight, in the order of ``weights``."""
    return [(heads.index(h), float(w)) for h, w in weights.items() if w != 0]


def weighted_columns(table: torch.Tensor, heads: list[str],
                     weights: Mapping[str, float]) -> tuple[torch.Tensor, list[float]]:
    """The columns of the weighted (non-zero) heads of ``table`` and their weights."""
    used = _weighted(heads, weights)
    return table[:, [c for c, _ in used]], [w for _, w in used]


__all__ = ["AGGREGATIONS", "aggregate_rewards", "check_weights", "weighted_columns"]
