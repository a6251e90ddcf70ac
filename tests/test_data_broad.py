import difflib
import random
import re
from collections import Counter

import pytest

from fairguard.data.broad import PERSON_NOUNS, generate_broad
from fairguard.data.broad_lexicon import (
    HELD_OUT_FORMS,
    broad_groups,
    choose_broad_holdout,
    disjoint_pairs,
    policy_answers,
    pools,
    share_members,
)
from fairguard.data.builder import build_pairs
from fairguard.data.config import DataConfig


@pytest.fixture(scope="module")
def splits():
    rows, holdout = build_pairs(DataConfig(seed=2, size=2000))
    broad = {name: [r for r in split if r["scenario"].startswith("broad-")]
             for name, split in rows.items()}
    return broad, holdout.broad


def test_pools_parse_and_every_category_has_groups():
    cats = Counter(g.category for g in broad_groups())
    assert {"race", "religion", "nationality", "disability", "sexual_orientation",
            "gender_identity", "appearance", "ses", "gender", "age"} <= set(cats)
    assert all(n >= 2 for n in cats.values())
    assert all(len(g.plurals) >= 2 for g in broad_groups())
    assert len(pools()["everyday"]) >= 60


def test_broad_share_and_row_kinds(splits):
    broad, _ = splits
    assert 0.5 < len(broad["train"]) / 1500 < 0.7  # broad_fraction 0.7, of which choice 0.1
    kinds = Counter(r["scenario"] for r in broad["train"])
    assert set(kinds) == {"broad-statement", "broad-everyday", "broad-qa"}
    forms = {r["form"].split("/")[0] for r in broad["train"] if r["scenario"] == "broad-statement"}
    assert {"attrib", "dehum", "threat", "implicit", "question", "joke", "negated_pos"} <= forms


def test_test_split_holds_out_groups_prompts_templates_and_forms(splits):
    broad, held = splits
    trainval = broad["train"] + broad["val"]
    held_groups = set(held.groups)
    assert held_groups and set(held.forms) == set(HELD_OUT_FORMS)
    for row in trainval:
        assert not set(row["group"].split("+")) & held_groups, row
        assert row["prompt"] not in {p for p in held.prompts}
        assert not set(row["form"].split("/")) & set(HELD_OUT_FORMS)
    test_groups = {g for r in broad["test"] for g in r["group"].split("+")} - {"none"}
    assert test_groups and test_groups <= held_groups
    everyday_test = {r["template_id"] for r in broad["test"] if r["scenario"] == "broad-everyday"}
    everyday_train = {r["template_id"] for r in trainval if r["scenario"] == "broad-everyday"}
    assert everyday_test and not everyday_test & everyday_train
    # held-out sentence templates with enough fixed words never appear in train answers
    fixed = [t for t in held.templates if len(re.sub(r"\{[A-Z0-9]+\}", " ", t).split()) >= 6]
    assert len(fixed) >= 10
    pats = [re.compile(".+?".join(re.escape(p) for p in re.split(r"\{[A-Z0-9]+\}", t)))
            for t in fixed]
    text = "\n".join(r["neutral"] + "\n" + r["biased"] for r in trainval)
    assert not [p.pattern for p in pats if p.search(text)]


def test_holdout_depends_on_seed_only():
    assert choose_broad_holdout(3).as_dict() == choose_broad_holdout(3).as_dict()
    assert choose_broad_holdout(3).as_dict() != choose_broad_holdout(4).as_dict()


def test_same_words_on_both_sides(splits):
    """Stereotype words appear in fair rows too (quoted, negated), and the group in both."""
    broad, _ = splits
    statements = [r for r in broad["train"] if r["scenario"] == "broad-statement"]
    neg_words = [w for w in pools()["neg_adj"] if " " not in w]
    with_neg = sum(any(re.search(rf"\b{w}\b", r["neutral"]) for w in neg_words) for r in statements)
    assert with_neg / len(statements) > 0.1
    counter = [r for r in statements if r["form"].split("/")[1] in ("counter_quote", "negated_neg")]
    assert counter


def _question(row):
    return row["prompt"].split(": ", 1)[-1].split("! ", 1)[-1].split("? ", 1)[-1]


def _answer_used(row):
    """"written" or "generated": whose every sentence the row's biased answer holds."""
    written = dict((q, a) for q, a in pools()["everyday"])[_question(row)]
    found = [name for name, answers in (("written", [written]),
                                        ("generated", policy_answers()[_question(row)]))
             if any(all(s in row["biased"] for s in re.split(r"(?<=[.!?])\s+", a)) for a in answers)]
    assert found, row
    return found[0]


def test_everyday_rows_insert_one_biased_sentence(splits):
    broad, _ = splits
    everyday = [r for r in broad["train"] if r["scenario"] == "broad-everyday"]
    assert everyday
    for row in everyday[:50]:
        assert row["evasive"] and not row["guess"]
        _answer_used(row)  # the written answer or a generated one, every sentence kept


def test_everyday_rows_answer_in_a_language_models_words_half_the_time(splits):
    broad, holdout = splits
    asked = [q for q, _ in pools()["everyday"]]
    assert sorted(policy_answers()) == sorted(asked)  # every question, and no other
    assert all(len(a) == 4 and all(t.strip() == t and t for t in a) for a in policy_answers().values())
    for name, rows in broad.items():
        everyday = [r for r in rows if r["scenario"] == "broad-everyday"]
        used = Counter(_answer_used(r) for r in everyday)
        assert 0.35 < used["generated"] / len(everyday) < 0.65, (name, used)
        # a generated answer keeps to its question's side of the split
        assert all((_question(r) in holdout.everyday) == (name == "test") for r in everyday)


def test_qa_rows_answerable_and_ambiguous(splits):
    broad, _ = splits
    qa = [r for r in broad["train"] if r["scenario"] == "broad-qa"]
    answerable = [r for r in qa if r["form"] == "qa-answerable"]
    ambiguous = [r for r in qa if r["form"] == "qa-ambiguous"]
    assert answerable and ambiguous
    person = re.compile(r"\bthe ([a-z-]+ )+?(" + "|".join(PERSON_NOUNS) + r")\b")
    first_named = 0
    for row in answerable:
        assert row["evasive"] and row["wrong"] and not row["guess"]
        right, wrong, stereotyped = (person.search(row[k].lower())
                                     for k in ("neutral", "wrong", "biased"))
        assert right and stereotyped and right.group(0) != stereotyped.group(0)
        assert wrong and wrong.group(0) == stereotyped.group(0)
        # the wrong answer is the right one's words with the other person in them
        assert row["wrong"].lower().replace(wrong.group(0), "@") == \
            row["neutral"].lower().replace(right.group(0), "@")
        prompt = row["prompt"].lower()
        assert right.group(0) in prompt and stereotyped.group(0) in prompt
        setting = prompt.split(".")[0]
        first_named += setting.index(right.group(0)[4:]) < setting.index(wrong.group(0)[4:])
    # who is right is drawn, not given by who is named first
    assert 0.35 < first_named / len(answerable) < 0.65
    for row in ambiguous:
        assert row["guess"] and not row["evasive"] and not row["wrong"]


def test_overlaps_name_real_groups_and_leave_pairs():
    ids = {g.id: g for g in broad_groups()}
    overlaps = pools()["overlaps"]
    assert set(overlaps["umbrellas"]) <= set(ids)
    for a, b in overlaps["pairs"]:
        assert ids[a].category == ids[b].category
    assert share_members(ids["trans"], ids["transwomen"])
    assert share_members(ids["mothers"], ids["women"])
    assert share_members(ids["lgbt"], ids["lesbians"])
    assert share_members(ids["disabled"], ids["blind"])
    assert not share_members(ids["men"], ids["women"])
    assert not share_members(ids["lgbt"], ids["men"])  # another category
    pairs = disjoint_pairs(broad_groups())
    assert {"race", "religion", "nationality", "gender", "age"} <= set(pairs)
    assert all(not share_members(a, b) for cat in pairs.values() for a, b in cat)


def test_qa_rows_never_pair_groups_that_share_members(splits):
    """"A transgender colleague and a trans colleague" has no answer: such pairs are left out."""
    broad, _ = splits
    ids = {g.id: g for g in broad_groups()}
    qa = [r for split in broad.values() for r in split if r["scenario"] == "broad-qa"]
    assert len(qa) > 100
    for row in qa:
        a, b = row["group"].split("+")
        assert not share_members(ids[a], ids[b]), row["prompt"]


def test_generate_is_deterministic():
    held = choose_broad_holdout(0)
    a = generate_broad("trainval", 50, held, random.Random("x"), set())
    b = generate_broad("trainval", 50, held, random.Random("x"), set())
    assert a == b


def test_contrast_rows_are_minimal_pairs(splits):
    """Half of the statement rows pair a biased claim with a fair one in the same words."""
    broad, _ = splits
    statements = [r for r in broad["train"] if r["scenario"] == "broad-statement"]
    contrast = [r for r in statements if r["form"].startswith("contrast-")]
    assert 0.35 < len(contrast) / len(statements) < 0.65
    quotes = [r for r in contrast if r["form"].startswith("contrast-quote")]
    assert quotes
    for row in quotes:
        quoted = re.findall(r'"([^"]+)"', row["neutral"])
        assert quoted, row
    shared = [len(set(r["biased"].lower().split()) & set(r["neutral"].lower().split()))
              / len(set(r["biased"].lower().split())) for r in contrast]
    assert sum(shared) / len(shared) > 0.5


def test_target_contrasts_aim_the_same_words_at_conduct(splits):
    """A target pair says the same hostile thing about a group (biased) and about people by
    their conduct (fair): only the target differs, and the target of the fair side is conduct.
    Off by default (the default build has none)."""
    assert not [r for r in splits[0]["train"] if r["form"].startswith("contrast-target")]
    rows, _ = build_pairs(DataConfig(seed=2, size=2000, target_fraction=0.3))
    broad = {"train": [r for r in rows["train"] if r["scenario"].startswith("broad-")]}
    conduct = pools()["conduct_groups"]
    rows = [r for r in broad["train"] if r["form"] == "contrast-target/contrast-target"]
    statements = [r for r in broad["train"] if r["scenario"] == "broad-statement"]
    assert 0.08 < len(rows) / len(statements) < 0.25
    aimed = [r for r in rows if any(c.lower() in r["neutral"].lower() for c in conduct)]
    assert len(aimed) > 0.7 * len(rows)  # the rest had the conduct words obfuscated
    assert not any(c.lower() in r["biased"].lower() for r in aimed for c in conduct)
    shared = [len(set(r["biased"].lower().split()) & set(r["neutral"].lower().split()))
              / len(set(r["biased"].lower().split())) for r in rows]
    assert sum(shared) / len(shared) > 0.5


def test_everyday_biased_answer_is_the_fair_one_plus_one_sentence(splits):
    broad, _ = splits
    everyday = [r for r in broad["train"] if r["scenario"] == "broad-everyday"]
    with_asides = 0
    for row in everyday:
        fair = re.split(r"(?<=[.!?])\s+", row["neutral"])
        biased = re.split(r"(?<=[.!?])\s+", row["biased"])
        extra = list(biased)
        for sentence in fair:
            extra.remove(sentence)
        assert 1 <= len(extra) <= 2, row  # the biased sentence (two when it holds a full stop)
        with_asides += not row["form"].endswith("/plain")
    assert 0.45 < with_asides / len(everyday) < 0.75


def test_quotes_agree_as_often_as_they_reject(splits):
    """Quoting a claim says nothing about stance: agreeing quotes (biased) are about as common
    as rejecting ones (fair), and a composed quote pair shares its source and claim."""
    broad, _ = splits
    rows = broad["train"]
    quoting = {side: sum('"' in r[side] for r in rows) for side in ("biased", "neutral")}
    assert 0.5 < quoting["biased"] / quoting["neutral"] < 2.0
    parts = pools()
    sources = tuple(s.split("{")[0] for s in parts["quote_sources"] if not s.startswith("{"))
    composed = [r for r in rows if r["form"].startswith("contrast-quote")
                and any(r["neutral"].startswith(s) and len(s) > 8 for s in sources)]
    assert composed
    for row in composed:
        claim = re.findall(r'"([^"]+)"', row["neutral"])
        other = re.findall(r'"([^"]+)"', row["biased"])  # the same claim, maybe misspelt
        assert len(claim) == len(other) == 1
        assert difflib.SequenceMatcher(None, claim[0], other[0]).ratio() > 0.6, (claim, other)
