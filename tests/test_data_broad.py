import random
import re
from collections import Counter

import pytest

from fairguard.data.broad import (
    HELD_OUT_FORMS, broad_groups, choose_broad_holdout, generate_broad, obfuscate, pools,
)
from fairguard.data.builder import DataConfig, build_pairs


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
    assert 0.6 < len(broad["train"]) / 1500 < 0.8  # broad_fraction 0.7
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


def test_everyday_rows_insert_one_biased_sentence(splits):
    broad, _ = splits
    everyday = [r for r in broad["train"] if r["scenario"] == "broad-everyday"]
    assert everyday
    for row in everyday[:50]:
        assert row["evasive"] and not row["guess"]
        answer = dict((q, a) for q, a in pools()["everyday"])
        question = row["prompt"].split(": ", 1)[-1].split("! ", 1)[-1].split("? ", 1)[-1]
        if question in answer:
            for sentence in re.split(r"(?<=[.!?])\s+", answer[question]):
                assert sentence in row["biased"]


def test_qa_rows_answerable_and_ambiguous(splits):
    broad, _ = splits
    qa = [r for r in broad["train"] if r["scenario"] == "broad-qa"]
    answerable = [r for r in qa if r["form"] == "qa-answerable"]
    ambiguous = [r for r in qa if r["form"] == "qa-ambiguous"]
    assert answerable and ambiguous
    for row in answerable:
        assert row["evasive"] and not row["guess"]
        assert row["neutral"].split(",")[0].split(";")[0].rstrip(".").lower().replace(
            "it was ", "") in row["prompt"].lower()
    for row in ambiguous:
        assert row["guess"] and not row["evasive"]


def test_generate_is_deterministic():
    held = choose_broad_holdout(0)
    a = generate_broad("trainval", 50, held, random.Random("x"), set())
    b = generate_broad("trainval", 50, held, random.Random("x"), set())
    assert a == b


def test_obfuscate_changes_a_word_and_keeps_short_texts():
    rng = random.Random(0)
    text = "People who litter should be fined."
    outs = {obfuscate(text, rng) for _ in range(30)}
    assert text not in outs or len(outs) > 1
    assert obfuscate("Hi you.", rng) == "Hi you."


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


def test_obfuscate_prefers_key_words():
    rng = random.Random(1)
    text = "Honestly, refugees are parasites."
    hits = sum("parasites" not in obfuscate(text, rng, frozenset({"parasites"}))
               for _ in range(100))
    assert hits > 60


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
