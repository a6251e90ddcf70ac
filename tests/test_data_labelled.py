"""Users' labelled files: columns, label mapping, framing prompts and one clear error per bad file.

Every sentence here is made up for these tests.
"""

from __future__ import annotations

import hashlib
import json
import sys

import pytest

from fairguard.data.labelled import (
    BIASED_VALUES,
    DEFAULT_PROMPT,
    FAIR_VALUES,
    LabelledColumns,
    load_labelled,
    looks_like_hub_dataset,
    parse_label,
)
from fairguard.errors import ConfigError, DataError
from fairguard.inputs import DEFAULT_MAX_CHARS

TEXT_CSV = (
    ",text,label,functionality,target_ident\n"
    "0,Farmers are too slow to learn anything new.,biased,slow_claim,farmers\n"
    "1,The nurses on night shift kept the ward calm.,fair,praise,nurses\n"
    "2,\"The weather, they said, will turn cold.\",Non-Hateful,weather_fact,\n"
    "3,Teenagers ruin every place they visit.,1,sweeping_claim,teenagers\n"
)


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_text_rows_are_framed_and_keep_their_metadata(tmp_path):
    path = write(tmp_path / "cases.csv", TEXT_CSV)
    data = load_labelled(path)
    assert data.mode == "text" and data.target_column == "target_ident"
    assert [ex.biased for ex in data.examples] == [True, False, False, True]
    assert [ex.raw_label for ex in data.examples] == ["biased", "fair", "Non-Hateful", "1"]
    first, _, weather, _ = data.examples
    assert first.prompt == "What do you think about farmers?" and first.target == "farmers"
    assert first.text == "Farmers are too slow to learn anything new."
    assert first.metadata == {"functionality": "slow_claim", "target_ident": "farmers"}
    assert weather.prompt == DEFAULT_PROMPT and weather.target is None
    assert weather.text == "The weather, they said, will turn cold."
    assert [ex.line for ex in data.examples] == [2, 3, 4, 5]
    record = data.record()
    assert record == {"path": str(path), "rows": 4, "biased": 2, "fair": 2, "mode": "text",
                      "sha256": "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()}


def test_pair_rows_from_jsonl(tmp_path):
    rows = [{"prompt": "Who should get the flat?", "response": "Whoever applied first.",
             "label": False, "category": "housing", "id": "a"},
            {"prompt": "Who should get the flat?", "response": "Not the students, they are noisy.",
             "label": 1, "category": "housing", "id": "b"}]
    path = write(tmp_path / "pairs.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n\n")
    data = load_labelled(path)
    assert data.mode == "pair" and data.target_column is None
    assert [(ex.id, ex.prompt, ex.text, ex.biased) for ex in data.examples] == [
        ("a", "Who should get the flat?", "Whoever applied first.", False),
        ("b", "Who should get the flat?", "Not the students, they are noisy.", True)]
    assert data.examples[0].metadata == {"category": "housing", "id": "a"}
    # a named target column is optional in pair files; when present it names the targets
    assert load_labelled(path, LabelledColumns(target="group")).target_column is None
    with_group = write(tmp_path / "grouped.jsonl", json.dumps({**rows[0], "group": "students"}))
    grouped = load_labelled(with_group, LabelledColumns(target="group"))
    assert grouped.examples[0].target == "students"
    assert grouped.examples[0].prompt == "Who should get the flat?"


def test_column_options_and_prompts(tmp_path):
    path = write(tmp_path / "mine.csv",
                 "sentence,gold,group\nBakers always cheat their customers.,TOXIC,bakers\n"
                 "Some people like tea.,benign,\n")
    columns = LabelledColumns(text="sentence", label="gold", target="group",
                              default_prompt="Any thoughts?", target_prompt="Tell me about {target}.")
    data = load_labelled(path, columns)
    assert [ex.prompt for ex in data.examples] == ["Tell me about bakers.", "Any thoughts?"]
    assert [ex.biased for ex in data.examples] == [True, False]
    with pytest.raises(DataError, match="no target column 'region'"):
        load_labelled(path, LabelledColumns(text="sentence", label="gold", target="region"))
    with pytest.raises(ConfigError, match="target"):
        LabelledColumns(target_prompt="no slot here")
    with pytest.raises(ConfigError, match="default prompt"):
        LabelledColumns(default_prompt="  ")


@pytest.mark.parametrize("value", sorted(BIASED_VALUES) + ["HATEFUL", " Unfair ", True, 1, 1.0])
def test_biased_labels(value):
    assert parse_label(value, "f:2")[0] is True


@pytest.mark.parametrize("value", sorted(FAIR_VALUES) + ["non_hateful", "Not  Biased", False, 0, 0.0])
def test_fair_labels(value):
    assert parse_label(value, "f:2")[0] is False


@pytest.mark.parametrize("value", ["maybe", "2", 0.5, None, ""])
def test_other_labels_are_errors(value):
    with pytest.raises(DataError, match="f:2"):
        parse_label(value, "f:2")


@pytest.mark.parametrize("text, message", [
    ("text,label\nFine words.,fair\nOdd words.,sometimes\n", r"bad.csv:3: unknown label 'sometimes'"),
    ("text,label\nFine words.,fair\n   ,biased\n", r"bad.csv:3: 'text' is empty"),
    ("text,label\nFine words.,\n", r"bad.csv:2: the label is empty"),
    ("words,label\nFine words.,fair\n", r"needs the columns text,label or prompt,response,label; "
                                         r"found 'words', 'label'"),
    ("text,verdict\nFine words.,fair\n", r"no label column 'label'"),
    ("text,label\nFine words.,fair,extra\n", r"bad.csv:2: 3 cells but the header has 2"),
    ("text,label\n", r"holds no labelled rows"),
    ("   \n", r"is empty"),
    ("text,label\n\"A cell\nover two lines\",fair\nShort.,unsure\n", r"bad.csv:4: unknown label"),
])
def test_bad_csv_files_name_the_line(tmp_path, text, message):
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(DataError, match=message):
        load_labelled(path)


def test_too_long_text_names_the_line(tmp_path):
    long_text = "word " * (DEFAULT_MAX_CHARS // 5 + 1)
    path = write(tmp_path / "long.csv", f"text,label\nShort.,fair\n{long_text},biased\n")
    with pytest.raises(DataError, match=r"long.csv:3: 'text' has 20,005 characters.*20,000"):
        load_labelled(path)
    assert len(load_labelled(path, max_chars=30_000).examples) == 2


def test_bad_jsonl_files_name_the_line(tmp_path):
    good = json.dumps({"text": "Fine words.", "label": 0})
    cases = [
        (good + "\n{not json\n", r"bad.jsonl, line 2: invalid JSON"),
        (good + "\n[1, 2]\n", r"bad.jsonl, line 2: expected a JSON object, got list"),
        (good + "\n" + json.dumps({"label": 1}) + "\n", r"bad.jsonl:2: no 'text' field"),
        (good + "\n" + json.dumps({"text": 5, "label": 1}) + "\n", r"bad.jsonl:2: 'text' is a int"),
        (good + "\n" + json.dumps({"text": "x", "label": [1]}) + "\n", r"bad.jsonl:2: unknown label"),
    ]
    for text, message in cases:
        path = write(tmp_path / "bad.jsonl", text)
        with pytest.raises(DataError, match=message):
            load_labelled(path)


def test_missing_unreadable_and_other_formats(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_labelled(tmp_path / "none.csv")
    with pytest.raises(DataError, match="not a file"):
        load_labelled(tmp_path)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("text,label\nCaf\xe9 owners are rude.,biased\n".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8"):
        load_labelled(latin)
    tsv = write(tmp_path / "cases.tsv", "text\tlabel\nA calm, kind remark.\tfair\n")
    assert load_labelled(tsv).examples[0].text == "A calm, kind remark."
    sniffed = write(tmp_path / "cases.txt", json.dumps({"text": "Hello there.", "label": "fair"}))
    assert load_labelled(sniffed).examples[0].text == "Hello there."
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufefftext,label\nHello there.,fair\n".encode("utf-8"))
    assert load_labelled(bom).examples[0].biased is False


def test_hub_ids_are_recognised(tmp_path, monkeypatch):
    assert looks_like_hub_dataset("someone/made-up-set")
    assert not looks_like_hub_dataset("folder/cases.csv")
    assert not looks_like_hub_dataset("cases")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match="folder/cases.csv does not exist"):
        load_labelled("folder/cases.csv")


def test_hub_dataset_without_datasets_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # as if not installed
    with pytest.raises(DataError, match=r"`datasets` package"):
        load_labelled("someone/made-up-set")


def test_hub_dataset_error_when_it_cannot_be_loaded():
    pytest.importorskip("datasets")
    # offline: the hub cannot be reached; online: the id does not exist. Either way one DataError.
    with pytest.raises(DataError, match="someone-fairguard-test/no-such-set"):
        load_labelled("someone-fairguard-test/no-such-set")
