"""``fairguard train reward``: train the multi-head (fairness, relevance, fluency) reward model."""

from __future__ import annotations

from typing import Any

import click

from fairguard.cli.options import options_from
from fairguard.reward_model.config import RewardTrainConfig


@click.command(name="reward")
@options_from(RewardTrainConfig)
@click.option("--config", "config_path", type=click.Path(), default=None,
              help="YAML file with any of these options; flags override it.")
def train_reward(config_path: str | None, **options: Any) -> None:
    """Train a reward model that scores (prompt, response) for fairness, relevance and fluency.

    Writes an ordinary AutoModelForSequenceClassification folder plus fairguard.json,
    metrics.json (test split and a hand-written set) and training.png.
    """
    from fairguard.config import build_config
    from fairguard.reward_model.calibrate import describe_thresholds
    from fairguard.reward_model.train import train_reward_model

    config = build_config(RewardTrainConfig, config_path, **options)
    result = train_reward_model(config)
    if not result.main_process:  # another rank of a torchrun / accelerate launch run; rank 0 reports
        return
    m = result.metrics
    click.echo(f"wrote {result.out} (best epoch {m['best_epoch']}, {m['train_seconds']:.0f} s training)")
    for head, hm in m["heads"].items():
        auc = "n/a" if hm["roc_auc"] is None else f"{hm['roc_auc']:.3f}"
        pair = "n/a" if hm["pairwise_accuracy"] is None else f"{hm['pairwise_accuracy']:.3f}"
        hand = m["handwritten"]["heads"][head]
        hauc = "n/a" if hand["roc_auc"] is None else f"{hand['roc_auc']:.3f}"
        cut = m.get("test_cut_off", {}).get("heads", {}).get(head, {}).get("roc_auc")
        cauc = "n/a" if cut is None else f"{cut:.3f}"
        click.echo(f"  {head:<10} test acc {hm['accuracy']:.3f}  auc {auc}  pairwise {pair}   "
                   f"cut-off auc {cauc}   handwritten acc {hand['accuracy']:.3f}  auc {hauc}")
    cal = m.get("calibration")
    if cal:
        click.echo(f"  thresholds for a {cal['false_flag_rate']:.0%} false-flag rate on "
                   f"{cal['split']}: {describe_thresholds(cal)}")
    dil = m.get("dilution")
    if dil:
        click.echo(f"  one biased sentence among 3-30 neutral ones (test split): flagged "
                   f"{dil['flagged_with_biased']:.1%}; the same answers without it pass "
                   f"{dil['passed_without']:.1%}")
