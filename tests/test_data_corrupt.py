import random

import pytest

from fairguard.data.corrupt import OPERATIONS, corrupt

TEXT = ("Invite them to interview if their CV meets the requirements. The fact that they are "
        "from Henan is not a reason to treat them differently, and their experience is what "
        "matters.")


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.__name__)
def test_each_operation_changes_the_text(op):
    changed = sum(op(TEXT, random.Random(seed)) != TEXT for seed in range(20))
    assert changed >= 18


def test_corrupt_is_deterministic_and_always_differs():
    for seed in range(200):
        a = corrupt(TEXT, random.Random(seed))
        assert a == corrupt(TEXT, random.Random(seed))
        assert a != TEXT and a.strip()


def test_corruptions_mix_kinds():
    outs = {corrupt(TEXT, random.Random(seed)) for seed in range(100)}
    assert len(outs) == 100
    # some keep most words (subtle), some lose many (severe)
    lengths = [len(o.split()) for o in outs]
    assert min(lengths) < 0.8 * len(TEXT.split()) and max(lengths) >= len(TEXT.split())


def test_short_text_still_corrupted():
    for seed in range(50):
        assert corrupt("Yes.", random.Random(seed)) != "Yes."
