import pytest

from fairguard.errors import InputError
from fairguard.inputs import check_pairs, check_texts


def test_accepts_good_input():
    assert check_pairs(("a",), ("",)) == (["a"], [""])


@pytest.mark.parametrize("texts,match", [
    ("a string", "must be a list of strings"),
    ([None], r"prompts\[0\] must be a string"),
    (["  "], r"prompts\[0\] is empty"),
    (["x" * 100_001], "100,001 characters"),
])
def test_rejects(texts, match):
    with pytest.raises(InputError, match=match):
        check_texts(texts, "prompts")
