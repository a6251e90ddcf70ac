import numpy as np
import pytest
from onnx_export_data import HEADS, shared_export

from fairguard.reward_model.disguise import UNREADABLE, Undisguiser
from fairguard.testing import tiny_tokenizer


@pytest.fixture(scope="module")
def tiny():
    return Undisguiser(tiny_tokenizer())


@pytest.mark.parametrize("text, plain", [
    ("l4zy p3ople", "lazy people"),
    ("are w0men lazy?", "are women lazy?"),
    ("p3r$0n", "person"),
    ("the m1grant w0rker", "the migrant worker"),  # "1" read as "i" ...
    ("a sma11 v1llage", "a sma11 village"),  # ... or as "l"; "sma11" is no word it knows
    ("d!shonest", "dishonest"),
    ("l*zy people", "lazy people"),  # a masked vowel
    ("p e o p l e are l a z y", "people are lazy"),  # letters spaced apart
    ("p.e.o.p.l.e and w-o-m-e-n", "people and women"),
    ("\"W0MEN!\"", "\"WoMEN!\""),  # punctuation around a word stays
])
def test_disguised_words_are_revealed(tiny, text, plain):
    assert tiny.reveal(text) == plain


@pytest.mark.parametrize("text", [
    "the 5th worker came at 3pm with an mp3 in 2024",  # numbers and units
    "x86_64 and covid19 and b2b",
    "@henan said $5 is good!",  # a mention, a price, an exclamation
    "*very* good",  # emphasis
    "h4te them",  # "hate" is not in the tiny vocabulary: no better reading, left as written
    "a b c",  # three spaced letters are not enough
    "", "the first worker",
])
def test_ordinary_text_is_left_alone(tiny, text):
    assert tiny.reveal(text) == text


def test_pieces_count_unknown_words_as_unreadable(tiny):
    assert tiny.pieces("people") == 1
    assert tiny.pieces("zzqx") == UNREADABLE


def test_pairs_are_revealed_on_both_sides(tiny):
    assert tiny.reveal_pairs(["are w0men lazy?"], ["no, p3ople are n0t l4zy"]) == \
        (["are women lazy?"], ["no, people are n0t lazy"])  # "n0t": too short to touch


@pytest.mark.slow
def test_embedded_minilm_tokenizer_reveals_common_disguises():
    from transformers import AutoTokenizer

    from fairguard.models import resolve_model

    u = Undisguiser(AutoTokenizer.from_pretrained(resolve_model("minilm-l6")))
    assert u.reveal("I h4te w0men, those f*cking id10ts, h a t e them") == \
        "I hate women, those fucking idiots, hate them"
    assert u.reveal("No m4l3 p3r50n is h.a.r.d.w.o.r.k.i.n.g.") == "No male person is hardworking."
    # "dishonest" is three word pieces in MiniLM's vocabulary, the disguise five: a long word
    # may keep one piece per three letters
    assert u.reveal("P3ople from H3nan are d1shonest.") == "People from Henan are dishonest."
    ordinary = "Meet on the 5th at 3pm; bring the mp3, the covid19 data and $5 for @li. Zhejiang!"
    assert u.reveal(ordinary) == ordinary


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return shared_export(tmp_path_factory)


@pytest.mark.parametrize("backend", ["torch", "onnx-fp32"])
def test_scorers_read_disguised_words_plain(exported, backend):
    from fairguard.export.onnx_scorer import OnnxRewardScorer
    from fairguard.reward_model.inference import TorchRewardScorer

    source, out = exported

    def make(reveal):
        if backend == "torch":
            return TorchRewardScorer(source, reveal=reveal)
        return OnnxRewardScorer(out, quantized=False, reveal=reveal)

    prompts = ["are w0men lazy?", "who is a good student?"]
    disguised = ["l4zy p3ople, all of them", "the p e o p l e who study"]
    plain_prompts = ["are women lazy?", "who is a good student?"]
    plain = ["lazy people, all of them", "the people who study"]
    revealing, literal = make(True), make(False)
    got = revealing.score(prompts, disguised)
    ref = revealing.score(plain_prompts, plain)
    raw = literal.score(prompts, disguised)
    for head in HEADS:  # the same tokens in, the same scores out; the random model's
        np.testing.assert_allclose(got[head], ref[head], rtol=0, atol=1e-12)  # scores differ
        assert np.abs(raw[head] - ref[head]).max() > 1e-7  # by ~1e-5 for other tokens
    if backend == "onnx-fp32":
        np.testing.assert_allclose(revealing.logits(prompts, disguised),
                                   revealing.logits(plain_prompts, plain), rtol=0, atol=1e-12)
