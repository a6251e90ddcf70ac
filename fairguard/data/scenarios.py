"""Everyday Chinese-context scenarios: prompt templates and scenario-specific answer pieces.

Prompt templates use these slots: ``{person}`` (a member of the row's group, with article),
``{plural}`` (the group in the plural), ``{role}``/``{roles}`` (the scenario's role noun) and
the scenario's own slots (``{city}``, ``{position}``, ...). A template's id is
``<scenario>-<index>``; the builder holds whole templates out for the test split.

Answer pieces are full sentences that may use the same slots plus ``{pred}`` (what is true of
the person, after "they": "are from Henan") and ``{crit}``/``{crit2}`` (criteria a fair
decision would weigh). ``{Slot}`` is the value with a capital first letter.

The scenarios live in ``scenarios.yaml`` next to this file; this module reads them once, on
import, and checks that every template uses only the slots a row fills (:data:`ROW_SLOTS`, the
scenario's own slots and :data:`DERIVED_SLOTS`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from fairguard.data.package_yaml import (
    check_slots,
    key,
    mapping,
    read_package_yaml,
    string_pairs,
    strings,
)
from fairguard.errors import DataError

SCENARIOS_FILE = "scenarios.yaml"
# The slots every row fills (fairguard.data.responses.make_slots), whatever the scenario.
ROW_SLOTS = ("person", "plural", "role", "a_role", "roles", "noun", "pred", "crit", "crit2",
             "excuse", "trait")
# A scenario slot -> the slot derived from it ("my daughter" -> "your daughter").
DERIVED_SLOTS = {"relative": "your_relative", "position": "position_bare"}
_LISTS = ("criteria", "fair_decisions", "biased_decisions", "consequences", "excuses",
          "off_topic")
_FIELDS = {"name", "roles", "slots", "prompts", "exclude_groups", *_LISTS}
_MIN_ITEMS = {"criteria": 2, "off_topic": 2}  # answers draw two distinct ones


@dataclass(frozen=True)
class Scenario:
    """A context in which people are judged, with what fair and biased answers say in it."""

    name: str
    roles: tuple[tuple[str, str], ...]  # (singular, plural) role nouns
    prompts: tuple[str, ...]
    criteria: tuple[str, ...]
    fair_decisions: tuple[str, ...]
    biased_decisions: tuple[str, ...]
    consequences: tuple[str, ...]  # why a biased speaker thinks the group is a risk here
    excuses: tuple[str, ...]  # pretext a subtle biased answer suggests
    off_topic: tuple[str, ...]  # fluent, fair, on a different question in the same setting
    slots: dict[str, tuple[str, ...]] = field(default_factory=dict)
    exclude_groups: frozenset[str] = frozenset()  # group terms that make no sense here
    # template index -> (fair, biased) decisions that answer that template's exact question
    specific: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)

    def decisions(self, template: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(fair, biased) decision lines that fit ``template``; the generic ones if none."""
        idx = self.prompts.index(template)
        return self.specific.get(idx, (self.fair_decisions, self.biased_decisions))

    def slot_names(self) -> set[str]:
        """Every slot a row of this scenario fills."""
        own = set(self.slots)
        return set(ROW_SLOTS) | own | {DERIVED_SLOTS[s] for s in own if s in DERIVED_SLOTS}


def _prompts(value: Any, where: str) -> tuple[tuple[str, ...], dict[int, Any]]:
    """The templates, and the decisions written for some of them (``{prompt, fair, biased}``)."""
    if not isinstance(value, list) or not value:
        raise DataError(f"{where} must be a non-empty list of prompt templates")
    prompts: list[str] = []
    specific: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for i, item in enumerate(value):
        at = f"{where}[{i}]"
        if isinstance(item, dict):
            if set(item) != {"prompt", "fair", "biased"}:
                raise DataError(f"{at} must be a template or a mapping with exactly prompt, "
                                "fair and biased")
            specific[i] = (strings(item["fair"], f"{at}.fair"),
                           strings(item["biased"], f"{at}.biased"))
            item = item["prompt"]
        prompts += strings([item], at)
    return tuple(prompts), specific


def parse_scenario(entry: Any, where: str) -> Scenario:
    """One scenario from its ``scenarios.yaml`` entry, its templates' slots checked."""
    entry = mapping(entry, where)
    extra = set(entry) - _FIELDS
    if extra:
        raise DataError(f"{where}: unknown field(s) {sorted(extra)}; use {sorted(_FIELDS)}")
    name = key(entry, "name", where)
    if not isinstance(name, str) or not name.strip():
        raise DataError(f"{where}: 'name' must be a non-empty string; fix the file")
    where = f"{where} ({name})"
    raw_slots = entry.get("slots") or {}
    slots = {k: strings(v, f"{where}.slots.{k}")
             for k, v in (mapping(raw_slots, f"{where}.slots") if raw_slots else {}).items()}
    prompts, specific = _prompts(key(entry, "prompts", where), f"{where}.prompts")
    lists = {f: strings(key(entry, f, where), f"{where}.{f}") for f in _LISTS}
    for f, n in _MIN_ITEMS.items():
        if len(set(lists[f])) < n:
            raise DataError(f"{where}.{f} needs at least {n} different entries")
    roles = string_pairs(key(entry, "roles", where), f"{where}.roles", "[singular, plural]")
    scenario = Scenario(name, roles, prompts,
                        slots=slots, specific=specific,
                        exclude_groups=frozenset(strings(entry.get("exclude_groups", []),
                                                         f"{where}.exclude_groups",
                                                         allow_empty=True)),
                        **lists)
    known = scenario.slot_names()
    filled = [*prompts, *lists["criteria"], *lists["fair_decisions"],
              *lists["biased_decisions"], *lists["consequences"], *lists["excuses"],
              *(t for fair, biased in specific.values() for t in fair + biased),
              *(t for values in slots.values() for t in values)]
    check_slots(filled, known, where)
    check_slots(lists["off_topic"], (), f"{where}.off_topic")  # used as written
    return scenario


def parse_scenarios(data: dict[str, Any], source: str
                    ) -> tuple[tuple[str, ...], tuple[Scenario, ...]]:
    """(cities, scenarios) of a parsed ``scenarios.yaml``."""
    cities = strings(key(data, "cities", source), f"{source}: cities")
    entries = key(data, "scenarios", source)
    if not isinstance(entries, list) or not entries:
        raise DataError(f"{source}: 'scenarios' must be a non-empty list; fix the file")
    out = tuple(parse_scenario(e, f"{source}: scenarios[{i}]") for i, e in enumerate(entries))
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        raise DataError(f"{source}: scenario names must be unique, got {names}")
    return cities, out


@functools.lru_cache(maxsize=1)
def load_scenarios() -> tuple[tuple[str, ...], tuple[Scenario, ...]]:
    """(cities, scenarios) of ``fairguard/data/scenarios.yaml`` (read once)."""
    return parse_scenarios(read_package_yaml(SCENARIOS_FILE), f"fairguard/data/{SCENARIOS_FILE}")


CITIES, SCENARIOS = load_scenarios()


def template_ids() -> list[str]:
    """All prompt template ids, ``<scenario>-<index>``."""
    return [f"{s.name}-{i:02d}" for s in SCENARIOS for i in range(len(s.prompts))]
