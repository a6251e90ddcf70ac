"""The adapter artifact's metrics: before/after changes and the adapter digest."""

from __future__ import annotations

import pytest
import torch

from fairguard.training.artifact import adapter_digest, change, paired_changes


def test_paired_change_skips_heads_with_nan_scores_instead_of_losing_the_adapter():
    before = {"scores": {"a": [0.1, 0.2], "b": [0.5, float("nan")]}}
    after = {"scores": {"a": [0.3, 0.4], "b": [0.5, 0.5]}}
    got = paired_changes(before, after)
    assert set(got) == {"a"} and got["a"]["change"] == pytest.approx(0.2)
    assert paired_changes({"heads": {}}, after) is None  # a checkpoint from before scores were kept


def test_change_is_after_minus_before_per_head():
    assert change({"heads": {"a": 0.5, "b": 0.1}}, {"heads": {"a": 0.75}}) == {"a": 0.25}
    assert change(None, {"heads": {"a": 0.5}}) is None


def test_adapter_digest_covers_only_trainable_parameters():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1))
    model[0].weight.requires_grad_(False)
    digest = adapter_digest(model)
    with torch.no_grad():
        model[0].weight.add_(1.0)  # frozen: the digest stays
    assert adapter_digest(model) == digest
    with torch.no_grad():
        model[1].weight.add_(1.0)
    assert adapter_digest(model) != digest
