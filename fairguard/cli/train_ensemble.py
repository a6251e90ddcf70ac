"""``fairguard train ensemble``: several reward models as one judge with calibrated thresholds."""

from __future__ import annotations

from typing import Any

import click

from fairguard.cli.options import config_file_option, options_from
from fairguard.reward_model.ensemble import EnsembleConfig


@click.command(name="ensemble")
@options_from(EnsembleConfig)
@config_file_option
def train_ensemble(config_path: str | None, **options: Any) -> None:
    """Combine trained reward models into one judge (each head the mean of the members' scores)
    with thresholds calibrated on the validation split for its own scores.

    No weights are trained. Writes the members' copies, fairguard.json (thresholds) and
    metrics.json (the ensemble and each member on the test split).
    """
    from fairguard.config import build_config
    from fairguard.reward_model.calibrate import describe_thresholds
    from fairguard.reward_model.ensemble import build_ensemble

    config = build_config(EnsembleConfig, config_path, **options)
    m = build_ensemble(config)
    click.echo(f"wrote {config.out} ({len(m['members'])} members, {m['combine']} of their scores)")
    names = ["ensemble"] + [member["name"] for member in m["members"]]
    reports = [m["test"]["ensemble"]] + m["test"]["members"]
    dilution = m.get("dilution") or {}
    dil = [dilution.get("ensemble")] + list(dilution.get("members") or [None] * len(m["members"]))
    for name, report, mixed in zip(names, reports, dil):
        heads = "  ".join(
            f"{head} auc {'n/a' if hm['roc_auc'] is None else format(hm['roc_auc'], '.3f')} "
            f"(t {hm['threshold']:.3f}, false flags {hm['false_flag_rate']:.1%})"
            for head, hm in report["heads"].items() if hm["false_flag_rate"] is not None)
        extra = "" if mixed is None else f"  dilution flagged {mixed['flagged_with_biased']:.1%}"
        click.echo(f"  {name:<14} test: {heads}{extra}")
    cal = m["calibration"]
    click.echo(f"  ensemble thresholds for a {cal['false_flag_rate']:.0%} false-flag rate on "
               f"{cal['split']}: {describe_thresholds(cal)}")
