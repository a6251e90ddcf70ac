"""The pieces the three training loops share: seeding, best weights, curves, figures."""

from __future__ import annotations

import random

import numpy as np
import torch

from fairguard.artifacts import read_jsonl, write_jsonl
from fairguard.loops import (
    BestState,
    plot_curve,
    pyplot,
    running_mean,
    save_figure,
    seed_everything,
)


def test_seed_everything_repeats_python_numpy_and_torch():
    seed_everything(3)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    seed_everything(3)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


def test_best_state_keeps_a_copy_of_the_best_weights_and_restores_it():
    layer = torch.nn.Linear(2, 1)
    best = BestState()
    assert best.update(0.5, layer, 1)
    kept = layer.weight.detach().clone()
    with torch.no_grad():
        layer.weight.add_(1.0)  # the copy must not follow the live weights
    assert not best.update(0.4, layer, 2) and best.step == 1
    assert not best.update(float("nan"), layer, 3)
    best.restore(layer)
    assert torch.equal(layer.weight, kept)
    assert best.update(0.1, layer, 4, force=True) and best.score == 0.1


def test_best_state_without_an_update_leaves_the_module_alone():
    layer = torch.nn.Linear(2, 1)
    weight = layer.weight.detach().clone()
    BestState().restore(layer)
    assert torch.equal(layer.weight, weight)


def test_running_mean_averages_the_last_window():
    assert running_mean([1.0, 3.0, 5.0, 7.0], window=2) == [1.0, 2.0, 4.0, 6.0]
    assert running_mean([2.0], window=8) == [2.0]


def test_curves_round_trip_through_jsonl(tmp_path):
    path = tmp_path / "curve.jsonl"
    write_jsonl(path, [{"step": 1, "loss": 0.5}])
    write_jsonl(path, [{"step": 2, "loss": float("nan"), "text": "男"}], append=True)
    assert read_jsonl(path) == [{"step": 1, "loss": 0.5}, {"step": 2, "loss": None, "text": "男"}]


def test_figures_are_written_as_png(tmp_path):
    fig, ax = pyplot().subplots()
    plot_curve(ax, list(range(1, 41)), [float(s % 3) for s in range(1, 41)], "loss")
    plot_curve(ax, [1, 2], [0.0, 1.0], "short")
    path = save_figure(fig, tmp_path / "c.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
