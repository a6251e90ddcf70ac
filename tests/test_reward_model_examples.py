import json
import math

import pytest
from reward_model_data import make_rows, write_dataset

from fairguard.errors import DataError
from fairguard.reward_model.examples import (
    LABELS,
    as_pair_row,
    build_examples,
    data_fingerprint,
    load_split,
)

HEADS = ("fairness", "relevance", "fluency")


def test_label_table_is_the_documented_one():
    assert LABELS["neutral"] == {"fairness": 1, "relevance": 1, "fluency": 1}
    assert LABELS["biased"] == {"fairness": 0, "relevance": 1, "fluency": 1}
    assert LABELS["off_topic"] == {"fairness": None, "relevance": 0, "fluency": 1}
    assert LABELS["corrupted"] == {"fairness": None, "relevance": None, "fluency": 0}


def test_one_row_gives_four_pairs_and_four_rankings():
    row = make_rows("train")[0]
    ex = build_examples([row], HEADS)
    assert ex.kinds == ["neutral", "biased", "off_topic", "corrupted"]
    assert ex.responses == [row["neutral"], row["biased"], row["off_topic"], row["corrupted"]]
    assert ex.labels[1] == [0.0, 1.0, 1.0]
    assert math.isnan(ex.labels[2][0]) and ex.labels[2][1:] == [0.0, 1.0]
    assert math.isnan(ex.labels[3][0]) and math.isnan(ex.labels[3][1]) and ex.labels[3][2] == 0.0
    # both on-topic answers, fair and biased, rank above the off-topic one for relevance
    assert ex.ranking == {"fairness": [(0, 1)], "relevance": [(0, 2), (1, 2)], "fluency": [(0, 3)]}


def test_heads_subset_skips_unlabelled_pairs():
    row = make_rows("train")[0]
    ex = build_examples([row], ("relevance",))
    assert ex.kinds == ["neutral", "biased", "off_topic"]  # corrupted has no relevance label
    assert ex.ranking == {"relevance": [(0, 2), (1, 2)]}


def test_fairness_is_trained_on_neutral_and_biased_only():
    row = make_rows("train")[0]
    ex = build_examples([row], ("fairness",))
    assert ex.kinds == ["neutral", "biased"]
    assert ex.labels == [[1.0], [0.0]]
    assert ex.ranking == {"fairness": [(0, 1)]}


def test_missing_kinds_are_left_out():
    row = dict(make_rows("train")[0], off_topic="", corrupted=None)
    ex = build_examples([row], HEADS)
    assert ex.kinds == ["neutral", "biased"]
    assert ex.ranking["relevance"] == [] and ex.ranking["fairness"] == [(0, 1)]
    assert as_pair_row(row).responses.keys() == {"neutral", "biased"}


def test_load_split_and_limit(tmp_path):
    data = write_dataset(tmp_path / "d")
    rows = load_split(data, "train")
    assert len(rows) == len(make_rows("train")) and rows[0].prompt
    assert len(load_split(data, "test", limit=2)) == 2


def test_load_split_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist.*fairguard data build"):
        load_split(tmp_path / "nope", "train")
    data = write_dataset(tmp_path / "d", empty_split="train")
    with pytest.raises(DataError, match="no rows|is empty"):
        load_split(data, "train")
    (data / "val.jsonl").unlink()
    with pytest.raises(DataError, match="val.jsonl is missing"):
        load_split(data, "val")


def test_fingerprint_from_manifest_else_hash(tmp_path):
    data = write_dataset(tmp_path / "d")
    assert data_fingerprint(data) == "handmade-0"
    (data / "manifest.json").unlink()
    fp = data_fingerprint(data)
    assert fp.startswith("sha256:") and fp == data_fingerprint(data)
    (data / "test.jsonl").write_text(json.dumps(make_rows("test")[0]) + "\n")
    assert data_fingerprint(data) != fp
