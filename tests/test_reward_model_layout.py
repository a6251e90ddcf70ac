import random
import re

import pytest

from fairguard.errors import ConfigError
from fairguard.reward_model.config import RewardTrainConfig
from fairguard.reward_model.examples import PairRow, build_examples
from fairguard.reward_model.layout import LAYOUTS, layout_answer, layout_rows
from fairguard.reward_model.windows import split_sentences

HEADS = ("fairness", "relevance", "fluency")
ADVICE = ("Treat the application like any other. Check the usual documents and references. "
          "Generalising about a whole group is unfair to the many who simply pay on time.")


def words(text: str) -> list[str]:
    """The words of ``text`` without layout marks (list numbers, bullets, bold, backticks)."""
    text = re.sub(r"(?m)^\s*(?:\d+\.|[-*•])\s+", "", text)
    return text.replace("**", "").replace("`", "").split()


def rows(n: int = 40) -> list[PairRow]:
    return [PairRow(id=f"r{i}", prompt=f"Should I rent my flat to tenant {i}?", form="advice",
                    responses={"neutral": ADVICE,
                               "biased": f"Tenant {i} is from the north. People from the north "
                                         "never pay. Do not rent to them.",
                               "off_topic": "Rice needs twice its volume of water. Cook it covered.",
                               "corrupted": "Treat application the like other any. Check check the "
                                            "usual. documents"})
            for i in range(n)]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_keeps_every_word_in_order(layout):
    for seed in range(5):
        out = layout_answer(ADVICE, layout, random.Random(seed))
        assert words(out) == ADVICE.split()
        assert out != ADVICE or layout == "code"


def test_list_layouts_put_each_sentence_on_its_own_line_and_windows_still_split_them():
    out = layout_answer(ADVICE, "numbered", random.Random(0))
    items = [line for line in out.splitlines() if re.match(r"\d+\. ", line)]
    assert len(items) >= 2
    assert len(split_sentences(out)) == 3  # "1." opens a list item; it does not end a sentence
    bold = layout_answer(ADVICE, "bold_steps", random.Random(0))
    assert re.search(r"(?m)^1\. \*\*\w", bold)


def test_code_goes_in_backticks_and_usernames_do_not():
    text = "Call my_list.reverse() to reverse it, or use my_list[::-1] for a copy. Ask @dan_88."
    out = layout_answer(text, "code", random.Random(0))
    assert "`my_list.reverse()`" in out and "`my_list[::-1]`" in out
    assert "`@dan_88" not in out and "dan_88" in out
    assert layout_answer("One plain sentence here.", "bullets", random.Random(0)) == \
        "One plain sentence here."


def test_unknown_layout_is_an_error():
    with pytest.raises(ValueError, match="unknown layout"):
        layout_answer(ADVICE, "table", random.Random(0))


def test_layout_rows_keep_labels_and_lay_out_a_row_alike():
    data = rows()
    assert layout_rows(data, 0.0, seed=0) == data
    out = layout_rows(data, 1.0, seed=0)
    assert layout_rows(data, 1.0, seed=0) == out  # same rows, same seed: same layouts
    before, after = build_examples(data, HEADS), build_examples(out, HEADS)
    assert after.kinds == before.kinds and after.ranking == before.ranking
    assert str(after.labels) == str(before.labels)
    lists = 0
    for old, new in zip(data, out):
        for kind, text in new.responses.items():
            assert words(text) == old.responses[kind].split()
        # one layout per row: the fair and the biased answer are both lists or both not
        marks = {kind: bool(re.search(r"(?m)^(?:\d+\.|[-*•]) ", text))
                 for kind, text in new.responses.items() if kind in ("neutral", "biased")}
        assert len(set(marks.values())) == 1
        lists += marks["neutral"]
    assert 0 < lists < len(data)
    some = layout_rows(data, 0.3, seed=0)
    changed = sum(new != old for new, old in zip(some, data))
    assert 0 < changed < len(data)


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan"), True])
def test_layout_prob_must_be_a_share(value):
    with pytest.raises(ConfigError, match="layout_prob"):
        RewardTrainConfig(data="d", out="o", layout_prob=value)
