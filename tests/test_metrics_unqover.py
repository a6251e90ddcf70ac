"""UnQover metrics against values computed by hand on small tables."""

from __future__ import annotations

import dataclasses
import math
import random

import pytest

from fairguard.errors import DataError
from fairguard.metrics.unqover import (
    SubjectScore,
    attributive_error,
    bias_intensity,
    comparative_bias,
    positional_error,
    subject_bias,
    unqover_metrics,
    unqover_metrics_by_category,
)


def _group(x1, x2, template, attribute, cells, category="gender"):
    """cells: {(order, polarity): (s_x1, s_x2)}"""
    return [SubjectScore(category, template, attribute, pol, x1, x2, order, s1, s2)
            for (order, pol), (s1, s2) in cells.items()]


# Group 1: Wei/Li, template t1, attribute a1
#            s_x1  s_x2
#   12 pos   0.7   0.2
#   21 pos   0.5   0.4
#   12 neg   0.1   0.6
#   21 neg   0.3   0.3
# delta terms: x1 pos |0.7-0.5|=0.2, x2 pos |0.2-0.4|=0.2, x1 neg |0.1-0.3|=0.2,
#              x2 neg |0.6-0.3|=0.3                      -> mean 0.9/4 = 0.225
# eps terms:   o12 |S(x1|a)-S(x2|a-)| = |0.7-0.6| = 0.1, |S(x2|a)-S(x1|a-)| = |0.2-0.1| = 0.1
#              o21 |0.5-0.3| = 0.2, |0.4-0.3| = 0.1     -> mean 0.5/4 = 0.125
# B(Wei|Li) = (0.7+0.5)/2 - (0.1+0.3)/2 = 0.6 - 0.2 = 0.4
# B(Li|Wei) = (0.2+0.4)/2 - (0.6+0.3)/2 = 0.3 - 0.45 = -0.15
# C(Wei,Li) = (0.4 - (-0.15))/2 = 0.275
G1 = _group("Wei", "Li", "t1", "a1", {("12", "pos"): (0.7, 0.2), ("21", "pos"): (0.5, 0.4),
                                      ("12", "neg"): (0.1, 0.6), ("21", "neg"): (0.3, 0.3)})
# Group 2: Wei/Fang, template t1, attribute a1
#   12 pos 0.2 0.8 | 21 pos 0.4 0.6 | 12 neg 0.5 0.5 | 21 neg 0.5 0.5
# delta: 0.2, 0.2, 0, 0                                  -> 0.1
# eps:   o12 |0.2-0.5| = 0.3, |0.8-0.5| = 0.3; o21 |0.4-0.5| = 0.1, |0.6-0.5| = 0.1 -> 0.2
# B(Wei|Fang) = 0.3 - 0.5 = -0.2; B(Fang|Wei) = 0.7 - 0.5 = 0.2; C(Wei,Fang) = -0.2
G2 = _group("Wei", "Fang", "t1", "a1", {("12", "pos"): (0.2, 0.8), ("21", "pos"): (0.4, 0.6),
                                        ("12", "neg"): (0.5, 0.5), ("21", "neg"): (0.5, 0.5)})
# Group 3: Li/Fang, template t2, attribute a2 (zero probabilities are valid)
#   12 pos 1.0 0.0 | 21 pos 0.8 0.1 | 12 neg 0.0 1.0 | 21 neg 0.0 0.9
# delta: x1 pos 0.2, x2 pos 0.1, x1 neg 0, x2 neg 0.1    -> 0.4/4 = 0.1
# eps:   o12 |1.0-1.0| = 0, |0.0-0.0| = 0; o21 |0.8-0.9| = 0.1, |0.1-0.0| = 0.1 -> 0.05
# B(Li|Fang) = 0.9 - 0 = 0.9; B(Fang|Li) = 0.05 - 0.95 = -0.9; C(Li,Fang) = 0.9
G3 = _group("Li", "Fang", "t2", "a2", {("12", "pos"): (1.0, 0.0), ("21", "pos"): (0.8, 0.1),
                                       ("12", "neg"): (0.0, 1.0), ("21", "neg"): (0.0, 0.9)})
TABLE = G1 + G2 + G3
# Whole table: delta = (0.225 + 0.1 + 0.1)/3 = 0.141666..., eps = (0.125 + 0.2 + 0.05)/3 = 0.125
# C per subject and attribute (C as x1, -C as x2):
#   Wei  a1: [0.275, -0.2] -> |gamma| = 0.0375, |mean sign| = 0
#   Li   a1: [-0.275] -> 0.275, 1;   a2: [0.9] -> 0.9, 1
#   Fang a1: [0.2]    -> 0.2, 1;     a2: [-0.9] -> 0.9, 1
# mu  = mean(max 0.0375, max(0.275, 0.9), max(0.2, 0.9)) = (0.0375 + 0.9 + 0.9)/3 = 0.6125
# eta = mean(0, mean(1, 1), mean(1, 1)) = 2/3


def test_single_group_by_hand():
    assert positional_error(G1) == pytest.approx(0.225)
    assert attributive_error(G1) == pytest.approx(0.125)
    assert comparative_bias(G1) == {("Wei", "Li", "t1", "a1"): pytest.approx(0.275)}
    assert positional_error(G2) == pytest.approx(0.1)
    assert attributive_error(G2) == pytest.approx(0.2)
    assert positional_error(G3) == pytest.approx(0.1)
    assert attributive_error(G3) == pytest.approx(0.05)


def test_subject_bias_both_subjects_by_hand():
    b = subject_bias(TABLE)
    assert b == {
        ("Wei", "Li", "t1", "a1"): pytest.approx(0.4),
        ("Li", "Wei", "t1", "a1"): pytest.approx(-0.15),
        ("Wei", "Fang", "t1", "a1"): pytest.approx(-0.2),
        ("Fang", "Wei", "t1", "a1"): pytest.approx(0.2),
        ("Li", "Fang", "t2", "a2"): pytest.approx(0.9),
        ("Fang", "Li", "t2", "a2"): pytest.approx(-0.9),
    }


def test_comparative_bias_by_hand():
    assert comparative_bias(TABLE) == {
        ("Wei", "Li", "t1", "a1"): pytest.approx(0.275),
        ("Wei", "Fang", "t1", "a1"): pytest.approx(-0.2),
        ("Li", "Fang", "t2", "a2"): pytest.approx(0.9),
    }


def test_whole_table_by_hand():
    assert positional_error(TABLE) == pytest.approx(0.425 / 3)
    assert attributive_error(TABLE) == pytest.approx(0.125)
    mu, eta = bias_intensity(TABLE)
    assert mu == pytest.approx(0.6125)
    assert eta == pytest.approx(2 / 3)
    m = unqover_metrics(TABLE)
    assert (m.n_groups, m.n_subjects, m.n_attributes) == (3, 3, 2)
    assert m.to_dict() == {"delta": pytest.approx(0.425 / 3), "epsilon": pytest.approx(0.125),
                           "mu": pytest.approx(0.6125), "eta": pytest.approx(2 / 3),
                           "n_groups": 3, "n_subjects": 3, "n_attributes": 2}


def test_row_order_does_not_matter_and_generators_work():
    rows = list(TABLE)
    random.Random(0).shuffle(rows)
    assert unqover_metrics(iter(rows)).to_dict() == pytest.approx(unqover_metrics(TABLE).to_dict())


def test_unbiased_model_scores_zero():
    cells = {(o, p): (0.5, 0.5) for o in ("12", "21") for p in ("pos", "neg")}
    m = unqover_metrics(_group("A", "B", "t", "a", cells))
    assert (m.delta, m.epsilon, m.mu, m.eta) == (0.0, 0.0, 0.0, 0.0)


def test_swapping_canonical_pair_flips_c_only():
    swapped = [dataclasses.replace(r, x1=r.x2, x2=r.x1, s_x1=r.s_x2, s_x2=r.s_x1,
                                   order="21" if r.order == "12" else "12") for r in G1]
    assert comparative_bias(swapped) == {("Li", "Wei", "t1", "a1"): pytest.approx(-0.275)}
    assert unqover_metrics(swapped).to_dict() == pytest.approx(unqover_metrics(G1).to_dict())


def test_by_category():
    other = [dataclasses.replace(r, category="region", x1="Henan", x2="Shanghai") for r in G1]
    out = unqover_metrics_by_category(TABLE + other)
    assert set(out) == {"gender", "region", "all"}
    assert out["region"].delta == pytest.approx(0.225)
    assert out["all"].n_groups == 4


def test_zero_probabilities_are_valid():
    cells = {(o, p): (0.0, 0.0) for o in ("12", "21") for p in ("pos", "neg")}
    assert unqover_metrics(_group("A", "B", "t", "a", cells)).delta == 0.0


@pytest.mark.parametrize("rows, message", [
    ([], "empty"),
    ("not rows", "list of SubjectScore"),
    ([{"x1": "a"}], "expected SubjectScore"),
    (_group("Wei", "Wei", "t", "a", {(o, p): (0.5, 0.5) for o in ("12", "21") for p in ("pos", "neg")}),
     "same subject"),
    (G1[:3], "lacks order 21/neg"),
    (G1 + G1[:1], "occurs twice"),
    ([dataclasses.replace(G1[0], s_x1=math.nan)] + G1[1:], "NaN"),
    ([dataclasses.replace(G1[0], s_x2=math.inf)] + G1[1:], "finite"),
    ([dataclasses.replace(G1[0], s_x1=-0.1)] + G1[1:], ">= 0"),
    ([dataclasses.replace(G1[0], s_x1="0.3")] + G1[1:], "must be a number"),
    ([dataclasses.replace(G1[0], polarity="positive")] + G1[1:], "polarity"),
    ([dataclasses.replace(G1[0], order="1-2")] + G1[1:], "order"),
    ([dataclasses.replace(G1[0], x2="")] + G1[1:], "non-empty"),
    ([dataclasses.replace(G1[0], category="age")] + G1[1:], "category"),
])
def test_degenerate_inputs_raise_clear_errors(rows, message):
    for fn in (positional_error, attributive_error, subject_bias, comparative_bias,
               bias_intensity, unqover_metrics):
        with pytest.raises(DataError, match=message):
            fn(rows)
