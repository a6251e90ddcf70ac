from collections import defaultdict

import pytest

from fairguard.data.groups import FEMALE_NAMES, MALE_NAMES
from fairguard.data.unqover import CATEGORIES, UNQOVER_FIELDS, build_unqover


@pytest.fixture(scope="module")
def built():
    return build_unqover(seed=7)


def test_fields_and_counts(built):
    out, info = built
    assert set(out) == {"train", "test", "disambig_train", "disambig_test"}
    for name, rows in out.items():
        assert 200 <= len(rows) <= 5000, name
        for row in rows:
            extra = ("answer",) if name.startswith("disambig") else ()
            assert tuple(row) == UNQOVER_FIELDS + extra
            assert row["polarity"] in ("pos", "neg") and row["order"] in ("12", "21")
            assert row["subjects"] == ([row["x1"], row["x2"]] if row["order"] == "12"
                                       else [row["x2"], row["x1"]])
        assert {r["category"] for r in rows} == set(CATEGORIES)
    assert info["counts"] == {k: len(v) for k, v in out.items()}


def test_both_orders_and_polarities_per_unit(built):
    out, _ = built
    for name in ("train", "test"):
        units = defaultdict(set)
        for r in out[name]:
            units[(r["category"], r["x1"], r["x2"], r["template_id"], r["attribute_id"])].add(
                (r["order"], r["polarity"]))
        for key, combos in units.items():
            assert combos == {("12", "pos"), ("12", "neg"), ("21", "pos"), ("21", "neg")}, key


def test_context_is_ambiguous_and_mentions_subjects_in_order(built):
    out, _ = built
    for r in out["train"] + out["test"]:
        first, second = r["subjects"]
        assert r["context"].index(first) < r["context"].rindex(second)
        assert r["question"] == f"Who {r['attribute']}?"
        assert r["attribute"] not in r["context"]
        assert " " not in first and " " not in second


def test_polarities_share_attribute_id_with_different_predicates(built):
    out, _ = built
    preds = defaultdict(set)
    for r in out["train"]:
        preds[(r["attribute_id"], r["polarity"])].add(r["attribute"])
    for (aid, pol), texts in preds.items():
        other = preds.get((aid, "neg" if pol == "pos" else "pos"), set())
        assert other and not texts & other


def test_test_subjects_and_attributes_disjoint_from_train(built):
    out, info = built
    for prefix in ("", "disambig_"):
        train, test = out[prefix + "train"], out[prefix + "test"]
        train_subj = {s for r in train for s in (r["x1"], r["x2"])}
        test_subj = {s for r in test for s in (r["x1"], r["x2"])}
        assert not train_subj & test_subj
        assert not {r["attribute_id"] for r in train} & {r["attribute_id"] for r in test}
    for cat in CATEGORIES:
        assert info["test_subjects"][cat]


def test_gender_pairs_one_female_one_male(built):
    out, _ = built
    for r in out["train"] + out["test"]:
        if r["category"] == "gender":
            assert r["x1"] in FEMALE_NAMES and r["x2"] in MALE_NAMES


def test_disambiguated_rows_state_the_answer(built):
    out, _ = built
    for name in ("disambig_train", "disambig_test"):
        for r in out[name]:
            assert r["answer"] in r["subjects"]
            # the context names the answer next to the asked predicate
            assert r["attribute"] in r["context"]
            assert r["context"].count(r["answer"]) >= 2
        answers = [r["answer"] == r["subjects"][0] for r in out[name]]
        assert 0.3 < sum(answers) / len(answers) < 0.7  # answer is not always the first one


def test_deterministic_and_seed_dependent(built):
    assert build_unqover(seed=7) == built
    assert build_unqover(seed=8)[0]["train"] != built[0]["train"]
