import numpy as np
import pytest

from fairguard.export.batching import PairBatcher, length_batches
from fairguard.reward_model import tokenize_pairs

PROMPTS = ["should we hire the rural worker?", "who?", "can the old tenant rent the flat?",
           "is the migrant driver reliable?", "the bank " * 40, "ok?"]
RESPONSES = ["judge the worker on skills and experience like anyone", "no", "",
             "the city has many schools", "yes", "the worker " * 50]


def _slow_tokenizer(fast, folder):
    from transformers import BertTokenizer

    vocab = sorted(fast.get_vocab().items(), key=lambda kv: kv[1])
    (folder / "vocab.txt").write_text("\n".join(tok for tok, _ in vocab) + "\n")
    return BertTokenizer(str(folder / "vocab.txt"), do_lower_case=True)


@pytest.fixture(params=["fast", "slow"])
def tokenizer(request, tmp_path):
    from fairguard.testing import tiny_tokenizer

    fast = tiny_tokenizer("bert")
    return fast if request.param == "fast" else _slow_tokenizer(fast, tmp_path)


@pytest.mark.parametrize("batch_size,max_tokens", [(1, None), (2, None), (4, None), (32, None),
                                                  (32, 40), (32, 1)])
def test_batches_equal_tokenize_pairs_sorted_and_padded_per_batch(tokenizer, batch_size, max_tokens):
    batcher = PairBatcher(tokenizer, max_length=24)
    seen, widths, previous = [], [], 0
    for rows, arrays in batcher.batches(PROMPTS, RESPONSES, batch_size, max_tokens):
        assert len(rows) <= batch_size
        if max_tokens is not None:
            assert arrays["input_ids"].size <= max_tokens or len(rows) == 1
        ref = tokenize_pairs(tokenizer, [PROMPTS[i] for i in rows], [RESPONSES[i] for i in rows],
                             24, return_tensors="np")
        for key in ("input_ids", "token_type_ids", "attention_mask"):
            assert arrays[key].dtype == np.int64 and arrays[key].flags["C_CONTIGUOUS"]
            np.testing.assert_array_equal(arrays[key], ref[key])
        lengths = arrays["attention_mask"].sum(axis=1)
        assert lengths.min() >= previous and lengths.max() == arrays["input_ids"].shape[1]
        previous = lengths.max()  # shortest pairs first: each batch only as wide as it must be
        seen.extend(rows.tolist())
        widths.append(arrays["input_ids"].shape[1])
    assert sorted(seen) == list(range(len(PROMPTS)))
    assert max(widths) == 24  # the long pairs are truncated exactly as tokenize_pairs does
    if batch_size == 1:
        assert min(widths) < 24  # no padding to the longest pair of the call


def test_length_batches_fill_up_to_the_row_and_token_caps():
    lengths = np.array([3, 4, 5, 5, 9, 30])
    assert length_batches(lengths, 4) == [(0, 4), (4, 6)]
    # 3 rows x 5 = 15 fits 16; a 4th row would pad to 4 x 5 = 20
    assert length_batches(lengths, 8, 16) == [(0, 3), (3, 4), (4, 5), (5, 6)]
    assert length_batches(lengths, 2, 100) == [(0, 2), (2, 4), (4, 6)]
    # a pair longer than the budget is a batch of its own; every pair is in exactly one batch
    assert length_batches(lengths, 8, 10) == [(0, 2), (2, 4), (4, 5), (5, 6)]
    assert length_batches(np.array([], dtype=np.int64), 8, 10) == []
    # cut by tokens at 12 pairs: 8 (a multiple of ALIGN); the last batch takes what is left
    assert length_batches(np.full(20, 5), 64, 60) == [(0, 8), (8, 20)]
    assert length_batches(np.full(20, 5), 12, 60) == [(0, 12), (12, 20)]  # cut by the row cap


def test_no_pairs_no_batches(tokenizer):
    assert list(PairBatcher(tokenizer, 24).batches([], [], 8)) == []


def test_shared_tokenizer_settings_untouched():
    from fairguard.testing import tiny_tokenizer

    tok = tiny_tokenizer("bert")
    before = tok.backend_tokenizer.truncation, tok.backend_tokenizer.padding
    list(PairBatcher(tok, 16).batches(PROMPTS, RESPONSES, 2))
    assert (tok.backend_tokenizer.truncation, tok.backend_tokenizer.padding) == before


def test_left_padding_tokenizer_is_refused():
    from fairguard.errors import ArtifactError
    from fairguard.testing import tiny_tokenizer

    with pytest.raises(ArtifactError, match="pads on the left"):
        PairBatcher(tiny_tokenizer("causal"), 16)


def test_one_pair_is_its_own_unpadded_batch(tokenizer):
    batcher = PairBatcher(tokenizer, max_length=24)
    for prompt, response in zip(PROMPTS, RESPONSES):
        [(rows, arrays)] = list(batcher.batches([prompt], [response], 8))
        ref = tokenize_pairs(tokenizer, [prompt], [response], 24, return_tensors="np")
        assert rows.tolist() == [0]
        for key in ("input_ids", "token_type_ids", "attention_mask"):
            assert arrays[key].dtype == np.int64 and arrays[key].flags["C_CONTIGUOUS"]
            np.testing.assert_array_equal(arrays[key], ref[key])


def test_all_shorter_than_says_whether_any_pair_was_cut(tokenizer):
    batcher = PairBatcher(tokenizer, max_length=24)
    encoded = batcher.encode(PROMPTS, RESPONSES)
    lengths = encoded.lengths()
    assert lengths.max() == 24  # PROMPTS[4] and RESPONSES[5] are cut
    assert not encoded.all_shorter_than(24)
    short = batcher.encode(PROMPTS[:4], RESPONSES[:4])
    assert short.all_shorter_than(24) == bool(short.lengths().max() < 24)
    assert short.all_shorter_than(int(short.lengths().max()) + 1)
