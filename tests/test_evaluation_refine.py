"""REFINE-LM evaluation: choosing the UnQover questions of a split, capping them without
breaking quads (the metrics themselves: tests/test_refine_train.py, `eval refine`:
tests/test_cli_train_refine.py)."""

import random

import pytest
from refine_data import ambiguous, disambiguated, write_dataset

from fairguard.errors import DataError
from fairguard.evaluation.refine import cap_quads, cap_questions, load_questions
from fairguard.refine.reward import group_quads

TRAIN = ["man", "woman", "teacher", "nurse", "doctor"]
TEST = ["farmer", "driver", "cleaner", "engineer"]


def test_load_questions_filters_category_and_explains_empty(tmp_path):
    write_dataset(tmp_path, TRAIN, TEST)
    assert len(load_questions(tmp_path, "train", ["gender"])) == len(ambiguous(TRAIN))
    with pytest.raises(DataError, match="categories present: gender"):
        load_questions(tmp_path, "train", ["region"])


def test_cap_keeps_whole_quads():
    qs = ambiguous(TRAIN)
    capped = cap_quads(qs, 5, random.Random(0))
    quads, left = group_quads(capped)
    assert len(quads) == 5 and left == 0
    assert cap_quads(qs, 0, random.Random(0)) == qs


def test_cap_questions_keeps_order():
    qs = disambiguated(TRAIN)
    capped = cap_questions(qs, 3, random.Random(0))
    assert len(capped) == 3 and capped == [q for q in qs if q in capped]
    assert cap_questions(qs, 0, random.Random(0)) == qs
