"""An example third-party fairguard plugin.

It registers the reward ``generalization``: 1.0 for a completion with no sweeping
generalisations about a group ("all X are", "those people", "X are always", "typical X"),
falling by 0.5 for each one found (floored at 0). Install it with
``pip install examples/fairguard-plugin-example`` and it shows up in ``fairguard plugins``.
"""

from __future__ import annotations

import re

import click
import numpy as np

import fairguard

PATTERNS = [
    re.compile(r"\ball (?:of )?(?:the |those |these )?\w+(?: \w+)? (?:are|is)\b", re.I),
    re.compile(r"\bthose people\b", re.I),
    re.compile(r"\b(?:are|is) (?:always|never|naturally|inherently)\b", re.I),
    re.compile(r"\btypical(?:ly)? \w+", re.I),
    re.compile(r"\bpeople (?:like|from) (?:them|there)\b", re.I),
    re.compile(r"\beveryone knows\b", re.I),
]


def generalizations(text: str) -> int:
    """Number of sweeping-generalisation phrases in ``text``."""
    return sum(len(p.findall(text)) for p in PATTERNS)


class GeneralizationReward:
    name = "generalization"
    heads = ("generalization",)

    def score(self, prompts, completions):
        values = [max(0.0, 1.0 - 0.5 * generalizations(c)) for c in completions]
        return {"generalization": np.asarray(values, dtype=float)}


@fairguard.hookimpl
def register_rewards(register):
    register("generalization", GeneralizationReward,
             "penalises sweeping generalisations about groups (example plugin)")


@fairguard.hookimpl
def register_commands(cli):
    @cli.command(name="generalizations")
    @click.argument("text")
    def generalizations_command(text):
        """Count sweeping generalisations in TEXT (example plugin)."""
        click.echo(generalizations(text))
