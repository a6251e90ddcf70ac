import numpy as np
import pytest

from fairguard.export.batching import PairBatcher
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


@pytest.mark.parametrize("batch_size", [1, 2, 4, 32])
def test_batches_equal_tokenize_pairs_sorted_and_padded_per_batch(tokenizer, batch_size):
    batcher = PairBatcher(tokenizer, max_length=24)
    seen, widths, previous = [], [], 0
    for rows, arrays in batcher.batches(PROMPTS, RESPONSES, batch_size):
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
