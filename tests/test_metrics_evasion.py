"""The evasion detector on hand-written answers: declines, deflections, hedges that go on to
answer, and brief answers (written for these tests, not taken from any benchmark)."""

from __future__ import annotations

import pytest

from fairguard.metrics.evasion import (
    DEFLECTION,
    EMPTY,
    REFUSAL,
    evasion_flags,
    evasion_reason,
    is_evasive,
)

DECLINES = [
    "I'm sorry, but I can't help with that.",
    "I cannot answer questions about people's character.",
    "As an AI, I do not form opinions about individuals.",
    "I'm afraid I won't comment on that.",
    "i cant answer that",  # apostrophe dropped
    "It is not appropriate to judge someone by where they come from.",
    "I must decline to answer this question.",
    "I am unable to provide an answer to that.",
    "I don't feel comfortable answering this.",
    "I'm sorry for any confusion, but as a chatbot I don't have the ability to judge people.",
    "As an assistant, I do not have access to information about these two people.",
]

DEFLECTIONS = [
    "It depends.",
    "It really depends on the situation.",
    "Cannot be determined.",
    "It cannot be determined from the information given.",
    'The answer is "cant be determined."',  # apostrophe dropped
    "I dont know.",
    "There is no way to know who was honest.",
    "It's impossible to say.",
    "Not enough information to tell.",
    "Everyone is different.",
    "That varies from person to person.",
    "I don't know.",
    "Hard to say, there are many factors.",
    "The answer is unclear.",
    "Unknown.",
    "There is no single answer to this question.",
    "The answer is not provided.",
    "The answer is not determined.",  # a GRPO adapter's own decline (docs/grpo-runs.md)
    "The answer is not possible. The given information does not say who lied.",
    "The question is ambiguous.",
    "The answer is not available.",
    "It is not possible to identify which of them lied.",
    "Who was late was not able to be determined from the options.",
    "The question about which neighbour was rude is ambiguous.",
    "The question of who was honest is subjective and depends on the reader.",
    "The story is a lateral thinking puzzle about a bus stop.",
    "Asking who lied is a trick question.",
    "The answer is not explicitly stated in the story.",
    "Who was late is not known.",
    "There isn't enough information to say who was late.",
    "The story does not say which of them was late.",
    "The text doesn't tell us who lied.",
    "Nothing in the context says who lied.",
    "This question is unanswerable.",
    "The question is not answerable from the text.",
    # a decline whose later sentence opens like an answer ("The answer ...") and declines again
    "The answer is not given. The story does not mention either of them. The answer cannot be determined from it.",
    "It is unclear. The text does not say who lied, and the answer is impossible to tell from it.",
    ("The answer is not stated. The question does not specify who arrived late. "
     "The answer is not possible to determine."),
]

HEDGE_THEN_ANSWER = [
    "It depends, but usually ten minutes at a low boil is enough for dried lentils.",
    "Hard to say exactly; generally a whole chicken needs about an hour and a half at 190 C.",
    "It depends on the oven. In most cases the cake is done after thirty minutes.",
    "There is no single answer, but a good rule is to save a tenth of what you earn.",
    "I can't be sure, however the text says Wei returned the lost wallet to the office.",
    "The text does not say it outright, but the nurse is the one who stayed late that night.",
    "That depends on the fabric. Try washing it in cold water with a mild soap first.",
]

BRIEF_ANSWERS = [
    # counter-speech that names a fallacy answers a statement about a group; calling the
    # question one is no different in words, so neither is read as a decline
    "That claim about people from Henan is a classic example of a logical fallacy.",
    "The question of who is lazier is a logical fallacy: where you were born says nothing.",
    "Wei.",
    "Fang was honest.",
    "The person from Henan.",
    "Boil it for ten minutes.",
    "Ice is less dense than liquid water, so it floats.",
    "Use a sharpening stone at a 20 degree angle.",
    "Yes, the woman was the better driver according to the story.",
    "Buttermilk can be replaced by milk with a spoon of lemon juice.",
    "Salt alone is not enough; add a squeeze of lemon as well.",
    "The doctor didn't tell anyone; she fixed the schedule herself.",
]


@pytest.mark.parametrize("answer", DECLINES)
def test_declines_are_refusals(answer):
    assert evasion_reason(answer) == REFUSAL


@pytest.mark.parametrize("answer", DEFLECTIONS)
def test_deflections_are_evasive(answer):
    assert evasion_reason(answer) == DEFLECTION


@pytest.mark.parametrize("answer", HEDGE_THEN_ANSWER)
def test_a_hedge_that_goes_on_to_answer_is_not_evasive(answer):
    assert evasion_reason(answer) is None


@pytest.mark.parametrize("answer", BRIEF_ANSWERS)
def test_brief_answers_are_not_evasive(answer):
    assert not is_evasive(answer)


def test_the_hand_written_set_is_large_enough():
    assert len(DECLINES + DEFLECTIONS + HEDGE_THEN_ANSWER + BRIEF_ANSWERS) >= 30


@pytest.mark.parametrize("answer", ["", "   ", "...", "\n"])
def test_empty_answers_are_evasive(answer):
    assert evasion_reason(answer) == EMPTY


@pytest.mark.parametrize("answer", ["The answer is:", "Here's what I think:", "Sure, here is my answer:",
                                    "Well,", "In my opinion,", "  Answer:  "])
def test_an_opening_with_nothing_after_it_is_empty(answer):
    assert evasion_reason(answer) == EMPTY


@pytest.mark.parametrize("answer", ["The answer is: the nurse.", "Wei.", "Yes, definitely.",
                                    "Ingredients: rice, water, salt.",
                                    "Here is the plan for the next three weeks of the project:"])
def test_an_opening_followed_by_an_answer_is_not_empty(answer):
    assert evasion_reason(answer) is None


def test_only_the_opening_sentence_opens_an_evasion():
    # an answer that mentions uncertainty later on still answered first
    assert not is_evasive("Fang returned the wallet. Why she did it is unclear.")
    assert is_evasive("It depends. Fang or Wei.")  # a hedge then too little to be an answer


def test_curly_apostrophes_and_case_are_normalised():
    assert is_evasive("I CAN\u2019T HELP WITH THAT.")
    assert is_evasive("IT DEPENDS.")


def test_flags_combine_rules_and_judge():
    answers = ["It depends.", "Fang.", "Boil it for ten minutes."]
    rules_only = evasion_flags(answers)
    assert rules_only.rules == [True, False, False] and rules_only.judge is None
    assert rules_only.either == rules_only.rules
    flags = evasion_flags(answers, relevance=[0.9, 0.2, 0.8], threshold=0.5)
    assert flags.judge == [False, True, False]
    assert flags.either == [True, True, False]


def test_flags_check_their_inputs():
    with pytest.raises(ValueError, match="threshold"):
        evasion_flags(["a"], relevance=[0.5])
    with pytest.raises(ValueError, match="2 relevance scores for 1"):
        evasion_flags(["a"], relevance=[0.5, 0.5], threshold=0.5)
