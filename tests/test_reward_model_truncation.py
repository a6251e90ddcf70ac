from fairguard.reward_model.examples import PairRow, as_pair_row
from fairguard.reward_model.truncation import (
    BIASED_MIN_KEEP, MAX_KEEP, MIN_KEEP, MIN_WORDS, cut_words, truncate_rows,
)
from reward_model_data import make_rows

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
