import copy
import random
import string

import pytest

from fairguard.data import scenarios as S
from fairguard.data.groups import GROUPS
from fairguard.data.package_yaml import read_package_yaml, slot_names
from fairguard.data.responses import make_slots, render_prompt
from fairguard.data.scenarios import SCENARIOS, template_ids
from fairguard.errors import DataError

REQUIRED = {"hiring", "renting", "schooling", "marriage", "lending", "service",
            "online_comments", "healthcare", "promotion"}


def test_required_scenarios_and_unique_template_ids():
    assert REQUIRED <= {s.name for s in SCENARIOS}
    ids = template_ids()
    assert len(ids) == len(set(ids)) >= 60


def test_every_template_mentions_the_group():
    for sc in SCENARIOS:
        assert len(sc.prompts) >= 5, sc.name
        for t in sc.prompts:
            assert any(k in t for k in ("{person}", "{Person}", "{plural}", "{Plural}")), t


def test_every_template_renders_for_every_fitting_group():
    rng = random.Random(0)
    for sc in SCENARIOS:
        for t in sc.prompts:
            for g in GROUPS:
                if g.term in sc.exclude_groups:
                    continue
                slots = make_slots(sc, g, t, rng)
                prompt = render_prompt(t, slots)
                assert "{" not in prompt and "}" not in prompt, prompt
                assert g.regex().search(prompt), (g.term, prompt)
                assert prompt[0] in string.ascii_uppercase


def test_pieces_have_enough_variety():
    for sc in SCENARIOS:
        assert len(sc.fair_decisions) >= 4 and len(sc.biased_decisions) >= 4, sc.name
        assert len(sc.criteria) >= 4 and len(sc.consequences) >= 4 and len(sc.off_topic) >= 4
        assert not set(sc.fair_decisions) & set(sc.biased_decisions)


# ---------------------------------------------------------------- the scenarios.yaml loader
def _file(edit=lambda data: None):
    """The shipped scenarios.yaml, parsed, after ``edit``."""
    data = copy.deepcopy(read_package_yaml(S.SCENARIOS_FILE))
    edit(data)
    return data



def test_scenario_counts():
    # docs/data.md: 11 scenarios, 96 prompt templates
    assert [s.name for s in SCENARIOS] == [
        "hiring", "renting", "schooling", "marriage", "lending", "service", "online_comments",
        "healthcare", "promotion", "neighbourhood", "travel"]
    assert len(template_ids()) == 96
    assert len(S.CITIES) == 15 and all(s.slots["city"] == S.CITIES for s in SCENARIOS)
    travel = SCENARIOS[-1]
    assert sorted(travel.specific) == list(range(8))
    assert travel.specific[2][0][1] == "There is no reason to move."


def test_scenarios_are_read_once():
    assert S.load_scenarios() is S.load_scenarios()
    assert S.SCENARIOS is S.load_scenarios()[1]


def test_make_slots_fills_exactly_the_slots_templates_may_use():
    rng = random.Random(0)
    for sc in SCENARIOS:
        group = next(g for g in GROUPS if g.term not in sc.exclude_groups)
        slots = make_slots(sc, group, sc.prompts[0], rng)
        assert set(slots.ctx) == sc.slot_names(), sc.name


def test_every_template_uses_only_filled_slots():
    for sc in SCENARIOS:
        texts = [*sc.prompts, *sc.criteria, *sc.fair_decisions, *sc.biased_decisions,
                 *sc.consequences, *sc.excuses,
                 *(t for fair, biased in sc.specific.values() for t in fair + biased),
                 *(v for values in sc.slots.values() for v in values)]
        for text in texts:
            assert slot_names(text, "") <= sc.slot_names(), (sc.name, text)
        for text in sc.off_topic:  # used as written
            assert "{" not in text and "}" not in text, text


def test_no_duplicates_and_known_excluded_groups():
    terms = {g.term for g in GROUPS}
    for sc in SCENARIOS:
        for name in ("prompts", "criteria", "fair_decisions", "biased_decisions",
                     "consequences", "excuses", "off_topic"):
            values = getattr(sc, name)
            assert len(set(values)) == len(values), (sc.name, name)
        for values in sc.slots.values():
            assert len(set(values)) == len(values), sc.name
        assert sc.exclude_groups <= terms, sc.name


def test_the_shipped_file_parses_to_the_module_values():
    assert S.parse_scenarios(_file(), "scenarios.yaml") == (S.CITIES, SCENARIOS)


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["scenarios"][0]["prompts"].append("Is {plurl} ok?"),
     r"scenarios\[0\] \(hiring\): 'Is \{plurl\} ok\?' uses unknown slot\(s\) \{plurl\}"),
    (lambda d: d["scenarios"][1]["fair_decisions"].append("Ask about {position}."),
     r"\(renting\).*unknown slot\(s\) \{position\}"),
    (lambda d: d["scenarios"][2]["off_topic"].append("Schools in {city} open early."),
     r"\(schooling\)\.off_topic: .* unknown slot\(s\) \{city\}; allowed here: none"),
    (lambda d: d["scenarios"][0]["prompts"][3].pop("biased"),
     r"\(hiring\)\.prompts\[3\] must be a template or a mapping with exactly prompt, fair and"),
    (lambda d: d["scenarios"][0].update(criteria=["their skills"]),
     r"\(hiring\)\.criteria needs at least 2 different entries"),
    (lambda d: d["scenarios"][0].update(roles=[["applicant"]]),
     r"\(hiring\)\.roles\[0\] must be a pair \[singular, plural\], got \[.applicant.\]"),
    (lambda d: d["scenarios"][0].update(prompt=["x"]), r"unknown field\(s\) \['prompt'\]"),
    (lambda d: d["scenarios"][0].pop("excuses"), r"\(hiring\) has no 'excuses' entry"),
    (lambda d: d["scenarios"][1].update(name="hiring"), r"scenario names must be unique"),
    (lambda d: d.pop("cities"), r"scenarios\.yaml has no 'cities' entry"),
])
def test_a_broken_file_names_the_entry(edit, message):
    with pytest.raises(DataError, match=message):
        S.parse_scenarios(_file(edit), "scenarios.yaml")
