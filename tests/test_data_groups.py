import copy
import re

import pytest

from fairguard.data import groups as G
from fairguard.data import responses as R
from fairguard.data import scenarios as S
from fairguard.data.package_yaml import read_package_yaml
from fairguard.errors import DataError


def test_every_category_has_groups():
    by_cat = G.groups_by_category()
    assert set(by_cat) == set(G.CATEGORIES)
    assert all(len(members) >= 5 for members in by_cat.values())
    assert len({g.term for g in G.GROUPS}) == len(G.GROUPS)


def test_required_groups_present():
    terms = {g.term for g in G.GROUPS}
    for term in ("Henan", "rural hukou", "countryside", "Uyghur", "Tibetan", "Hui", "Zhuang",
                 "Mongolian", "Miao", "Yi", "Manchu", "Kazakh", "Dai", "delivery rider",
                 "migrant worker", "sanitation worker", "domestic helper", "construction worker",
                 "security guard", "street vendor", "factory worker", "women",
                 "vocational school", "no degree", "non-985 university", "over 35"):
        assert term in terms, term


def test_every_form_carries_its_marker():
    for g in G.GROUPS:
        for form in g.forms():
            assert g.regex().search(form), (g.term, form)


def test_markers_are_unique_to_their_group():
    for g in G.GROUPS:
        for h in G.GROUPS:
            if g is not h:
                for form in h.forms():
                    assert not g.regex().search(form), (g.term, h.term, form)


def _fixed_texts():
    texts = list(R.OPENERS + R.LEADINS + R.CLOSERS + R.FAIR_PERSON + R.FAIR_GROUP
                 + R.CRITERIA_LINES + R.CAUTION_FAIR + R.STEREO_PERSON + R.STEREO_GROUP
                 + R.STEREO_SOFT + R.HEDGES + R.BIASED_CLOSERS + R.GENERAL_OFF_TOPIC)
    for lines in R.FAIR_CATEGORY.values():
        texts += lines
    for sc in S.SCENARIOS:
        texts += list(sc.prompts + sc.criteria + sc.fair_decisions + sc.biased_decisions
                      + sc.consequences + sc.excuses + sc.off_topic)
        texts += [r for pair in sc.roles for r in pair]
        for values in sc.slots.values():
            texts += list(values)
    for traits in G.CATEGORY_TRAITS.values():
        texts += traits
    return texts


def test_no_fixed_text_mentions_a_group():
    # otherwise a held-out group could leak into train through shared wording
    for text in _fixed_texts():
        for g in G.GROUPS:
            assert not g.regex().search(text), (g.term, text)


def test_traits_fit_every_group():
    for g in G.GROUPS:
        assert len(G.traits_of(g)) >= 2, g.term


def test_names_are_single_distinct_words():
    names = G.FEMALE_NAMES + G.MALE_NAMES
    assert len(set(names)) == len(names)
    assert not set(G.FEMALE_NAMES) & set(G.MALE_NAMES)
    assert all(re.fullmatch(r"[A-Z][a-z]+", n) for n in names)
    assert len(G.FEMALE_NAMES) >= 20 and len(G.MALE_NAMES) >= 20


# ---------------------------------------------------------------- the groups.yaml loader
def _file(edit=lambda data: None):
    """The shipped groups.yaml, parsed, after ``edit``."""
    data = copy.deepcopy(read_package_yaml(G.GROUPS_FILE))
    edit(data)
    return data


def test_lexicon_counts_and_order():
    # docs/data.md lists these counts; a lost or doubled YAML entry changes them
    assert {c: len(m) for c, m in G.groups_by_category().items()} == {
        "region": 21, "ethnicity": 13, "occupation": 14, "gender": 6, "age": 6, "education": 8}
    assert [g.term for g in G.GROUPS[:3]] == ["Henan", "Anhui", "Gansu"]
    assert G.GROUPS[-1].term == "third-tier university"
    assert {c: len(t) for c, t in G.CATEGORY_TRAITS.items()} == {
        "region": 8, "ethnicity": 8, "occupation": 8, "gender": 0, "age": 0, "education": 6}
    assert len(G.FEMALE_NAMES) == len(G.MALE_NAMES) == 30


def test_lexicon_is_read_once():
    assert G.lexicon() is G.lexicon()
    assert G.GROUPS is G.lexicon().groups


def test_entries_keep_their_optional_fields():
    uyghur, dongbei = G.group_by_term("Uyghur"), G.group_by_term("Dongbei")
    assert uyghur.pre == "Uyghur" and uyghur.noun == "a Uyghur" and uyghur.traits == ()
    assert dongbei.pre is None and len(dongbei.traits) == 2
    assert G.group_by_term("ride-hailing driver").regex().search("two ride-hailing drivers")


def test_no_duplicate_wordings():
    for g in G.GROUPS:
        assert len(set(g.forms())) == len(g.forms()), g.term
        assert len(set(G.traits_of(g))) == len(G.traits_of(g)), g.term
    for cat, traits in G.CATEGORY_TRAITS.items():
        assert len(set(traits)) == len(traits), cat


def test_the_shipped_file_parses_to_the_module_values():
    lex = G.parse_lexicon(_file(), "groups.yaml")
    assert lex == G.lexicon()


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["categories"]["region"]["groups"][0].pop("marker"),
     r"categories\.region\.groups\[0\] has no 'marker' entry"),
    (lambda d: d["categories"]["age"]["groups"][1].update(marker="(over"),
     r"categories\.age\.groups\[1\]: marker '\(over' is not a regex"),
    (lambda d: d["categories"]["age"]["groups"][1].update(plural=["x"]),
     r"categories\.age\.groups\[1\]: unknown field\(s\) \['plural'\]"),
    (lambda d: d["categories"]["gender"]["groups"][0].update(plurals="women"),
     r"categories\.gender\.groups\[0\]\.plurals must be a non-empty list"),
    (lambda d: d["categories"].pop("age"), r"categories must be region, ethnicity, occupation"),
    (lambda d: d["categories"]["education"].update(groups=[]),
     r"categories\.education\.groups must be a non-empty list"),
    (lambda d: d["names"].pop("male"), r"has no 'male' entry"),
])
def test_a_broken_file_names_the_entry(edit, message):
    with pytest.raises(DataError, match=message):
        G.parse_lexicon(_file(edit), "groups.yaml")
