import re

from fairguard.data import groups as G
from fairguard.data import responses as R
from fairguard.data import scenarios as S


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
