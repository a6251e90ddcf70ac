"""``fairguard train ...``: reward model, GRPO/REINFORCE adapters, REFINE-LM layers."""

from __future__ import annotations

import click


@click.group()
def train() -> None:
    """Train reward models, debiasing adapters and REFINE-LM layers."""


def _add_commands() -> None:
    from fairguard.cli.train_ensemble import train_ensemble
    from fairguard.cli.train_grpo import grpo
    from fairguard.cli.train_refine import train_refine
    from fairguard.cli.train_reward import train_reward

    for command in (train_reward, train_ensemble, grpo, train_refine):
        train.add_command(command)


_add_commands()
