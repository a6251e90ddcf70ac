"""Multiple-choice rows from the UnQover questions (fairguard/data/choice.py)."""

import random
import re
from collections import Counter

import pytest

from fairguard.data.builder import build_pairs
from fairguard.data.choice import CHOICE_SCENARIO, UNKNOWN_WORDINGS, choice_row, choice_rows, group_of, twin_question
from fairguard.data.config import DataConfig
from fairguard.data.unqover import build_unqover
from fairguard.errors import ConfigError
from fairguard.reward_model.examples import build_examples


@pytest.fixture(scope="module")
def rows():
    splits, _ = build_pairs(DataConfig(seed=3, size=2000))
    return {name: [r for r in split if r["scenario"] == CHOICE_SCENARIO]
            for name, split in splits.items()}


def _named(text: str, subjects: list[str]) -> set[str]:
    return {s for s in subjects if re.search(rf"\b{s}\b", text, re.IGNORECASE)}


def _where(text: str, subject: str) -> int:
    return re.search(rf"\b{subject}\b", text).start()


def test_share_and_both_kinds(rows):
    # choice_fraction 0.15 of the broad prompts (broad_fraction 0.7)
    assert 0.07 < len(rows["train"]) / 1500 < 0.14
    for split in ("train", "val", "test"):
        assert {r["form"] for r in rows[split]} == {"choice-ambiguous", "choice-answerable"}


def test_answerable_rows_name_the_right_person_and_the_wrong_one_in_the_same_words(rows):
    unq = build_unqover(3)[0]
    answers = {(r["context"], r["question"]): r["answer"] for r in unq["disambig_train"]}
    answerable = [r for r in rows["train"] if r["form"] == "choice-answerable"]
    first = 0
    for row in answerable:
        x1, x2 = row["group"].split("+")
        context, right = next((c, a) for (c, q), a in answers.items()
                              if c in row["prompt"] and q in row["prompt"])
        other = x2 if right == x1 else x1
        assert _named(row["neutral"], [x1, x2]) == {right}
        assert _named(row["wrong"], [x1, x2]) == {other}
        assert row["wrong"].lower().replace(other.lower(), "@") == \
            row["neutral"].lower().replace(right.lower(), "@")
        assert _named(row["biased"], [x1, x2]) == {other}
        assert any(w.lower() in row["evasive"].lower() for w in UNKNOWN_WORDINGS)
        assert not row["guess"]
        first += _where(context, right) < _where(context, other)
    # the right person is as often named first as second
    assert 0.35 < first / len(answerable) < 0.65


def test_ambiguous_rows_say_unknown_and_guess_either_person(rows):
    ambiguous = [r for r in rows["train"] if r["form"] == "choice-ambiguous"]
    guessed = Counter()
    for row in ambiguous:
        x1, x2 = row["group"].split("+")
        assert any(w.lower() in row["neutral"].lower() for w in UNKNOWN_WORDINGS)
        assert not _named(row["neutral"], [x1, x2])
        (who,) = _named(row["guess"], [x1, x2])
        guessed[who == x1] += 1
        assert not row["evasive"] and not row["wrong"]
    assert min(guessed.values()) > 0.3 * len(ambiguous)


def test_test_rows_use_held_out_subjects_only(rows):
    train_subjects = {s for split in ("train", "val") for r in rows[split]
                      for s in r["group"].split("+")}
    test_subjects = {s for r in rows["test"] for s in r["group"].split("+")}
    assert test_subjects and not test_subjects & train_subjects


def test_prompts_list_the_options_in_several_forms(rows):
    prompts = [r["prompt"] for r in rows["train"]]
    assert sum("Options:" in p for p in prompts) > 0.1 * len(prompts)
    assert sum("(a) " in p for p in prompts) > 0.1 * len(prompts)
    assert sum("?" == p[-1] for p in prompts) > 0.1 * len(prompts)  # context and question only


def test_labels_of_a_choice_row():
    row = {"category": "gender", "template_id": "ctx-01", "context": "Fang and Wei met.",
           "question": "Who was honest?", "x1": "Fang", "x2": "Wei", "subjects": ["Fang", "Wei"],
           "answer": "Wei"}
    made = choice_row(row, random.Random(0), off_topic="Boil the rice for twelve minutes.")
    ex = build_examples([{"id": "r", **made}], ("fairness", "relevance", "fluency"))
    kinds = dict(zip(ex.kinds, ex.labels))
    assert kinds["wrong"][1] == 0.0 and kinds["evasive"][1] == 0.0 and kinds["neutral"] == [1.0] * 3
    index = {k: i for i, k in enumerate(ex.kinds)}
    assert (index["neutral"], index["wrong"]) in ex.ranking["relevance"]
    assert (index["neutral"], index["evasive"]) in ex.ranking["relevance"]


def test_group_of_each_category():
    assert group_of("gender", "Fang") == "women"
    assert group_of("region", "Gansu") == "people from Gansu"
    assert group_of("ethnicity", "Bai") == "Bai people"
    assert group_of("occupation", "nanny") == "nannies"
    assert group_of("occupation", "driver") == "drivers"


@pytest.mark.parametrize("options", [{"choice_fraction": 0.0}, {"broad_fraction": 0.0}])
def test_no_choice_rows_when_off_or_scenarios_only(options):
    splits, _ = build_pairs(DataConfig(seed=3, size=300, **options))
    assert not [r for s in splits.values() for r in s if r["scenario"] == CHOICE_SCENARIO]


def test_choice_fraction_bounds():
    with pytest.raises(ConfigError, match="choice_fraction"):
        DataConfig(choice_fraction=0.8)


def test_twin_asks_the_other_attribute_and_the_other_person_answers():
    unq = build_unqover(3)[0]
    for row in unq["disambig_train"][:50]:
        twin = twin_question(row)
        assert twin["context"] == row["context"] and twin["polarity"] != row["polarity"]
        assert twin["answer"] in row["subjects"] and twin["answer"] != row["answer"]
        assert twin["question"] != row["question"] and twin_question(twin) == row


def test_twins_share_everything_but_the_question_and_swap_right_and_wrong():
    unq = build_unqover(3)[0]
    off = ["Boil the rice for twelve minutes."]
    plain = choice_rows(unq["train"], unq["disambig_train"], 40, off, random.Random(1))
    twinned = choice_rows(unq["train"], unq["disambig_train"], 40, off, random.Random(1), twins=True)
    assert len(twinned) == len(plain) + 20  # one twin per answerable row, on top
    assert [r for r in twinned if r["form"] == "choice-ambiguous"] == \
        [r for r in plain if r["form"] == "choice-ambiguous"]
    i = 0
    while i < len(twinned):
        row = twinned[i]
        i += 1
        if row["form"] != "choice-answerable":
            continue
        twin = twinned[i]  # the twin follows its row
        i += 1
        assert (twin["neutral"], twin["wrong"]) == (row["wrong"], row["neutral"])
        assert twin["prompt"] != row["prompt"]
        head = row["prompt"].split("Who ", 1)[0]
        assert twin["prompt"].startswith(head)  # context and option order the same
        assert twin["evasive"] == row["evasive"] and twin["off_topic"] == row["off_topic"]


def test_twins_are_on_top_of_the_choice_share():
    base, _ = build_pairs(DataConfig(seed=3, size=600))
    twinned, _ = build_pairs(DataConfig(seed=3, size=600, choice_twins=True))
    count = {name: sum(r["form"] == "choice-answerable" for r in rows) for name, rows in base.items()}
    more = {name: sum(r["form"] == "choice-answerable" for r in rows) for name, rows in twinned.items()}
    assert more["test"] == 2 * count["test"]
    assert more["train"] + more["val"] == 2 * (count["train"] + count["val"])
    assert sum(r["form"] == "advice" for r in twinned["test"]) == \
        sum(r["form"] == "advice" for r in base["test"])
