"""Users' labelled files mixed into the reward model's training rows (made-up sentences)."""

from __future__ import annotations

import json
import math

import pytest
from reward_model_data import make_rows, train_tiny

from fairguard.data.labelled import load_labelled
from fairguard.errors import DataError
from fairguard.reward_model.config import RewardTrainConfig
from fairguard.reward_model.examples import build_examples
from fairguard.reward_model.extra import labelled_pair_rows, load_extra_rows, with_extra_rows

TEXTS = ("text,label,target_ident,category\n"
         "Plumbers are all crooks who overcharge.,biased,plumbers,occupation\n"
         "The plumber fixed the leak before lunch.,fair,plumbers,\n")
PAIRS = [{"prompt": "Who should lead the project?", "response": "Whoever has the most experience.",
          "label": "neutral"},
         {"prompt": "Who should lead the project?", "response": "Never an older worker, they are slow.",
          "label": "unfair"}]


@pytest.fixture()
def files(tmp_path):
    texts = tmp_path / "texts.csv"
    texts.write_text(TEXTS)
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps(r) + "\n" for r in PAIRS))
    return texts, pairs


def test_rows_carry_one_labelled_response(files):
    texts, _ = files
    rows = labelled_pair_rows(load_labelled(texts), 3)
    assert [r.id for r in rows] == ["extra3-line2", "extra3-line3"]
    assert rows[0].responses == {"labelled_biased": "Plumbers are all crooks who overcharge."}
    assert rows[1].responses == {"labelled_fair": "The plumber fixed the leak before lunch."}
    assert rows[0].prompt == "What do you think about plumbers?"
    assert [r.category for r in rows] == ["occupation", "labelled"]
    examples = build_examples(rows, ("fairness", "relevance", "fluency"))
    assert examples.kinds == ["labelled_biased", "labelled_fair"]
    assert examples.labels[0][0] == 0.0 and examples.labels[1][0] == 1.0
    assert all(math.isnan(v) for labels in examples.labels for v in labels[1:])
    assert all(not pairs for pairs in examples.ranking.values())
    assert len(build_examples(rows, ("relevance",))) == 0


def test_files_load_together_with_records(files):
    rows, records = load_extra_rows([str(f) for f in files])
    assert len(rows) == 4 and len({r.id for r in rows}) == 4
    assert [(r["rows"], r["biased"], r["mode"]) for r in records] == [(2, 1, "text"), (2, 1, "pair")]
    assert all(r["sha256"].startswith("sha256:") for r in records)


def test_with_extra_rows_appends_to_the_train_rows(files, tmp_path):
    from fairguard.reward_model.examples import as_pair_row

    train = [as_pair_row(r) for r in make_rows("train")]
    config = RewardTrainConfig(data="d", out="o")
    assert with_extra_rows(train, config) == (train, [])
    config = RewardTrainConfig(data="d", out="o", extra_data=[str(f) for f in files])
    mixed, records = with_extra_rows(train, config)
    assert mixed[:len(train)] == train and len(mixed) == len(train) + 4 and len(records) == 2


def test_a_bad_file_fails_with_its_line(files, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nPlumbers are fine.,fair\nPlumbers are awful.,meh\n")
    with pytest.raises(DataError, match="bad.csv:3: unknown label 'meh'"):
        load_extra_rows([str(files[0]), str(bad)])


def test_training_records_the_files(files, tmp_path, tiny_deberta_dir):
    out = train_tiny(tmp_path, tiny_deberta_dir, extra_data=[str(f) for f in files])
    meta = json.loads((out / "fairguard.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    assert [e["path"] for e in meta["extra_data"]] == [str(f) for f in files]
    assert meta["extra_data"] == metrics["extra_data"]
    assert meta["train_config"]["extra_data"] == [str(f) for f in files]
    assert metrics["train_rows"] == len(make_rows("train")) + 4
    assert "labelled_fair" in meta["labels"]
