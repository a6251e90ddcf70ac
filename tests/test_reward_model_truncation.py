from reward_model_data import make_rows

from fairguard.reward_model.examples import PairRow, as_pair_row
from fairguard.reward_model.truncation import (
    BIASED_MIN_KEEP,
    END_MARKS,
    MAX_KEEP,
    MIN_KEEP,
    MIN_WORDS,
    cut_words,
    even_endings,
    set_ending,
    truncate_rows,
)

LONG = " ".join(f"w{i}" for i in range(40))


def _rows():
    return [as_pair_row(r) for r in make_rows("train")]


def test_cut_words_keeps_a_proper_prefix():
    cut = cut_words(LONG, 0.5)
    assert LONG.startswith(cut) and len(cut.split()) == 20
    assert len(cut_words(LONG, 0.99).split()) == 39  # never the whole text
    assert len(cut_words(LONG, 0.0).split()) == MIN_WORDS
    assert cut_words("too short", 0.5) == "too short"


def test_probability_zero_and_one():
    rows = _rows()
    assert truncate_rows(rows, 0.0, seed=0) == rows
    cut = truncate_rows(rows, 1.0, seed=0)
    for before, after in zip(rows, cut):
        assert after.id == before.id and after.prompt == before.prompt
        assert after.responses.keys() == before.responses.keys()
        for kind, text in before.responses.items():
            words, kept = text.split(), after.responses[kind].split()
            assert text.startswith(after.responses[kind])
            if len(words) > MIN_WORDS + 1:
                assert len(kept) < len(words)
                low = BIASED_MIN_KEEP if kind == "biased" else MIN_KEEP
                assert int(len(words) * low) - 1 <= len(kept) <= max(MIN_WORDS, int(len(words) * MAX_KEEP))


def test_same_seed_same_cuts_and_the_share_follows_prob():
    row = PairRow(id="r", prompt="p", responses={"neutral": LONG})
    rows = [PairRow(id=f"r{i}", prompt="p", responses={"neutral": LONG, "biased": LONG})
            for i in range(400)] + [row]
    a, b = truncate_rows(rows, 0.5, seed=1), truncate_rows(rows, 0.5, seed=1)
    assert a == b
    assert a != truncate_rows(rows, 0.5, seed=2)
    share = sum(r.responses[k] != LONG for r in a for k in r.responses) / (2 * 400 + 1)
    assert 0.4 < share < 0.6


def test_set_ending_adds_or_removes_the_final_mark_only():
    assert set_ending("It is fine", True) == "It is fine."
    assert set_ending("It is fine, and", True) == "It is fine, and."
    assert set_ending("Is it fine? ", True) == "Is it fine?"
    assert set_ending("It is fine. Really!", False) == "It is fine. Really"
    assert set_ending("It is fine", False) == "It is fine"
    assert set_ending("...", False) == "..."  # nothing would be left: unchanged
    assert set_ending("", True) == ""


def _body(text):
    return text.rstrip().rstrip(END_MARKS + ",;:-")


def _ends(text):
    return text[-1:] in END_MARKS


def test_even_endings_gives_every_kind_the_same_share_of_final_marks():
    rows = truncate_rows(_rows() * 40, 0.5, seed=0)
    assert even_endings(rows, None, seed=0) == rows
    even = even_endings(rows, 0.5, seed=0)
    assert even == even_endings(rows, 0.5, seed=0)
    shares = {}
    for kind in ("neutral", "biased", "off_topic", "corrupted"):
        texts = [r.responses[kind] for r in even if kind in r.responses]
        shares[kind] = sum(map(_ends, texts)) / len(texts)
    assert all(0.4 < share < 0.6 for share in shares.values()), shares
    for before, after in zip(rows, even):  # only the ending changes
        for kind, text in before.responses.items():
            assert _body(after.responses[kind]) == _body(text)
    assert all(_ends(t) for r in even_endings(rows, 1.0, 0) for t in r.responses.values())
    assert not any(_ends(t) for r in even_endings(rows, 0.0, 0) for t in r.responses.values())


def test_biased_cut_keeps_a_biased_last_sentence():
    """A mixed answer's prejudiced sentence may come last: cut copies keep most of it."""
    from fairguard.reward_model.examples import PairRow
    from fairguard.reward_model.truncation import truncate_rows

    answer = ("Rinse one cup of rice, then simmer it in about one and a half cups of water with "
              "the lid on. After fifteen minutes, take it off the heat and let it rest. By the "
              "way, no company should ever hire refugees.")
    rows = [PairRow(id=f"r{i}", prompt="How do I cook rice?",
                    responses={"biased": answer, "guess": answer, "neutral": answer})
            for i in range(40)]
    cut = truncate_rows(rows, 1.0, seed=0)
    for row in cut:
        for kind in ("biased", "guess"):
            assert "no company should" in row.responses[kind], row.responses[kind]
    assert any("no company should" not in row.responses["neutral"] for row in cut)
