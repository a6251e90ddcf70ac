import math

import pytest

from fairguard.metrics.genbit import gender_bias, gender_bias_reward, tokenize


def test_no_gendered_words_is_zero():
    result = gender_bias("They are a brilliant engineer.")
    assert result.score == 0.0 and result.female_words == 0 and result.male_words == 0


def test_one_male_pronoun_hand_computed():
    # content words: brilliant, engineer -> each c_m=1, c_f=0 -> |log(1/2)| = log 2
    result = gender_bias("He is a brilliant engineer.")
    assert result.score == pytest.approx(math.log(2))
    assert result.signed == pytest.approx(-math.log(2))
    assert gender_bias_reward("He is a brilliant engineer.") == pytest.approx(0.5)


def test_balanced_is_zero():
    assert gender_bias("He or she is a brilliant engineer.").score == pytest.approx(0.0)


def test_female_leans_positive_and_repetition_increases_score():
    one = gender_bias("She is a nurse.")
    many = gender_bias("She said her mother is a nurse and her sister is a nurse.")
    assert one.signed > 0
    assert many.score > one.score


def test_window_limits_cooccurrence():
    text = "he " + "the " * 30 + "engineer"
    # "engineer" is outside the window: no content word co-occurs, so the score falls back to
    # the pronoun lean |log((0 + 1) / (1 + 1))| = log 2.
    assert gender_bias(text, window=5).score == pytest.approx(math.log(2))
    near = gender_bias("he engineer engineer")  # engineer seen twice, c_m = 2 -> log 3
    assert near.score == pytest.approx(math.log(3))
    assert tokenize("Don't STOP") == ["don't", "stop"]
