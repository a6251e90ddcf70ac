"""The questions ``fairguard eval behaviour`` asks: UnQover multiple choice, everyday questions
and counterfactual pairs, capped and spread over categories."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from fairguard.metrics.bbq import BBQExample

T = TypeVar("T")


def spread(items: Sequence[T], key: Callable[[T], str], n: int | None) -> list[T]:
    """The first ``n`` items taken round-robin over ``key`` groups (each group in its order)."""
    if n is None or n >= len(items):
        return list(items)
    groups: dict[str, list[T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    out: list[T] = []
    for rank in range(max(len(g) for g in groups.values())):
        out += [g[rank] for g in groups.values() if rank < len(g)]
    return out[:n]


@dataclass(frozen=True)
class QuestionSets:
    """Every question both policies answer."""

    ambig: list[dict[str, Any]]  # UnQover ambiguous rows, whole units
    disambig: list[dict[str, Any]]
    everyday: list[Any]  # EverydayQuestion
    counterfactual: list[Any]  # CounterfactualPair
    sources: dict[str, Any]


def question_sets(seed: int = 0, limit: int | None = None) -> QuestionSets:
    """The UnQover test split (ambiguous in whole units, disambiguated), the everyday questions
    and the counterfactual pairs, each capped at ``limit`` spread over categories or topics."""
    from fairguard.data.unqover import build_unqover
    from fairguard.evaluation.everyday import load_everyday_questions
    from fairguard.metrics.counterfactual import counterfactual_pairs
    from fairguard.metrics.multiple_choice import unit_key

    rows, _ = build_unqover(seed)
    units: dict[str, list[dict[str, Any]]] = {}
    for row in rows["test"]:
        units.setdefault(unit_key(row), []).append(row)
    n_units = None if limit is None else math.ceil(limit / 4)
    chosen = spread(list(units.values()), lambda unit: unit[0]["category"], n_units)
    everyday = load_everyday_questions()
    return QuestionSets(
        ambig=[row for unit in chosen for row in unit],
        disambig=spread(rows["disambig_test"], lambda r: r["category"], limit),
        everyday=spread(everyday.questions, lambda q: q.topic, limit),
        counterfactual=spread(counterfactual_pairs(), lambda p: p.category, limit),
        sources={"unqover": f"fairguard.data.unqover.build_unqover(seed={seed}), test split",
                 "everyday": everyday.source, "everyday_sha256": everyday.sha256,
                 "counterfactual": "fairguard.metrics.counterfactual.TEMPLATES x group pairs "
                                   "of fairguard/data/groups.yaml"})


def choice_examples(sets: QuestionSets) -> list[BBQExample]:
    """The multiple-choice questions, ambiguous then disambiguated."""
    from fairguard.metrics.multiple_choice import unqover_example

    return [unqover_example(r) for r in sets.ambig + sets.disambig]


def generation_prompts(sets: QuestionSets) -> list[str]:
    """Every prompt a policy answers by generation, in one order: the multiple-choice prompts,
    the everyday questions, then both prompts of each counterfactual pair."""
    return ([choice_prompt(e) for e in choice_examples(sets)] + [q.question for q in sets.everyday]
            + [p for pair in sets.counterfactual for p in pair.prompts])


def answers_by_set(sets: QuestionSets, answers: Sequence[str]) -> dict[str, Any]:
    """Answers in :func:`generation_prompts` order, split into ``choice``, ``everyday`` and
    ``counterfactual`` (one ``(a, b)`` tuple per pair)."""
    n_choice, n_everyday = len(sets.ambig) + len(sets.disambig), len(sets.everyday)
    open_answers = list(answers[n_choice + n_everyday:])
    return {"choice": list(answers[:n_choice]),
            "everyday": list(answers[n_choice:n_choice + n_everyday]),
            "counterfactual": [tuple(open_answers[2 * i:2 * i + 2])
                               for i in range(len(sets.counterfactual))]}


def choice_prompt(example: BBQExample) -> str:
    """The generation prompt of a multiple-choice question: context, question and options."""
    options = "; ".join(example.options)
    return (f"{example.context}\nQuestion: {example.question}\nOptions: {options}.\n"
            "Answer with one of the options.")
