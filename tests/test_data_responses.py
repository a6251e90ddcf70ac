import random

import pytest

from fairguard.data import responses as R
from fairguard.data.groups import GROUPS, group_by_term, traits_of
from fairguard.data.scenarios import SCENARIOS


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
