import copy
from collections import defaultdict

import pytest

from fairguard.data import unqover as U
from fairguard.data.groups import FEMALE_NAMES, MALE_NAMES
from fairguard.data.package_yaml import read_package_yaml
from fairguard.data.unqover import CATEGORIES, UNQOVER_FIELDS, build_unqover
from fairguard.errors import DataError


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


# ---------------------------------------------------------------- the unqover.yaml loader
def _file(edit=lambda data: None):
    """The shipped unqover.yaml, parsed, after ``edit``."""
    data = copy.deepcopy(read_package_yaml(U.UNQOVER_FILE))
    edit(data)
    return data


def test_pool_counts():
    # docs/data.md: 28 regions, 20 ethnonyms, 24 occupations, 12 contexts, 34 attribute pairs
    assert {c: len(U.subjects_of(c)) for c in CATEGORIES} == {
        "gender": 60, "region": 28, "ethnicity": 20, "occupation": 24}
    assert len(U.CONTEXTS) == 12 and len(U.DISCLOSURES) == 4
    assert len(U.GENERAL_ATTRIBUTES) == 20
    assert len({a for c in CATEGORIES for a in U.attributes_of(c)}) == 34
    assert U.GENERAL_ATTRIBUTES["honest"] == ("was honest", "was dishonest")
    assert U.MENTIONS["occupation"] == (("{a} {x}", "the {x}"),)


def test_pools_are_read_once():
    assert U.unqover_pools() is U.unqover_pools()
    assert U.CONTEXTS is U.unqover_pools().contexts


def test_no_duplicates_and_no_shadowed_attribute():
    for c in CATEGORIES:
        subjects = U.subjects_of(c)
        assert len(set(subjects)) == len(subjects), c
        assert not set(U.CATEGORY_ATTRIBUTES.get(c, {})) & set(U.GENERAL_ATTRIBUTES), c
        predicates = [p for pair in U.attributes_of(c).values() for p in pair]
        assert len(set(predicates)) == len(predicates), c
    assert len(set(U.CONTEXTS)) == len(U.CONTEXTS)


def test_the_shipped_file_parses_to_the_module_values():
    assert U.parse_unqover_pools(_file(), "unqover.yaml") == U.unqover_pools()


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["contexts"].append("{A} met {C}."),
     r"unqover\.yaml: contexts: .* unknown slot\(s\) \{C\}; allowed here: \{A\}, \{B\}"),
    (lambda d: d["contexts"].append("{a} met {B}."), r"contexts: .* unknown slot\(s\) \{a\}"),
    (lambda d: d["disclosures"].append("{P} {pos}, {N} {negative}."),
     r"disclosures: .* unknown slot\(s\) \{negative\}"),
    (lambda d: d["mentions"]["region"].append(["someone from {x}"]),
     r"mentions\.region\[4\] must be a pair \[indefinite, definite\]"),
    (lambda d: d["mentions"].pop("gender"), r"mentions must have exactly gender, region"),
    (lambda d: d["subjects"]["region"].append("Inner Mongolia"),
     r"subjects\.region must be single words"),
    (lambda d: d["subjects"].update(gender=["Fang"]), r"subjects must list region, ethnicity"),
    (lambda d: d["attributes"]["general"].update(kind=["was kind"]),
     r"attributes\.general\.kind must be a pair \[positive, negated predicate\]"),
    (lambda d: d["attributes"].update(religion={}), r"attributes holds 'general' and categories"),
])
def test_a_broken_file_names_the_entry(edit, message):
    with pytest.raises(DataError, match=message):
        U.parse_unqover_pools(_file(edit), "unqover.yaml")
