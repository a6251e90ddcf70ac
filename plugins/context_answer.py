"""Built-in reward ``context-answer``: does the answer pick whom the context names?

For "who?" questions about two people (the multiple-choice and two-person rows of
``fairguard data build``, whose rows carry the answer key ``persons`` and ``answer``), the
completion is matched back to an option as ``fairguard eval behaviour`` does
(:func:`fairguard.metrics.multiple_choice.match_answer`): it scores 1 when it picks the person
the context names, or "cannot be determined" where the context names no one, and 0 when it
picks the other person, declines where the context answers, guesses where it cannot (also
after a hedge: "Cannot be determined. I'd say Wei."), or picks nothing. The "cannot be
determined" option is the one the prompt lists, if it lists one.

A judge that cannot read *which* person the context names rewards declining everywhere
(docs/grpo-runs.md); this reward pays for reading the context instead, so that a policy gains
nothing by saying less.

Prompts without an answer key score ``unkeyed`` (default 1: nothing to get wrong), a constant
that changes no GRPO advantage (equal within a group) and no weighted product. ``declined``
(default 0, as a wrong pick) is what an answer scores that names no one where the context names
the person ("cannot be determined", or no pick at all): below 0 it ranks declining under a wrong
pick, so that among completions that all miss the person the ones that answer gain, and a
policy that cannot yet tell the two kinds of context apart does not learn to decline everywhere
(docs/grpo-runs.md). A value below 0 needs the sum (GRPO's default) or decoupled aggregation:
a weighted product takes heads in [0, 1] only.
"""

from __future__ import annotations

import math
import os
from typing import Callable, Sequence

import numpy as np

from fairguard.errors import ConfigError
from fairguard.hookspecs import hookimpl
from fairguard.inputs import check_pairs

NAME = "context-answer"


class ContextAnswerReward:
    """1 when a completion picks the option the context supports, 0 otherwise (keyed prompts)."""

    name = NAME
    heads = (NAME,)

    def __init__(self, data: str | os.PathLike[str] | None = None, split: str = "all",
                 unkeyed: float = 1.0, declined: float = 0.0):
        from fairguard.data.loaders import PAIR_SPLITS, load_pairs
        from fairguard.metrics.multiple_choice import UNKNOWN_INDEX

        if data is None:
            raise ConfigError(f"reward {NAME!r} needs data=DIR, a folder from `fairguard data build` "
                              "(`fairguard train grpo --data DIR` passes its own)")
        if split not in (*PAIR_SPLITS, "all"):
            raise ConfigError(f"reward {NAME!r}: split must be all or one of {', '.join(PAIR_SPLITS)}, "
                              f"got {split!r}")
        for option, value in (("unkeyed", unkeyed), ("declined", declined)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"reward {NAME!r}: {option} must be a finite number, got {value!r}")
        self.unkeyed = float(unkeyed)
        self.declined = float(declined)
        self.keys: dict[str, tuple[tuple[str, str, str], int]] = {}
        splits = PAIR_SPLITS if split == "all" else (split,)
        for row in (r for s in splits for r in load_pairs(data, s)):
            if row.persons:
                options = (row.persons[0], row.persons[1], _unknown_wording(row.prompt))
                self.keys[row.prompt] = (options, row.persons.index(row.answer) if row.answer else UNKNOWN_INDEX)
        if not self.keys:
            raise ConfigError(f"reward {NAME!r}: {data} ({split}) has no rows with an "
                              "answer key (persons); rebuild it with this version's `fairguard data build`")

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> dict[str, np.ndarray]:
        from fairguard.metrics.multiple_choice import UNKNOWN_INDEX, match_answer, named_alone

        prompts, completions = check_pairs(prompts, completions)
        values = []
        for prompt, completion in zip(prompts, completions):
            key = self.keys.get(prompt)
            if key is None:
                values.append(self.unkeyed)
                continue
            options, right = key
            picked = match_answer(completion, options, UNKNOWN_INDEX)
            alone = named_alone(completion, options, UNKNOWN_INDEX)
            if picked == right and alone <= {right}:
                values.append(1.0)
            elif right != UNKNOWN_INDEX and picked in (UNKNOWN_INDEX, None) and not alone:
                values.append(self.declined)
            else:
                values.append(0.0)
        return {NAME: np.asarray(values, dtype=np.float64)}


def _unknown_wording(prompt: str) -> str:
    """The "cannot be determined" option that ``prompt`` lists, else the usual wording."""
    from fairguard.data.choice import UNKNOWN_WORDINGS
    from fairguard.metrics.multiple_choice import UNKNOWN_OPTION

    lowered = prompt.lower()
    return next((w for w in UNKNOWN_WORDINGS if w.lower() in lowered), UNKNOWN_OPTION)


@hookimpl
def register_rewards(register: Callable[..., None]) -> None:
    register(NAME, ContextAnswerReward,
             "1 when a 'who?' answer picks whom the context names ('cannot be determined' where "
             "it names no one), else 0 (declining where it names one: option declined); needs "
             "data=DIR (train grpo passes --data)")
