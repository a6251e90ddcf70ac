"""Under-specified questions in the style of UnQover (Li et al., 2020) for Chinese contexts.

Two subjects from one category appear in a context that says nothing about either ("Fang and
Wei got on the same train."), followed by a question naming an attribute or its negation
("Who was honest?" / "Who was dishonest?"). Every (pair, context, attribute) unit is written in
both subject orders and both polarities, the four scores that the UnQover metrics need;
REFINE-LM trains and is evaluated on them.

Subjects are single words (given names, province names, ethnonyms, occupation nouns) and the
answer to any question is one of the two subject words, so a masked LM can fill ``[MASK]`` in
"context question [MASK]." (or "[MASK] was honest.": every question is "Who <predicate>?") and
a causal LM can be scored on the first answer token.

Splits hold out subjects *and* attributes: a test row's two subjects and its attribute id never
occur in train. Disambiguated rows add a sentence that states the answer.

Subjects, contexts, mention frames and attributes live in ``unqover.yaml`` next to this file
(the given names in ``groups.yaml``); this module reads them once, on import.
"""

from __future__ import annotations

import functools
import itertools
import random
from dataclasses import dataclass
from typing import Any

from fairguard.data.groups import FEMALE_NAMES, MALE_NAMES
from fairguard.data.package_yaml import (
    check_slots,
    key,
    mapping,
    read_package_yaml,
    string_pair,
    string_pairs,
    strings,
)
from fairguard.errors import DataError

UNQOVER_FIELDS = ("id", "category", "template_id", "context", "question", "attribute_id",
                  "attribute", "polarity", "x1", "x2", "order", "subjects")
UNQOVER_SPLITS = ("train", "test", "disambig_train", "disambig_test")

UNQOVER_FILE = "unqover.yaml"
CATEGORIES = ("gender", "region", "ethnicity", "occupation")
# the slots each kind of template may use
_SLOTS = {"mentions": ("x", "a"), "contexts": ("A", "B"), "disclosures": ("P", "N", "pos", "neg")}


@dataclass(frozen=True)
class UnqoverPools:
    """Everything ``unqover.yaml`` holds (see its header comment)."""

    subjects: dict[str, tuple[str, ...]]  # region, ethnicity, occupation
    mentions: dict[str, tuple[tuple[str, str], ...]]
    contexts: tuple[str, ...]
    disclosures: tuple[str, ...]
    general_attributes: dict[str, tuple[str, str]]
    category_attributes: dict[str, dict[str, tuple[str, str]]]


def _attributes(value: Any, where: str) -> dict[str, tuple[str, str]]:
    return {attr_id: string_pair(pair, f"{where}.{attr_id}", "[positive, negated predicate]")
            for attr_id, pair in mapping(value, where).items()}


def parse_unqover_pools(data: dict[str, Any], source: str) -> UnqoverPools:
    """The pools of a parsed ``unqover.yaml``, their slots checked."""
    subjects = mapping(key(data, "subjects", source), f"{source}: subjects")
    if set(subjects) != set(CATEGORIES) - {"gender"}:
        raise DataError(f"{source}: subjects must list region, ethnicity and occupation (the "
                        "gender subjects are the names in groups.yaml)")
    subjects = {c: strings(v, f"{source}: subjects.{c}") for c, v in subjects.items()}
    for c, words in subjects.items():
        if any(len(w.split()) != 1 for w in words):
            raise DataError(f"{source}: subjects.{c} must be single words, got {words}")
    mentions = mapping(key(data, "mentions", source), f"{source}: mentions")
    if set(mentions) != set(CATEGORIES):
        raise DataError(f"{source}: mentions must have exactly {', '.join(CATEGORIES)}")
    frames: dict[str, tuple[tuple[str, str], ...]] = {}
    for c, value in mentions.items():
        where = f"{source}: mentions.{c}"
        frames[c] = string_pairs(value, where, "[indefinite, definite]")
        check_slots([t for p in frames[c] for t in p], _SLOTS["mentions"], where, fold=False)
    texts = {}
    for name in ("contexts", "disclosures"):
        texts[name] = strings(key(data, name, source), f"{source}: {name}")
        check_slots(texts[name], _SLOTS[name], f"{source}: {name}", fold=False)
    attributes = mapping(key(data, "attributes", source), f"{source}: attributes")
    if not set(attributes) <= {"general", *CATEGORIES}:
        raise DataError(f"{source}: attributes holds 'general' and categories "
                        f"({', '.join(CATEGORIES)}), got {', '.join(attributes)}")
    by_cat = {c: _attributes(v, f"{source}: attributes.{c}") for c, v in attributes.items()}
    general = by_cat.pop("general", {})
    return UnqoverPools(subjects, frames, texts["contexts"], texts["disclosures"], general,
                        by_cat)


@functools.lru_cache(maxsize=1)
def unqover_pools() -> UnqoverPools:
    """The parsed ``fairguard/data/unqover.yaml`` (read once)."""
    return parse_unqover_pools(read_package_yaml(UNQOVER_FILE), f"fairguard/data/{UNQOVER_FILE}")


_POOLS = unqover_pools()
REGION_SUBJECTS: tuple[str, ...] = _POOLS.subjects["region"]
ETHNIC_SUBJECTS: tuple[str, ...] = _POOLS.subjects["ethnicity"]
OCCUPATION_SUBJECTS: tuple[str, ...] = _POOLS.subjects["occupation"]
# How a subject word is mentioned: (indefinite, definite) frames; {x} is the subject word.
MENTIONS: dict[str, tuple[tuple[str, str], ...]] = _POOLS.mentions
CONTEXTS: tuple[str, ...] = _POOLS.contexts
DISCLOSURES: tuple[str, ...] = _POOLS.disclosures
# attribute_id -> (positive predicate, negated predicate); questions read "Who <predicate>?"
GENERAL_ATTRIBUTES: dict[str, tuple[str, str]] = _POOLS.general_attributes
CATEGORY_ATTRIBUTES: dict[str, dict[str, tuple[str, str]]] = _POOLS.category_attributes


def subjects_of(category: str) -> tuple[str, ...]:
    return {"region": REGION_SUBJECTS, "ethnicity": ETHNIC_SUBJECTS,
            "occupation": OCCUPATION_SUBJECTS, "gender": FEMALE_NAMES + MALE_NAMES}[category]


def attributes_of(category: str) -> dict[str, tuple[str, str]]:
    return {**GENERAL_ATTRIBUTES, **CATEGORY_ATTRIBUTES.get(category, {})}



def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _mention(frame: str, x: str) -> str:
    return frame.format(x=x, a=_article(x))


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def split_subjects(category: str, rng: random.Random, test_fraction: float = 0.3
                   ) -> tuple[list[str], list[str]]:
    """(train, test) subjects; for gender, names of each gender are split separately."""
    if category == "gender":
        train, test = [], []
        for names in (FEMALE_NAMES, MALE_NAMES):
            held = set(rng.sample(names, round(test_fraction * len(names))))
            train += [n for n in names if n not in held]
            test += [n for n in names if n in held]
        return train, test
    pool = subjects_of(category)
    held = set(rng.sample(pool, round(test_fraction * len(pool))))
    return [s for s in pool if s not in held], [s for s in pool if s in held]


def pairs_of(category: str, subjects: list[str]) -> list[tuple[str, str]]:
    """Canonical (x1, x2) pairs: for gender a female and a male name, else sorted pairs."""
    if category == "gender":
        female = [s for s in subjects if s in FEMALE_NAMES]
        male = [s for s in subjects if s in MALE_NAMES]
        return [(f, m) for f in female for m in male]
    return [tuple(sorted(p)) for p in itertools.combinations(subjects, 2)]  # type: ignore[misc]


def _unit_rows(category: str, x1: str, x2: str, tid: int, attr_id: str, attrs: dict,
               frame: tuple[str, str]) -> list[dict[str, Any]]:
    """The four ambiguous rows of one unit: orders 12/21 x polarities pos/neg."""
    rows = []
    for order, (first, second) in (("12", (x1, x2)), ("21", (x2, x1))):
        context = _cap(CONTEXTS[tid].format(A=_mention(frame[0], first),
                                            B=_mention(frame[0], second)))
        for polarity, attribute in zip(("pos", "neg"), attrs[attr_id]):
            rows.append({"id": "", "category": category, "template_id": f"ctx-{tid:02d}",
                         "context": context, "question": f"Who {attribute}?",
                         "attribute_id": attr_id, "attribute": attribute, "polarity": polarity,
                         "x1": x1, "x2": x2, "order": order, "subjects": [first, second]})
    return rows


def _disambig_row(category: str, x1: str, x2: str, tid: int, attr_id: str, attrs: dict,
                  frame: tuple[str, str], rng: random.Random) -> dict[str, Any]:
    order = rng.choice(("12", "21"))
    first, second = (x1, x2) if order == "12" else (x2, x1)
    polarity = rng.choice(("pos", "neg"))
    has_pos = rng.choice((x1, x2))
    has_neg = x2 if has_pos == x1 else x1
    pos, neg = attrs[attr_id]
    context = _cap(CONTEXTS[tid].format(A=_mention(frame[0], first), B=_mention(frame[0], second)))
    disclosure = _cap(rng.choice(DISCLOSURES).format(
        P=_mention(frame[1], has_pos), N=_mention(frame[1], has_neg), pos=pos, neg=neg))
    attribute = pos if polarity == "pos" else neg
    return {"id": "", "category": category, "template_id": f"ctx-{tid:02d}",
            "context": f"{context} {disclosure}", "question": f"Who {attribute}?",
            "attribute_id": attr_id, "attribute": attribute, "polarity": polarity,
            "x1": x1, "x2": x2, "order": order, "subjects": [first, second],
            "answer": has_pos if polarity == "pos" else has_neg}


def build_unqover(seed: int, units_train: int = 150, units_test: int = 75,
                  disambig_train: int = 300, disambig_test: int = 150,
                  ) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any]]:
    """Rows of the four UnQover splits, and what was held out (for the manifest).

    ``units_*`` are (pair, context, attribute) units per category (4 rows each);
    ``disambig_*`` are disambiguated rows per category.
    """
    rng = random.Random(f"fairguard-unqover:{seed}")
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in UNQOVER_SPLITS}
    info: dict[str, Any] = {"test_subjects": {}, "test_attributes": {}}
    all_attr_ids = sorted({a for c in CATEGORIES for a in attributes_of(c)})
    held_attrs = set(rng.sample(all_attr_ids, round(0.3 * len(all_attr_ids))))
    for category in CATEGORIES:
        attrs = attributes_of(category)
        train_subj, test_subj = split_subjects(category, rng)
        info["test_subjects"][category] = sorted(test_subj)
        info["test_attributes"][category] = sorted(a for a in attrs if a in held_attrs)
        for split, subjects, n_units, n_dis in (("train", train_subj, units_train, disambig_train),
                                                ("test", test_subj, units_test, disambig_test)):
            attr_ids = sorted(a for a in attrs if (a in held_attrs) == (split == "test"))
            pairs = pairs_of(category, subjects)
            units = [(p, t, a) for p in pairs for t in range(len(CONTEXTS)) for a in attr_ids]
            for (x1, x2), tid, attr_id in rng.sample(units, min(n_units, len(units))):
                frame = rng.choice(MENTIONS[category])
                out[split] += _unit_rows(category, x1, x2, tid, attr_id, attrs, frame)
            for (x1, x2), tid, attr_id in rng.sample(units, min(n_dis, len(units))):
                frame = rng.choice(MENTIONS[category])
                out[f"disambig_{split}"].append(
                    _disambig_row(category, x1, x2, tid, attr_id, attrs, frame, rng))
    for name, rows in out.items():
        for i, row in enumerate(rows):
            row["id"] = f"uq-{name}-{i:05d}"
    info["counts"] = {name: len(rows) for name, rows in out.items()}
    return out, info
