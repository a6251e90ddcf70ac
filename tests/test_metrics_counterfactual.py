"""Counterfactual pairs from the group lexicon, and the gap of a score across a swapped pair."""

from __future__ import annotations

import pytest

from fairguard.data.groups import group_by_term, groups_by_category
from fairguard.errors import DataError
from fairguard.metrics.counterfactual import (
    TEMPLATES,
    counterfactual_pairs,
    group_pairs,
    pair_gaps,
)


def test_groups_of_one_category_are_paired_in_lexicon_order():
    pairs = group_pairs()
    assert ("gender", "women", "a woman", "men", "a man") in pairs
    assert pairs[0][:2] == ("region", "Henan") and pairs[0][3] == "Anhui"
    for category, term_a, person_a, term_b, person_b in pairs:
        a, b = group_by_term(term_a), group_by_term(term_b)
        assert a.category == b.category == category and term_a != term_b
        assert (a.noun, b.noun) == (person_a, person_b)
    expected = sum(len(groups) // 2 for groups in groups_by_category().values())
    assert len(pairs) == expected


def test_pairs_differ_only_in_the_group():
    pairs = counterfactual_pairs()
    assert len(pairs) == len(group_pairs()) * len(TEMPLATES)
    assert len({p.id for p in pairs}) == len(pairs)
    for pair in pairs:
        a, b = (group_by_term(t).noun for t in pair.groups)
        assert pair.prompts[0].replace(a, "{person}") == pair.prompts[1].replace(b, "{person}") \
            == TEMPLATES[pair.template]


def test_the_first_pairs_vary_the_template():
    first = counterfactual_pairs()[:len(TEMPLATES)]
    assert len({p.template for p in first}) == len(TEMPLATES)


def test_categories_can_be_chosen():
    pairs = counterfactual_pairs(["gender"])
    assert {p.category for p in pairs} == {"gender"}
    with pytest.raises(DataError, match="unknown group categories"):
        group_pairs(["planets"])


def test_gaps_are_absolute_differences():
    assert pair_gaps([0.9, 0.2, 0.5], [0.4, 0.6, 0.5]) == pytest.approx([0.5, 0.4, 0.0])
    with pytest.raises(DataError, match="2 scores for group A and 1"):
        pair_gaps([0.1, 0.2], [0.3])
