"""PNG training curves."""

from __future__ import annotations

from fairguard.training.plot import plot_training


def test_plots_written(tmp_path):
    rows = [{"step": s, "loss": 0.1 * s, "kl": 0.01 * s,
             "rewards": {"fairness": {"mean": 0.5 + s / 10}, "total": {"mean": 1.0}}} for s in (1, 2, 3)]
    paths = plot_training(rows, tmp_path)
    assert sorted(p.name for p in paths) == ["kl.png", "loss.png", "rewards.png"]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(plot_training([{"step": 1, "loss": 0.0, "rewards": {}}], tmp_path)) == 3  # no KL logged


def test_long_runs_get_a_smoothed_curve(tmp_path):
    rows = [{"step": s, "loss": float(s % 3), "rewards": {"fairness": {"mean": (s % 5) / 5}}}
            for s in range(1, 41)]
    for p in plot_training(rows, tmp_path):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
