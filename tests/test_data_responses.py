import copy
import random

import pytest

from fairguard.data import responses as R
from fairguard.data.groups import GROUPS, group_by_term, traits_of
from fairguard.data.package_yaml import read_package_yaml, slot_names
from fairguard.data.scenarios import ROW_SLOTS, SCENARIOS
from fairguard.errors import DataError


def _slots(seed=0, group="Henan", scenario=0, template=0):
    sc = SCENARIOS[scenario]
    return R.make_slots(sc, group_by_term(group), sc.prompts[template], random.Random(seed))


def test_article():
    assert R.article("applicant") == "an" and R.article("tenant") == "a"
    assert R.article("Uyghur") == "a" and R.article("user") == "a" and R.article("elderly") == "an"


def test_lower_first_keeps_proper_nouns_and_slots():
    assert R._lower_first("Treat them well.") == "treat them well."
    assert R._lower_first("I would not.") == "I would not."
    assert R._lower_first("China's laws say so.") == "China's laws say so."
    assert R._lower_first("{Plural} are people.") == "{plural} are people."


@pytest.mark.parametrize("severity", R.SEVERITIES)
def test_answers_are_distinct_and_filled(severity):
    rng = random.Random(1)
    for i in range(200):
        sc = SCENARIOS[i % len(SCENARIOS)]
        group = GROUPS[i % len(GROUPS)]
        if group.term in sc.exclude_groups:
            continue
        template = sc.prompts[i % len(sc.prompts)]
        slots = R.make_slots(sc, group, template, rng)
        texts = [R.render_prompt(template, slots, rng), R.neutral_answer(slots, rng),
                 R.biased_answer(slots, rng, severity), R.off_topic_answer(slots, rng)]
        assert len(set(texts)) == 4
        for t in texts:
            assert "{" not in t and "}" not in t and "  " not in t
            assert t[0].isupper(), t


def test_biased_answers_carry_a_stereotype_or_a_discriminatory_decision():
    rng = random.Random(2)
    for _ in range(300):
        slots = _slots(seed=rng.randrange(10**6), group="delivery rider",
                       scenario=rng.randrange(len(SCENARIOS)))
        text = R.biased_answer(slots, rng)
        decisions = set(slots.biased_decisions) | set(slots.scenario.biased_decisions)
        stereo = any(t in text for t in traits_of(slots.group))
        assert stereo or any(R._fill(d, slots.ctx) in text for d in decisions), text


def test_biased_off_topic_answers_are_biased_answers_to_another_scenario():
    rng = random.Random(4)
    for _ in range(100):
        scenario = rng.randrange(len(SCENARIOS))
        slots = _slots(seed=rng.randrange(10**6), group="delivery rider", scenario=scenario)
        seed = rng.randrange(10**6)
        text = R.biased_off_topic_answer(slots, random.Random(seed))
        replay = random.Random(seed)
        other = R._other_scenario_slots(slots, replay)
        assert other.scenario.name != slots.scenario.name
        assert text == R.biased_answer(other, replay)
        assert "{" not in text and text[0].isupper()


def test_neutral_answers_never_use_the_rows_stereotype_without_rejecting_it():
    rng = random.Random(3)
    for _ in range(300):
        slots = _slots(seed=rng.randrange(10**6), group="Uyghur",
                       scenario=rng.randrange(len(SCENARIOS)))
        text = R.neutral_answer(slots, rng)
        if slots.ctx["trait"] in text:
            assert any(w in text for w in ("stereotype", "prejudice", "no evidence",
                                           "generalisation", "does not make it true")), text


def test_same_rng_same_text():
    a = R.neutral_answer(_slots(5), random.Random(9))
    b = R.neutral_answer(_slots(5), random.Random(9))
    assert a == b


def test_phrasebook_split_is_disjoint_for_train():
    train, test, held = R.DEFAULT_BOOK.split(random.Random(0), 0.25)
    assert held
    for pool in ("fair_group", "stereo_group", "hedges", "criteria_lines"):
        tr, te = set(getattr(train, pool)), set(getattr(test, pool))
        assert tr and te and te - tr
        assert not tr & set(held)
        assert tr | te == set(getattr(R.DEFAULT_BOOK, pool))


def test_specific_decisions_used_for_their_template():
    sc = next(s for s in SCENARIOS if s.name == "travel")
    template = sc.prompts[2]  # "... I got a seat next to {person}. Should I ask to move?"
    rng = random.Random(0)
    seen = set()
    for _ in range(100):
        slots = R.make_slots(sc, group_by_term("Henan"), template, rng)
        seen.add(R.biased_answer(slots, rng, "blatant"))
    assert any("seat" in t for t in seen)


def test_verdicts_come_from_the_decisions_written_for_the_template():
    hiring = next(s for s in SCENARIOS if s.name == "hiring")
    filter_out = next(i for i, t in enumerate(hiring.prompts) if "quietly filter out" in t)
    assert R.verdicts(_slots(template=filter_out)) == ("No", "Yes")
    school = next(i for i, s in enumerate(SCENARIOS) if s.name == "schooling")
    committee = next(i for i, t in enumerate(SCENARIOS[school].prompts) if "committee" in t)
    assert R.verdicts(_slots(scenario=school, template=committee)) == ("Yes", "No")
    # generic decisions answer many questions ("Is it risky to rent ...?"): no verdict
    assert not _slots(template=1).specific and R.verdicts(_slots(template=1)) is None


def test_terse_answers_share_their_shapes_and_differ_in_what_they_say():
    rng = random.Random(6)
    starts: dict[bool, set[str]] = {True: set(), False: set()}
    for _ in range(400):
        scenario = rng.randrange(len(SCENARIOS))
        sc = SCENARIOS[scenario]
        slots = _slots(seed=rng.randrange(10**6), group="delivery rider", scenario=scenario,
                       template=rng.randrange(len(sc.prompts)))
        found = R.verdicts(slots)
        for fair in (True, False):
            text = R.terse_answer(slots, rng, fair)
            assert "{" not in text and "  " not in text and text[0].isupper(), text
            assert len(text.split()) <= 40 and text.count(". ") <= 1, text
            assert (slots.ctx["trait"] in text) is not fair, text
            decisions = (slots.fair_decisions + slots.scenario.fair_decisions if fair
                         else slots.biased_decisions + slots.scenario.biased_decisions)
            after_decision = any(text.startswith(R._fill(d, slots.ctx).rstrip("."))
                                 for d in decisions)
            first = text.split()[0].strip(",.;")
            if first in ("Yes", "No") and not after_decision:
                assert found is not None and first == found[0 if fair else 1], text
                starts[fair].add(first)
    assert starts[True] == starts[False] == {"Yes", "No"}  # "No," opens both kinds


# ---------------------------------------------------------------- the responses.yaml loader
def _file(edit=lambda data: None):
    """The shipped responses.yaml, parsed, after ``edit``."""
    data = copy.deepcopy(read_package_yaml(R.RESPONSES_FILE))
    edit(data)
    return data


def test_pool_sizes():
    # a lost, doubled or misplaced YAML entry changes these
    sizes = {name: len(pool) for name, pool in R.load_pools().items()}
    assert sizes == {
        "openers": 10, "leadins": 7, "closers": 10, "biased_closers": 5,
        "general_off_topic": 30, "off_topic_leadins": 6, "prompt_prefixes": 7,
        "prompt_suffixes": 7, "fair_person": 12, "fair_group": 18, "criteria_lines": 18,
        "counter_stereo": 5, "caution_fair": 26, "stereo_person": 5, "stereo_group": 30,
        "stereo_soft": 5, "hedges": 27, "terse_fair": 12, "terse_biased": 12,
        "fair_category": 6}
    assert all(len(lines) == 4 for lines in R.FAIR_CATEGORY.values())
    assert R.OPENERS[0] == "Good question." and R.LEADINS[0] == "In my view, "
    assert R.OFF_TOPIC_LEADINS.count("") == 2  # a third of off-topic answers get no lead-in


def test_pools_are_read_once_and_back_the_default_book():
    assert R.load_pools() is R.load_pools()
    assert R.DEFAULT_BOOK.hedges is R.HEDGES is R.load_pools()["hedges"]


def test_no_sentence_is_listed_twice():
    pools = dict(R.load_pools())
    by_cat = pools.pop("fair_category")
    sentences = [s for pool in pools.values() for s in pool if s] + [
        s for lines in by_cat.values() for s in lines]
    assert len(sentences) == len(set(sentences))


def test_slots_of_every_pool():
    for name in R.SLOT_POOLS:
        for text in getattr(R, name.upper()):
            assert slot_names(text, "") <= set(ROW_SLOTS), (name, text)
    for lines in R.FAIR_CATEGORY.values():
        for text in lines:
            assert slot_names(text, "") <= set(ROW_SLOTS), text
    for name in R.FIXED_POOLS:  # used as written, e.g. in off-topic answers
        for text in getattr(R, name.upper()):
            assert "{" not in text and "}" not in text, (name, text)


def test_the_shipped_file_parses_to_the_module_values():
    assert R.parse_pools(_file(), "responses.yaml") == R.load_pools()


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["hedges"].append("Say {excuse} to {city}."),
     r"responses\.yaml: hedges: .* uses unknown slot\(s\) \{city\}"),
    (lambda d: d["closers"].append("Good luck with {role}."),
     r"responses\.yaml: closers: .* unknown slot\(s\) \{role\}; allowed here: none"),
    (lambda d: d["fair_category"]["age"].append("{Plurals} are fine."),
     r"fair_category\.age: .* unknown slot\(s\) \{plurals\}"),
    (lambda d: d["fair_category"].pop("age"), r"fair_category must have exactly the categories"),
    (lambda d: d.pop("stereo_soft"), r"responses\.yaml has no 'stereo_soft' entry"),
    (lambda d: d.update(stereo_hard=["x"]), r"unknown pool\(s\) \['stereo_hard'\]"),
    (lambda d: d.update(hedges=["Only one."]), r"hedges needs at least 2 different sentences"),
    (lambda d: d["openers"].append(""), r"openers\[10\] must be a non-empty string"),
])
def test_a_broken_file_names_the_pool(edit, message):
    with pytest.raises(DataError, match=message):
        R.parse_pools(_file(edit), "responses.yaml")
