import json

import pytest

from fairguard.data.builder import build_dataset
from fairguard.data.config import DataConfig
from fairguard.data.loaders import PairRow, UnqoverRow, load_pairs, load_unqover
from fairguard.errors import DataError


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("loaders") / "d"
    build_dataset(DataConfig(seed=0, size=60), out)
    return out


def test_round_trip(folder):
    for split in ("train", "val", "test"):
        rows = load_pairs(folder, split)
        assert rows and all(isinstance(r, PairRow) for r in rows)
        n = len((folder / f"{split}.jsonl").read_text().splitlines())
        assert len(rows) == n
    for split in ("train", "test", "disambig_train", "disambig_test"):
        rows = load_unqover(folder, split)
        assert rows and all(isinstance(r, UnqoverRow) for r in rows)
        assert all((r.answer is not None) == split.startswith("disambig") for r in rows)
        assert all(isinstance(r.subjects, tuple) and len(r.subjects) == 2 for r in rows)
    # a file path and the unqover folder itself work too
    assert load_pairs(folder / "val.jsonl", "val") == load_pairs(folder, "val")
    assert load_unqover(folder / "unqover", "test") == load_unqover(folder, "test")


def _pair_line(**changes):
    row = {"id": "x-1", "category": "region", "group": "Henan", "scenario": "hiring",
           "template_id": "hiring-00", "prompt": "p", "neutral": "n", "biased": "b",
           "off_topic": "o", "corrupted": "c"}
    row.update(changes)
    return json.dumps({k: v for k, v in row.items() if v is not ...})


def _uq_line(**changes):
    row = {"id": "u-1", "category": "gender", "template_id": "ctx-00",
           "context": "Fang and Wei got on the same train.", "question": "Who was honest?",
           "attribute_id": "honest", "attribute": "was honest", "polarity": "pos",
           "x1": "Fang", "x2": "Wei", "order": "12", "subjects": ["Fang", "Wei"]}
    row.update(changes)
    return json.dumps({k: v for k, v in row.items() if v is not ...})


@pytest.mark.parametrize("lines, message", [
    ([_pair_line(), "{not json"], "line 2: invalid JSON"),
    ([_pair_line(), "[1, 2]"], "line 2: expected a JSON object"),
    ([_pair_line(biased=...)], "line 1: missing field(s) biased"),
    ([_pair_line(), "", _pair_line(id="x-2", prompt=5)], "line 3: field 'prompt' must be a string"),
    ([_pair_line(neutral="  ")], "line 1: field 'neutral' is empty"),
    ([_pair_line(), _pair_line()], "line 2: duplicate id"),
])
def test_pair_errors_name_file_and_line(tmp_path, lines, message):
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as err:
        load_pairs(tmp_path, "train")
    assert str(path) in str(err.value) and message in str(err.value)


@pytest.mark.parametrize("split, line, message", [
    ("train", _uq_line(polarity="positive"), "line 1: field 'polarity'"),
    ("train", _uq_line(order="1"), "line 1: field 'order'"),
    ("train", _uq_line(subjects="Fang Wei"), "line 1: field 'subjects'"),
    ("train", _uq_line(subjects=["Wei", "Fang"]), "does not match x1/x2/order"),
    ("train", _uq_line(subjects=...), "line 1: missing field(s) subjects"),
    ("train", _uq_line(x1=3), "line 1: field 'x1' must be a string"),
    ("disambig_train", _uq_line(), "line 1: missing field(s) answer"),
    ("disambig_test", _uq_line(answer="Li"), "is not one of the subjects"),
])
def test_unqover_errors_name_file_and_line(tmp_path, split, line, message):
    (tmp_path / "unqover").mkdir()
    path = tmp_path / "unqover" / f"{split}.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(DataError) as err:
        load_unqover(tmp_path, split)
    assert str(path) in str(err.value) and message in str(err.value)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_pairs(tmp_path, "train")
    with pytest.raises(DataError, match="does not exist"):
        load_pairs(tmp_path / "nope.jsonl")
    with pytest.raises(DataError, match="does not exist"):
        load_unqover(tmp_path, "test")
    (tmp_path / "val.jsonl").write_text("\n  \n")
    with pytest.raises(DataError, match=r"val\.jsonl is empty"):
        load_pairs(tmp_path, "val")
    with pytest.raises(DataError, match="unknown split"):
        load_pairs(tmp_path, "dev")
    with pytest.raises(DataError, match="unknown split"):
        load_unqover(tmp_path, "val")
