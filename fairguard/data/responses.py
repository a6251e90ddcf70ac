"""Compose prompts and their neutral, biased and off-topic answers from sentence pools.

Answers are built from interchangeable parts (opener, decision, group statement, criteria,
stereotype, consequence, hedge, closer) in several orders, so that no fixed phrase, length or
position separates a neutral answer from a biased one: openers and closers are shared, both
kinds usually mention the group, neutral answers sometimes voice caution and biased ones range
from blatant to polite-sounding.

The pools live in ``responses.yaml`` next to this file; this module reads them once, on import.
"""

from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass, fields
from typing import Any

from fairguard.data.groups import CATEGORIES, GROUPS, Group, traits_of
from fairguard.data.package_yaml import (
    check_slots,
    key,
    mapping,
    read_package_yaml,
    strings,
)
from fairguard.data.scenarios import CITIES, ROW_SLOTS, SCENARIOS, Scenario
from fairguard.errors import DataError

RESPONSES_FILE = "responses.yaml"
# Pools used as written (no slots); the empty off-topic lead-in is listed twice on purpose.
FIXED_POOLS = ("openers", "leadins", "closers", "biased_closers", "general_off_topic",
               "off_topic_leadins", "prompt_prefixes", "prompt_suffixes")
# Pools filled from a row's slots (fairguard.data.scenarios.ROW_SLOTS).
SLOT_POOLS = ("fair_person", "fair_group", "criteria_lines", "counter_stereo", "caution_fair",
              "stereo_person", "stereo_group", "stereo_soft", "hedges", "terse_fair",
              "terse_biased")
_MIN_ITEMS = {"hedges": 2, "general_off_topic": 3}  # answers draw that many different ones


def parse_pools(data: dict[str, Any], source: str) -> dict[str, Any]:
    """The sentence pools of a parsed ``responses.yaml``, their slots checked: pool name ->
    tuple of sentences, and ``fair_category``: category -> tuple of sentences."""
    names = {*FIXED_POOLS, *SLOT_POOLS, "fair_category"}
    extra = set(data) - names
    if extra:
        raise DataError(f"{source}: unknown pool(s) {sorted(extra)}; use {sorted(names)}")
    pools: dict[str, Any] = {}
    for name in FIXED_POOLS + SLOT_POOLS:
        where = f"{source}: {name}"
        pools[name] = strings(key(data, name, source), where,
                              allow_blank=name == "off_topic_leadins")
        check_slots(pools[name], ROW_SLOTS if name in SLOT_POOLS else (), where)
        if len(set(pools[name])) < _MIN_ITEMS.get(name, 1):
            raise DataError(f"{where} needs at least {_MIN_ITEMS[name]} different sentences")
    by_cat = mapping(key(data, "fair_category", source), f"{source}: fair_category")
    if set(by_cat) != set(CATEGORIES):
        raise DataError(f"{source}: fair_category must have exactly the categories "
                        f"{', '.join(CATEGORIES)}, got {', '.join(by_cat)}")
    pools["fair_category"] = {c: strings(v, f"{source}: fair_category.{c}")
                              for c, v in by_cat.items()}
    for c, lines in pools["fair_category"].items():
        check_slots(lines, ROW_SLOTS, f"{source}: fair_category.{c}")
    return pools


@functools.lru_cache(maxsize=1)
def load_pools() -> dict[str, Any]:
    """The parsed ``fairguard/data/responses.yaml`` (read once)."""
    return parse_pools(read_package_yaml(RESPONSES_FILE), f"fairguard/data/{RESPONSES_FILE}")


_POOLS = load_pools()
# shared by both kinds
OPENERS: tuple[str, ...] = _POOLS["openers"]
LEADINS: tuple[str, ...] = _POOLS["leadins"]
CLOSERS: tuple[str, ...] = _POOLS["closers"]
# neutral pieces; lines about one person ("they" = the person in the prompt) use {pred}
FAIR_PERSON: tuple[str, ...] = _POOLS["fair_person"]
FAIR_GROUP: tuple[str, ...] = _POOLS["fair_group"]
FAIR_CATEGORY: dict[str, tuple[str, ...]] = _POOLS["fair_category"]
CRITERIA_LINES: tuple[str, ...] = _POOLS["criteria_lines"]
COUNTER_STEREO: tuple[str, ...] = _POOLS["counter_stereo"]  # name a stereotype to reject it
CAUTION_FAIR: tuple[str, ...] = _POOLS["caution_fair"]  # caution that applies to everyone
# biased pieces
STEREO_PERSON: tuple[str, ...] = _POOLS["stereo_person"]
STEREO_GROUP: tuple[str, ...] = _POOLS["stereo_group"]
STEREO_SOFT: tuple[str, ...] = _POOLS["stereo_soft"]
HEDGES: tuple[str, ...] = _POOLS["hedges"]
# one-sentence reasons of terse answers (fair and biased share every shape)
TERSE_FAIR: tuple[str, ...] = _POOLS["terse_fair"]
TERSE_BIASED: tuple[str, ...] = _POOLS["terse_biased"]
BIASED_CLOSERS: tuple[str, ...] = _POOLS["biased_closers"]
# off-topic answers and prompt decoration
GENERAL_OFF_TOPIC: tuple[str, ...] = _POOLS["general_off_topic"]
OFF_TOPIC_LEADINS: tuple[str, ...] = _POOLS["off_topic_leadins"]
PROMPT_PREFIXES: tuple[str, ...] = _POOLS["prompt_prefixes"]
PROMPT_SUFFIXES: tuple[str, ...] = _POOLS["prompt_suffixes"]

SEVERITIES = ("blatant", "moderate", "subtle")


@dataclass(frozen=True)
class Phrasebook:
    """The sentence pools answers are built from; the builder gives the test split pools with
    some sentences that train never sees (see :meth:`split`)."""

    fair_person: tuple[str, ...] = FAIR_PERSON
    fair_group: tuple[str, ...] = FAIR_GROUP
    counter_stereo: tuple[str, ...] = COUNTER_STEREO
    criteria_lines: tuple[str, ...] = CRITERIA_LINES
    stereo_person: tuple[str, ...] = STEREO_PERSON
    stereo_group: tuple[str, ...] = STEREO_GROUP
    stereo_soft: tuple[str, ...] = STEREO_SOFT
    hedges: tuple[str, ...] = HEDGES
    terse_fair: tuple[str, ...] = TERSE_FAIR
    terse_biased: tuple[str, ...] = TERSE_BIASED

    def split(self, rng: random.Random, fraction: float
              ) -> tuple[Phrasebook, Phrasebook, list[str]]:
        """(train book, test book, held-out sentences): each pool loses ``fraction`` of its
        sentences to the test book, which also keeps a few shared ones."""
        train: dict[str, tuple[str, ...]] = {}
        test: dict[str, tuple[str, ...]] = {}
        held: list[str] = []
        for f in fields(self):
            pool = list(getattr(self, f.name))
            k = max(1, round(fraction * len(pool)))
            out = set(rng.sample(pool, k))
            train[f.name] = tuple(p for p in pool if p not in out)
            keep = rng.sample(train[f.name], min(2, len(train[f.name])))
            test[f.name] = tuple(p for p in pool if p in out or p in keep)
            held += [p for p in pool if p in out]
        return Phrasebook(**train), Phrasebook(**test), held


DEFAULT_BOOK = Phrasebook()


class _Ctx(dict):
    """format_map mapping: ``{Key}`` gives ``{key}`` with a capital first letter."""

    def __missing__(self, key: str) -> str:
        low = key[:1].lower() + key[1:]
        if key[:1].isupper() and low in self:
            value = str(self[low])
            return value[:1].upper() + value[1:]
        raise KeyError(key)


def article(word: str) -> str:
    """'a' or 'an' before ``word`` (by sound for the usual exceptions: a Uyghur, a user)."""
    low = word.lower()
    if low.startswith(("uy", "uni", "use", "usu", "eu", "one")):
        return "a"
    return "an" if low[:1] in "aeiou" else "a"


def _fill(text: str, ctx: _Ctx) -> str:
    # Slot values may hold slots themselves (criteria mention {relative}); fill twice.
    return text.format_map(ctx).format_map(ctx) if "{" in text else text


_SENT_START = re.compile(r"([.!?]\s+)([a-z])")


def _tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    text = _SENT_START.sub(lambda m: m.group(1) + m.group(2).upper(), text)
    return text[:1].upper() + text[1:]


@dataclass
class Slots:
    """Everything a row's texts are filled from."""

    scenario: Scenario
    group: Group
    ctx: _Ctx
    individual: bool  # the prompt is about one person (else about the group)
    fair_decisions: tuple[str, ...] = ()
    biased_decisions: tuple[str, ...] = ()
    specific: bool = False  # the decisions answer this template's exact question
    traits: tuple[str, ...] = ()  # stereotype wordings this row may use
    book: Phrasebook = DEFAULT_BOOK


def person_phrase(group: Group, role: str, rng: random.Random) -> str:
    """A member of ``group`` in one of its wordings: noun, adjective + role, or role + modifier."""
    options = [group.noun, f"{article(role)} {role} {group.post}"]
    if group.pre:
        options.append(f"{article(group.pre)} {group.pre} {role}")
    return rng.choice(options)


def make_slots(scenario: Scenario, group: Group, template: str, rng: random.Random,
               traits: tuple[str, ...] | list[str] | None = None,
               book: Phrasebook = DEFAULT_BOOK) -> Slots:
    """Draw the slot values of one row (``traits``: the stereotypes allowed, default all;
    ``book``: the sentence pools to compose answers from)."""
    role, roles = rng.choice(scenario.roles)
    ctx = _Ctx()
    for name, values in sorted(scenario.slots.items()):
        ctx[name] = rng.choice(values)
    if "relative" in ctx:  # the prompt says "my daughter", the answer "your daughter"
        ctx["your_relative"] = "your " + ctx["relative"].removeprefix("my ")
    if "position" in ctx:
        ctx["position_bare"] = ctx["position"].split(" ", 1)[1]
    crit, crit2 = rng.sample(scenario.criteria, 2)
    plural = rng.choice(group.plurals)
    ctx.update(role=role, a_role=f"{article(role)} {role}", roles=roles, plural=plural,
               pred=group.pred, noun=group.noun, person=person_phrase(group, role, rng),
               crit=crit, crit2=crit2, excuse=rng.choice(scenario.excuses))
    allowed = tuple(traits or traits_of(group))
    ctx["trait"] = rng.choice(allowed)
    fair, biased = scenario.decisions(template)
    return Slots(scenario, group, ctx, individual="{person}" in template or "{Person}" in template,
                 fair_decisions=fair, biased_decisions=biased,
                 specific=fair is not scenario.fair_decisions, traits=allowed, book=book)


def render_prompt(template: str, slots: Slots, rng: random.Random | None = None) -> str:
    """The prompt text; with ``rng``, sometimes with a conversational prefix or suffix."""
    text = _fill(template, slots.ctx)
    if rng is not None:
        r = rng.random()
        if r < 0.15:
            text = rng.choice(PROMPT_PREFIXES) + text
        elif r < 0.3:
            text = text + rng.choice(PROMPT_SUFFIXES)
    return _tidy(text)


def _decision(slots: Slots, rng: random.Random, fair: bool) -> str:
    specific = slots.fair_decisions if fair else slots.biased_decisions
    generic = slots.scenario.fair_decisions if fair else slots.scenario.biased_decisions
    if slots.specific and rng.random() < 0.7:
        return rng.choice(specific)
    return rng.choice(generic)


def _maybe_opener(rng: random.Random, parts: list[str]) -> list[str]:
    """Prefix an opener sentence or a lead-in to the first part, or nothing."""
    r = rng.random()
    if r < 0.3:
        return [rng.choice(OPENERS)] + parts
    if r < 0.55 and parts:
        return [rng.choice(LEADINS) + _lower_first(parts[0])] + parts[1:]
    return parts


def _maybe_closer(rng: random.Random, parts: list[str], extra: tuple[str, ...] = ()) -> list[str]:
    r = rng.random()
    if r < 0.3:
        return parts + [rng.choice(CLOSERS)]
    if r < 0.4 and extra:
        return parts + [rng.choice(extra)]
    return parts


_PROPER = {"I", "I'm", "I'd", "I've", "I'll", "China", "China's", "Chinese", "Spring",
           "Mid-Autumn", "Han"} | set(CITIES) | {
    form.split(" ", 1)[0] for g in GROUPS for form in g.forms() if form[:1].isupper()}


def _lower_first(text: str) -> str:
    """Lower-case the first letter so the text can follow a lead-in; keeps proper nouns and
    turns a leading ``{Slot}`` into ``{slot}`` (the slot value brings its own case)."""
    if text.startswith("{"):
        return "{" + text[1:2].lower() + text[2:]
    first = text.split(" ", 1)[0].rstrip(",.;:")
    if first in _PROPER:
        return text
    return text[:1].lower() + text[1:]


def neutral_answer(slots: Slots, rng: random.Random) -> str:
    """A fair, relevant, fluent answer; it usually names the group and rejects it as a factor."""
    ctx, cat = slots.ctx, slots.group.category
    book = slots.book
    pool_group = (book.fair_group + FAIR_CATEGORY[cat]
                  + (book.fair_person if slots.individual else ()))
    decision = _decision(slots, rng, fair=True)
    group_line = rng.choice(pool_group)
    if rng.random() < 0.2:
        group_line = rng.choice(book.counter_stereo)
    crit_line = rng.choice(book.criteria_lines)
    shape = rng.random()
    if shape < 0.3:
        parts = [decision, group_line, crit_line]
    elif shape < 0.5:
        parts = [group_line, decision]
    elif shape < 0.65:
        parts = [crit_line, group_line, decision]
    elif shape < 0.8:
        parts = [group_line, crit_line, rng.choice(CAUTION_FAIR)]
    elif shape < 0.9:
        parts = [decision, crit_line]  # no group mention at all
    else:
        second = rng.choice([g for g in pool_group if g != group_line])
        parts = [group_line, second, decision]
    parts = _maybe_closer(rng, _maybe_opener(rng, parts))
    return _tidy(" ".join(_fill(p, ctx) for p in parts))


def biased_answer(slots: Slots, rng: random.Random, severity: str | None = None) -> str:
    """A fluent, on-topic answer that discriminates against the group (blatant to subtle)."""
    ctx, sc = slots.ctx, slots.scenario
    severity = severity or rng.choice(SEVERITIES)
    book = slots.book
    stereo_pool = book.stereo_group + (book.stereo_person if slots.individual else ())
    decision = _decision(slots, rng, fair=False)
    consequence = rng.choice(sc.consequences)
    if severity == "blatant":
        parts = [decision, rng.choice(stereo_pool)]
        if rng.random() < 0.6:
            parts.append(consequence)
        if rng.random() < 0.3:
            parts.reverse()
    elif severity == "moderate":
        parts = [rng.choice(stereo_pool), decision]
        if rng.random() < 0.5:
            parts.insert(1, consequence)
        if rng.random() < 0.4:
            parts.append(rng.choice(book.hedges))
    else:
        hedge, hedge2 = rng.sample(book.hedges, 2)
        parts = [hedge, rng.choice(book.stereo_soft)]
        if rng.random() < 0.5:
            parts.append(hedge2)
        if rng.random() < 0.3:
            parts.insert(0, rng.choice(book.criteria_lines))
        if rng.random() < 0.3:
            parts.append(decision)
    parts = _maybe_closer(rng, _maybe_opener(rng, parts), BIASED_CLOSERS)
    return _tidy(" ".join(_fill(p, ctx) for p in parts))


_VERDICT = re.compile(r"^(Yes|No)\b")
_FLIP = {"Yes": "No", "No": "Yes"}


def verdicts(slots: Slots) -> tuple[str, str] | None:
    """(fair, biased) one-word answers, "Yes" or "No", to the row's prompt, read from the leading
    word of the decisions written for its template; None for templates without their own
    decisions (the generic ones answer many questions, so their "Yes" may not fit this one) or
    whose decisions do not answer yes or no."""
    if not slots.specific:
        return None
    f = {m.group(1) for d in slots.fair_decisions if (m := _VERDICT.match(d))}
    b = {m.group(1) for d in slots.biased_decisions if (m := _VERDICT.match(d))}
    if len(f) == 1 and b <= {_FLIP[fair := next(iter(f))]}:
        return fair, _FLIP[fair]
    if not f and len(b) == 1:
        return _FLIP[biased := next(iter(b))], biased
    return None


def terse_answer(slots: Slots, rng: random.Random, fair: bool) -> str:
    """A one- or two-sentence answer: a reason alone, after the prompt's verdict ("No, ..."), or
    after a decision ("I would not hire them; ..."); fair and biased answers are drawn in
    the same shapes, so only what the reason says about the group tells them apart."""
    reason = rng.choice(slots.book.terse_fair if fair else slots.book.terse_biased)
    found = verdicts(slots)
    shape = rng.random()
    if shape < 0.3:
        lead = _decision(slots, rng, fair).rstrip(".")
    elif shape < 0.75 and found is not None:
        lead = found[0] if fair else found[1]
    else:
        return _tidy(_fill(reason, slots.ctx))
    text = lead + rng.choice((", ", ". ", "; ")) + _lower_first(reason)
    return _tidy(_fill(text, slots.ctx))


def _other_scenario_slots(slots: Slots, rng: random.Random) -> Slots:
    """Slots for a different scenario about the same group (an answer to them is off topic)."""
    other = rng.choice([s for s in SCENARIOS if s.name != slots.scenario.name
                        and slots.group.term not in s.exclude_groups])
    template = rng.choice(other.prompts)
    return make_slots(other, slots.group, template, rng, slots.traits, slots.book)


def biased_off_topic_answer(slots: Slots, rng: random.Random) -> str:
    """A biased answer to a different scenario about the same group: it does not answer the
    prompt, and its wording is as prejudiced as an on-topic biased answer's."""
    return biased_answer(_other_scenario_slots(slots, rng), rng)


def off_topic_answer(slots: Slots, rng: random.Random) -> str:
    """A fluent, fair answer that does not address the prompt.

    Half the time it is a neutral answer for a different scenario (same group, so only the
    topic gives it away); otherwise facts about the scenario's setting or general small talk.
    """
    r = rng.random()
    if r < 0.45:
        return neutral_answer(_other_scenario_slots(slots, rng), rng)
    if r < 0.75:
        a, b = rng.sample(slots.scenario.off_topic, 2)
        parts = [a, b]
        if rng.random() < 0.5:
            parts.append(rng.choice(GENERAL_OFF_TOPIC))
    else:
        parts = rng.sample(GENERAL_OFF_TOPIC, rng.choice((2, 3)))
    lead = rng.choice(OFF_TOPIC_LEADINS)
    if lead:
        parts[0] = lead + _lower_first(parts[0])
    if rng.random() < 0.25:
        parts.append(rng.choice(CLOSERS))
    return _tidy(" ".join(parts))
