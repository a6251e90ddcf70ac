"""Which judge trained the adapter: relations of tiny trained reward models to an adapter's
recorded training reward model, judge names, and the ``--judge`` checks."""

from __future__ import annotations

import logging
import shutil

import pytest
from cross_judge_models import adapter_metadata, train_judge

from fairguard.errors import ConfigError
from fairguard.evaluation.cross_judge import (
    INDEPENDENT,
    SAME_DATA,
    SAME_SPLIT,
    TRAINING,
    UNKNOWN,
    check_judges,
    judge_names,
    judge_order,
    judge_relation,
    loud_warning,
    training_judge,
    weighted_reward_note,
)


@pytest.fixture(scope="module")
def judges(tmp_path_factory, tiny_deberta_dir):
    """The training judge, a copy of it, a retrain with another seed, one on other data with
    another held-out split, one on other data with the same held-out split."""
    root = tmp_path_factory.mktemp("judges")
    trained = train_judge(root, tiny_deberta_dir, "rm-train")
    copy = root / "rm-copy"
    shutil.copytree(trained, copy)
    return {"train": trained, "copy": copy,
            "reseeded": train_judge(root, tiny_deberta_dir, "rm-seed1", seed=1),
            "other": train_judge(root, tiny_deberta_dir, "rm-data1", data_seed=1),
            "same-split": train_judge(root, tiny_deberta_dir, "rm-data2", data_seed=2, split=0)}


def test_relations_to_the_training_judge(judges, tmp_path):
    trained = training_judge(adapter_metadata(tmp_path / "adapter", str(judges["train"])))
    assert trained.recorded == str(judges["train"]) and trained.known
    got = {name: judge_relation(path, trained) for name, path in judges.items()}
    assert {name: r.kind for name, r in got.items()} == {
        "train": TRAINING, "copy": TRAINING, "reseeded": SAME_DATA, "other": INDEPENDENT,
        "same-split": SAME_SPLIT}
    assert "same folder" in got["train"].reason
    assert "same data and training options" in got["copy"].reason
    assert "another held-out split" in got["other"].reason
    assert "same held-out groups and templates" in got["same-split"].reason
    shutil.move(judges["train"].parent / "data-0-0", judges["train"].parent / "data-moved")
    try:  # with the training judge's dataset gone, the split cannot be compared
        relation = judge_relation(judges["same-split"], trained)
    finally:
        shutil.move(judges["train"].parent / "data-moved", judges["train"].parent / "data-0-0")
    assert relation.kind == INDEPENDENT and "not compared" in relation.reason
    assert got["other"].label == "independent" and got["train"].label == "training judge"


def test_models_not_trained_against_a_judge(judges, tmp_path):
    base = training_judge(None)  # the base model
    assert judge_relation(judges["train"], base).kind == INDEPENDENT
    no_rm = training_judge(adapter_metadata(tmp_path / "gb", None))  # trained on gender-bias only
    assert judge_relation(judges["train"], no_rm).kind == INDEPENDENT
    plain = tmp_path / "plain-peft"  # a peft folder fairguard did not write
    plain.mkdir()
    assert judge_relation(judges["train"], training_judge(plain)).kind == UNKNOWN
    moved = training_judge(adapter_metadata(tmp_path / "moved", str(tmp_path / "gone")))
    relation = judge_relation(judges["train"], moved)
    assert relation.kind == UNKNOWN and "not found" in relation.reason


def test_an_ensemble_judge_is_as_close_as_its_closest_member(judges, tmp_path):
    members = [str(judges["reseeded"]), str(judges["same-split"])]
    trained = training_judge(adapter_metadata(tmp_path / "ensemble", members))
    assert trained.recorded == " + ".join(members) and len(trained.members) == 2
    got = {name: judge_relation(path, trained) for name, path in judges.items()}
    assert {name: r.kind for name, r in got.items()} == {
        "train": SAME_DATA, "copy": SAME_DATA, "reseeded": TRAINING, "other": INDEPENDENT,
        "same-split": TRAINING}
    assert got["train"].reason.startswith(f"ensemble member {judges['reseeded']}: ")
    assert got["other"].kind == INDEPENDENT and "another held-out split" in got["other"].reason
    # a one-folder list is that folder
    single = training_judge(adapter_metadata(tmp_path / "single", [str(judges["train"])]))
    assert single.recorded == str(judges["train"]) and not single.members
    assert judge_relation(judges["train"], single).kind == TRAINING


def test_report_order_puts_independent_judges_first(judges, tmp_path):
    trained = training_judge(adapter_metadata(tmp_path / "adapter", str(judges["train"])))
    paths = [judges["train"], judges["reseeded"], judges["same-split"], judges["other"]]
    order = judge_order([judge_relation(p, trained) for p in paths])
    assert [paths[i] for i in order] == [judges["other"], judges["same-split"], judges["reseeded"],
                                         judges["train"]]


def test_weighted_reward_note_warns(judges, tmp_path, caplog):
    trained = training_judge(adapter_metadata(tmp_path / "adapter", str(judges["train"])))
    with caplog.at_level(logging.WARNING, logger="fairguard"):
        relation, note = weighted_reward_note(str(judges["copy"]), trained)
    assert relation is not None and relation.kind == TRAINING
    assert "training judge" in note and "not independent" in caplog.text
    assert weighted_reward_note(str(judges["other"]), trained)[1] == ""
    assert "same held-out split" in weighted_reward_note(str(judges["same-split"]), trained)[1]
    assert weighted_reward_note(None, trained) == (None, "")


def test_judge_names_are_folder_names_made_unique(tmp_path):
    assert judge_names([tmp_path / "a" / "rm", tmp_path / "b" / "rm", tmp_path / "rm-v6"]) == \
        ["a/rm", "b/rm", "rm-v6"]
    assert judge_names(["x/judge-one", "judge-two"]) == ["judge-one", "judge-two"]


def test_check_judges(tmp_path):
    (tmp_path / "a").mkdir()
    assert check_judges(None) == () and check_judges(str(tmp_path / "a")) == (str(tmp_path / "a"),)
    with pytest.raises(ConfigError, match="is not a folder"):
        check_judges([str(tmp_path / "missing")])
    with pytest.raises(ConfigError, match="same folder"):
        check_judges([str(tmp_path / "a"), str(tmp_path / "a" / ".." / "a")])
    with pytest.raises(ConfigError, match="needs a reward-model folder"):
        check_judges([" "])


def test_loud_warning_when_no_judge_is_independent():
    assert loud_warning([]) == loud_warning([INDEPENDENT, TRAINING]) == loud_warning([UNKNOWN]) == ""
    assert loud_warning([TRAINING, TRAINING]).startswith("**Every judge is the reward model")
    assert loud_warning([TRAINING, SAME_SPLIT]).startswith("**No judge is independent")
