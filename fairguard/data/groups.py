"""Lexicons of Chinese-context social groups, and Chinese given names by gender.

Every :class:`Group` knows the ways a sentence can mention it (a person, a modifier of a role
noun, a predicate after "they", plural forms). All of them contain the group's ``marker``
(a regular expression that matches no other group's wording), which is how the splits are
checked: a held-out group's marker must not occur in any train or validation text.

The groups, the stereotype predicates of each category and the names live in ``groups.yaml``
next to this file; this module reads them once, on import.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from fairguard.data.package_yaml import key, mapping, read_package_yaml, strings
from fairguard.errors import DataError

CATEGORIES = ("region", "ethnicity", "occupation", "gender", "age", "education")


@dataclass(frozen=True)
class Group:
    """One social group and the English phrases that mention it."""

    category: str
    term: str  # canonical label written into each row's "group" field
    marker: str  # regex matched (case-sensitively, word-bounded by construction) in every form
    noun: str  # a person of this group, with article: "someone from Henan"
    post: str  # modifier after a role noun: "an applicant from Henan"
    pred: str  # predicate after "they": "they are from Henan"
    plurals: tuple[str, ...]  # "people from Henan", "Henan people"
    pre: str | None = None  # adjective before a role noun: "a Uyghur applicant"
    traits: tuple[str, ...] = ()  # extra stereotype predicates for a plural subject

    def forms(self) -> list[str]:
        """All fixed phrases of this group (used to check markers)."""
        out = [self.noun, self.post, self.pred, *self.plurals]
        if self.pre:
            out.append(self.pre)
        return out

    def regex(self) -> re.Pattern[str]:
        return re.compile(self.marker)


GROUPS_FILE = "groups.yaml"
_GROUP_FIELDS = {"term", "marker", "noun", "post", "pred", "plurals", "pre", "traits"}


@dataclass(frozen=True)
class Lexicon:
    """Everything ``groups.yaml`` holds."""

    groups: tuple[Group, ...]
    category_traits: dict[str, tuple[str, ...]]
    female_names: tuple[str, ...]
    male_names: tuple[str, ...]


def _group(category: str, entry: Any, where: str) -> Group:
    entry = mapping(entry, where)
    extra = set(entry) - _GROUP_FIELDS
    if extra:
        raise DataError(f"{where}: unknown field(s) {sorted(extra)}; use {sorted(_GROUP_FIELDS)}")
    text = {f: key(entry, f, where) for f in ("term", "marker", "noun", "post", "pred")}
    for f, value in text.items():
        if not isinstance(value, str) or not value.strip():
            raise DataError(f"{where}: {f!r} must be a non-empty string; fix the file")
    try:
        re.compile(text["marker"])
    except re.error as exc:
        raise DataError(f"{where}: marker {text['marker']!r} is not a regex ({exc})") from exc
    pre = entry.get("pre")
    if pre is not None and (not isinstance(pre, str) or not pre.strip()):
        raise DataError(f"{where}: 'pre' must be a non-empty string when given; fix the file")
    return Group(category, **text, plurals=strings(key(entry, "plurals", where), f"{where}.plurals"),
                 pre=pre, traits=strings(entry.get("traits", []), f"{where}.traits",
                                         allow_empty=True))


def parse_lexicon(data: dict[str, Any], source: str) -> Lexicon:
    """The groups, category traits and names of a parsed ``groups.yaml``."""
    cats = mapping(key(data, "categories", source), f"{source}: categories")
    if tuple(cats) != CATEGORIES:
        raise DataError(f"{source}: categories must be {', '.join(CATEGORIES)} in this order, "
                        f"got {', '.join(cats)}")
    groups: list[Group] = []
    category_traits: dict[str, tuple[str, ...]] = {}
    for cat, section in cats.items():
        where = f"{source}: categories.{cat}"
        section = mapping(section, where)
        category_traits[cat] = strings(key(section, "traits", where), f"{where}.traits",
                                       allow_empty=True)
        entries = key(section, "groups", where)
        if not isinstance(entries, list) or not entries:
            raise DataError(f"{where}.groups must be a non-empty list of groups; fix the file")
        groups += [_group(cat, e, f"{where}.groups[{i}]") for i, e in enumerate(entries)]
    names = mapping(key(data, "names", source), f"{source}: names")
    return Lexicon(tuple(groups), category_traits,
                   strings(key(names, "female", source), f"{source}: names.female"),
                   strings(key(names, "male", source), f"{source}: names.male"))


@functools.lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """The parsed ``fairguard/data/groups.yaml`` (read once)."""
    return parse_lexicon(read_package_yaml(GROUPS_FILE), f"fairguard/data/{GROUPS_FILE}")


GROUPS: tuple[Group, ...] = lexicon().groups
CATEGORY_TRAITS: dict[str, tuple[str, ...]] = lexicon().category_traits
# Chinese given names by (conventional) gender, one word each, for UnQover-style questions.
FEMALE_NAMES: tuple[str, ...] = lexicon().female_names
MALE_NAMES: tuple[str, ...] = lexicon().male_names


def traits_of(group: Group) -> tuple[str, ...]:
    """Stereotype predicates (for a plural subject) that fit ``group``."""
    return group.traits + CATEGORY_TRAITS[group.category]


def groups_by_category() -> dict[str, list[Group]]:
    """The groups of each category, in lexicon order."""
    out: dict[str, list[Group]] = {c: [] for c in CATEGORIES}
    for g in GROUPS:
        out[g.category].append(g)
    return out


def group_by_term(term: str) -> Group:
    """The group whose ``term`` is ``term`` (KeyError if none)."""
    for g in GROUPS:
        if g.term == term:
            return g
    raise KeyError(term)

