import fairguard
from fairguard.plugins.neutralize import neutralize


def test_pronouns_and_agreement():
    assert neutralize("He is a doctor and his patients trust him.") == \
        "They are a doctor and their patients trust them."
    assert neutralize("She was late; she has a car.") == "They were late; they have a car."


def test_her_possessive_vs_object():
    assert neutralize("I saw her car and thanked her.") == "I saw their car and thanked them."


def test_role_nouns_and_case():
    assert neutralize("The Chairman met a policewoman.") == "The Chairperson met a police officer."


def test_filter_by_name_rewrites():
    flt = fairguard.get_filter("neutralize")
    assert flt.logits_processor(None) is None
    assert flt.rewrite(["q"], ["He is kind."]) == ["They are kind."]
    assert flt.rewrite(["q"], ["No gendered words here."]) == ["No gendered words here."]
