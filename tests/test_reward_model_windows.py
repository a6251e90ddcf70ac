import numpy as np
import pytest
from onnx_export_data import HEADS, shared_export
from windows_data import BIASED, NEUTRAL, PROMPTS, marker_export

from fairguard.reward_model.windows import (
    COMBINE,
    WindowCache,
    combine_rules,
    combine_windows,
    make_window_cache,
    score_windowed,
    split_sentences,
    split_windows,
)
from fairguard.testing import tiny_tokenizer

PROMPT = PROMPTS[0]
MARKER = BIASED[0]

def long_answer(sentences: int, marker_at: int | None = None) -> str:
    parts = [NEUTRAL[i % len(NEUTRAL)] for i in range(sentences)]
    if marker_at is not None:
        parts.insert(marker_at, MARKER)
    return " ".join(parts)


@pytest.fixture(scope="module")
def tok():
    return tiny_tokenizer("bert")


def pair_length(tok, prompt: str, response: str) -> int:
    return len(tok(prompt, response, truncation=False, verbose=False)["input_ids"])


# ----- sentences ---------------------------------------------------------------------------

def test_split_sentences_marks_lines_lists_and_abbreviations():
    text = ("Hello there. E.g. this is fine! Is it? Yes… no\n- item one\n* item two\n\n"
            "1. first step. Dr. Li said so. J. Smith agreed. There are 3. 我们同意。好的！"
            'He said "stop." Then he left...')
    assert split_sentences(text) == [
        "Hello there.", "E.g. this is fine!", "Is it?", "Yes…", "no", "- item one",
        "* item two", "1. first step.", "Dr. Li said so.", "J. Smith agreed.", "There are 3.",
        "我们同意。", "好的！", 'He said "stop."', "Then he left..."]
    assert split_sentences("") == [] and split_sentences("  \n ") == []
    assert split_sentences("no mark at all") == ["no mark at all"]
    assert split_sentences("3.5 percent is 0.035.") == ["3.5 percent is 0.035."]


# ----- windows -----------------------------------------------------------------------------

def test_a_pair_that_fits_is_one_window_unchanged(tok):
    prompts = [PROMPT, "who?", PROMPT]
    responses = [NEUTRAL[0], "", long_answer(3)]
    assert all(pair_length(tok, p, r) <= 48 for p, r in zip(prompts, responses))
    windows = split_windows(tok, prompts, responses, max_length=48)
    assert windows.prompts == prompts and windows.responses == responses
    assert windows.owner.tolist() == [0, 1, 2]


def test_long_answer_windows_fit_overlap_by_one_sentence_and_cover_everything(tok):
    answer = long_answer(12, marker_at=12)
    windows = split_windows(tok, [PROMPT, PROMPT], [NEUTRAL[1], answer], max_length=40)
    assert windows.counts().tolist()[0] == 1 and windows.counts()[1] > 3
    parts = [r for r, o in zip(windows.responses, windows.owner) if o == 1]
    for prompt, response in zip(windows.prompts, windows.responses):
        assert pair_length(tok, prompt, response) <= 40  # nothing is truncated
        assert prompt == PROMPT  # 10 tokens: under a third of the budget
    sentences = [split_sentences(part) for part in parts]
    for before, after in zip(sentences, sentences[1:]):
        assert before[-1] == after[0]  # one shared sentence
    seen = [s for i, part in enumerate(sentences) for s in (part if i == 0 else part[1:])]
    assert seen == split_sentences(answer)
    assert parts[-1].endswith(MARKER)
    weights = windows.tokens[windows.owner == 1]
    assert weights.tolist() == [len(tok(p, add_special_tokens=False)["input_ids"]) for p in parts]


def test_long_prompt_keeps_its_end(tok):
    prompt = "the village school has a good teacher. " * 6 + PROMPT  # 52 tokens
    short = split_windows(tok, [prompt], [NEUTRAL[0]], max_length=40)
    assert len(short) == 1 and short.responses == [NEUTRAL[0]]
    assert short.prompts[0].endswith(PROMPT) and pair_length(tok, short.prompts[0], NEUTRAL[0]) == 40
    longer = split_windows(tok, [prompt], [long_answer(8)], max_length=40)
    for p in longer.prompts:
        assert prompt.endswith(p) and len(tok(p, add_special_tokens=False)["input_ids"]) <= 37 // 3


def test_sentence_without_marks_is_cut_between_words(tok):
    words = ("the worker " * 60).strip()  # 120 tokens, no sentence mark
    windows = split_windows(tok, ["who?"], [words], max_length=32)
    assert len(windows) > 4
    assert all(pair_length(tok, p, r) <= 32 for p, r in zip(windows.prompts, windows.responses))
    assert " ".join(windows.responses).split().count("worker") > 60  # overlaps repeat words
    assert windows.responses[0].startswith("the worker") and windows.responses[-1].endswith("worker")


def test_slow_tokenizer_gives_the_same_windows(tok, tmp_path):
    from transformers import BertTokenizer

    vocab = sorted(tok.get_vocab(), key=tok.get_vocab().get)
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    slow = BertTokenizer(str(tmp_path / "vocab.txt"), do_lower_case=True)
    assert not slow.is_fast
    answers = [long_answer(9, marker_at=4), NEUTRAL[2]]
    fast = split_windows(tok, [PROMPT, PROMPT], answers, max_length=40)
    other = split_windows(slow, [PROMPT, PROMPT], answers, max_length=40)
    assert other.responses == fast.responses and other.prompts == fast.prompts


# ----- combining ---------------------------------------------------------------------------

def fake_pairs(prompts, responses):
    """A deterministic stand-in for a model, per window: fairness 0.1 with the marker (else 0.9),
    relevance 0.9 when it mentions skills (else 0.3), fluency 0.5 with the marker (else 0.7),
    and a fourth head counting words."""
    out = []
    for response in responses:
        out.append([0.1 if "lazy" in response else 0.9,
                    0.9 if "skills" in response else 0.3,
                    0.5 if "lazy" in response else 0.7,
                    float(len(response.split()))])
    return np.array(out)


def test_combine_rules_table():
    assert combine_rules(["fairness", "relevance", "fluency", "toxicity"]) == {
        "fairness": "min", "relevance": "max", "fluency": "mean", "toxicity": "mean"}
    assert set(COMBINE.values()) <= {"min", "max", "mean"}


def test_heads_combine_min_max_and_token_weighted_mean(tok):
    heads = ["fairness", "relevance", "fluency", "words"]
    answer = long_answer(10, marker_at=10)
    prompts, responses = [PROMPT, PROMPT, PROMPT], [answer, long_answer(10), NEUTRAL[2]]
    windows = split_windows(tok, prompts, responses, max_length=40)
    per_window = fake_pairs(windows.prompts, windows.responses)
    got = score_windowed(fake_pairs, tok, prompts, responses, heads, max_length=40)
    assert set(got) == set(heads) and all(v.shape == (3,) for v in got.values())
    np.testing.assert_allclose(got["fairness"], [0.1, 0.9, 0.9])  # the marker is in the last window
    np.testing.assert_allclose(got["relevance"], [0.9, 0.9, 0.3])
    mine = windows.owner == 0
    w = windows.tokens[mine]
    np.testing.assert_allclose(got["fluency"][0], (per_window[mine, 2] * w).sum() / w.sum())
    assert 0.5 < got["fluency"][0] < 0.7 and got["fluency"][1] == pytest.approx(0.7)
    np.testing.assert_allclose(got["words"][2], len(NEUTRAL[2].split()))  # unknown head: mean
    assert combine_windows(np.zeros((0, 4)), split_windows(tok, [], [], 40), heads)["words"].shape == (0,)


def test_all_windows_are_scored_in_one_call(tok):
    calls = []

    def counting(prompts, responses):
        calls.append(len(prompts))
        return fake_pairs(prompts, responses)[:, :3]

    score_windowed(counting, tok, [PROMPT] * 3, [long_answer(9), long_answer(14), "yes"],
                   HEADS, max_length=40)
    assert len(calls) == 1 and calls[0] > 3


# ----- the window cache --------------------------------------------------------------------

def _counting(calls):
    def score_pairs(prompts, responses):
        calls.append(list(zip(prompts, responses)))
        return fake_pairs(prompts, responses)
    return score_pairs


def test_a_window_cache_scores_only_the_windows_it_has_not_seen(tok):
    heads = ["fairness", "relevance", "fluency", "words"]
    calls, cache = [], WindowCache(64)
    answer = long_answer(16, marker_at=16)
    windows = split_windows(tok, [PROMPT], [answer], 40)
    n, distinct = len(windows), len(set(windows.responses))  # the answer repeats its sentences
    first = score_windowed(_counting(calls), tok, [PROMPT], [answer], heads, 40, cache)
    assert len(calls) == 1 and len(calls[0]) == distinct > 3
    assert (cache.hits, cache.misses) == (n - distinct, distinct)
    again = score_windowed(_counting(calls), tok, [PROMPT], [answer], heads, 40, cache)
    assert len(calls) == 1 and (cache.hits, cache.misses) == (2 * n - distinct, distinct)
    for head in heads:
        np.testing.assert_array_equal(first[head], again[head])
    for extra in range(5):  # the answer grows by a sentence: only its last window is new
        answer = f"{answer} applicant number {extra} has the skills."
        got = score_windowed(_counting(calls), tok, [PROMPT], [answer], heads, 40, cache)
        assert len(calls[-1]) == 1 and len(calls) == 2 + extra
        plain = score_windowed(fake_pairs, tok, [PROMPT], [answer], heads, 40)
        for head in heads:
            np.testing.assert_array_equal(got[head], plain[head])
    assert got["fairness"][0] == pytest.approx(0.1)  # the marker's window is still read


def test_a_window_cache_scores_each_distinct_window_once_and_forgets_the_oldest(tok):
    calls, cache = [], WindowCache(64)
    answers = [long_answer(12, marker_at=3), long_answer(12, marker_at=3), long_answer(9)]
    windows = split_windows(tok, [PROMPT] * 3, answers, 40)
    score_windowed(_counting(calls), tok, [PROMPT] * 3, answers, [*HEADS, "words"], 40, cache)
    distinct = set(zip(windows.prompts, windows.responses))
    assert len(calls) == 1 and len(calls[0]) == len(distinct) < len(windows)

    calls = []  # a pair read whole is scored every time, never kept
    for _ in range(2):
        score_windowed(_counting(calls), tok, [PROMPT, PROMPT], [NEUTRAL[0], answers[2]],
                       [*HEADS, "words"], 40, cache)
    assert calls[0][0] == calls[1][0] == (PROMPT, NEUTRAL[0]) and len(calls[1]) == 1
    assert (PROMPT, NEUTRAL[0]) not in cache._rows

    small, calls = WindowCache(2), []
    small.score(_counting(calls), ["p"] * 3, ["a", "b", "c"])
    assert len(small) == 2
    small.score(_counting(calls), ["p", "p"], ["c", "a"])  # c kept, a forgotten (oldest)
    assert calls[-1] == [("p", "a")] and (small.hits, small.misses) == (1, 4)
    small.clear()
    assert len(small) == 0 and (small.hits, small.misses) == (1, 4)  # the counters stay


def test_window_cache_sizes():
    from fairguard.errors import ConfigError

    assert make_window_cache(0) is None and make_window_cache(3).size == 3
    for bad in (-1, True, 2.0, "8"):
        with pytest.raises(ConfigError, match="window_cache must be an integer >= 0"):
            make_window_cache(bad)
    with pytest.raises(ConfigError, match="positive number of windows"):
        WindowCache(0)


# ----- real scorers ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return shared_export(tmp_path_factory)  # random tiny DeBERTa-v2 reward model, max_length 64


@pytest.fixture(scope="module")
def marker(tmp_path_factory):
    return marker_export(tmp_path_factory)  # tiny model fitted to flag the biased sentences


SHORT_PROMPTS = [PROMPT, "can the old tenant rent the flat?", "who is a good student?"]
SHORT_RESPONSES = [NEUTRAL[0], "no, old people are unreliable", ""]


def test_one_window_scores_exactly_as_the_first_max_length_tokens(exported):
    from fairguard.export.onnx_scorer import OnnxRewardScorer
    from fairguard.reward_model.inference import TorchRewardScorer

    windowed = TorchRewardScorer(exported[0], device="cpu", batch_size=2)
    plain = TorchRewardScorer(exported[0], device="cpu", batch_size=2, windows=False)
    onnx = OnnxRewardScorer(exported[1], quantized=False, threads=1)
    onnx_plain = OnnxRewardScorer(exported[1], quantized=False, threads=1, windows=False)
    got, ref = windowed.score(SHORT_PROMPTS, SHORT_RESPONSES), plain.score(SHORT_PROMPTS, SHORT_RESPONSES)
    got_onnx = onnx.score(SHORT_PROMPTS, SHORT_RESPONSES)
    ref_onnx = onnx_plain.score(SHORT_PROMPTS, SHORT_RESPONSES)
    for head in HEADS:
        np.testing.assert_array_equal(got[head], ref[head])
        np.testing.assert_array_equal(got_onnx[head], ref_onnx[head])
    assert windowed.combine == onnx.combine == combine_rules(HEADS)


@pytest.mark.parametrize("backend", ["torch", "onnx-int8"])
def test_biased_sentence_at_the_end_of_a_long_answer_is_read(marker, backend):
    from fairguard.export.onnx_scorer import OnnxRewardScorer
    from fairguard.reward_model.inference import TorchRewardScorer

    def make(windows):
        if backend == "torch":
            return TorchRewardScorer(marker[0], device="cpu", windows=windows)
        return OnnxRewardScorer(marker[1], threads=1, windows=windows)

    scorer, plain = make(True), make(False)
    clean, marked = long_answer(20), long_answer(20, marker_at=20)
    assert pair_length(scorer.tokenizer, PROMPT, clean) > 3 * scorer.max_length
    short = scorer.score([PROMPT, PROMPT], [NEUTRAL[0], MARKER])["fairness"]
    assert short[0] > 0.9 and short[1] < 0.1  # the fitted model flags the sentence itself
    before = plain.score([PROMPT, PROMPT], [clean, marked])["fairness"]
    assert before[0] > 0.9 and before[1] > 0.9  # first max_length tokens only: never read
    got = scorer.score([PROMPT, PROMPT], [clean, marked])["fairness"]
    assert got[0] > 0.9 and got[1] < 0.1


def test_heads_combine_the_windows_of_a_real_model(marker):
    from fairguard.reward_model.inference import TorchRewardScorer

    scorer = TorchRewardScorer(marker[0], device="cpu")
    marked = long_answer(20, marker_at=9)
    windows = split_windows(scorer.tokenizer, [PROMPT], [marked], scorer.max_length)
    per_window = scorer.score_pairs(windows.prompts, windows.responses)
    got = scorer.score([PROMPT], [marked])
    assert got["fairness"][0] == pytest.approx(per_window[:, 0].min())
    assert got["relevance"][0] == pytest.approx(per_window[:, 1].max())
    expected = (per_window[:, 2] * windows.tokens).sum() / windows.tokens.sum()
    assert got["fluency"][0] == pytest.approx(expected)
    assert per_window[:, 0].max() > 0.9  # only the windows that hold the sentence are unfair


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_reward_option_window_tokens_reads_smaller_windows(marker, backend):
    from fairguard import get_reward
    from fairguard.errors import ConfigError

    folder = marker[0] if backend == "torch" else marker[1]
    default = get_reward("reward-model", path=folder, backend=backend)
    small = get_reward("reward-model", path=folder, backend=backend, window_tokens=24)
    assert small.scorer.max_length == 24 < default.scorer.max_length
    prompts, answers = [PROMPT, PROMPT, PROMPT], [long_answer(12, marker_at=5), long_answer(12), NEUTRAL[0]]
    got = small.score(prompts, answers)
    windows = split_windows(small.scorer.tokenizer, prompts, answers, 24)
    assert windows.counts()[0] > split_windows(default.scorer.tokenizer, prompts, answers,
                                               default.scorer.max_length).counts()[0]
    expected = score_windowed(default.scorer.score_pairs, default.scorer.tokenizer, prompts,
                              answers, HEADS, 24)
    for head in HEADS:
        np.testing.assert_allclose(got[head], expected[head], atol=1e-6 if backend == "torch" else 2e-2)
    assert got["fairness"][0] < 0.1 < 0.9 < got["fairness"][1]
    for bad in (True, 8, "32", 24.0):
        with pytest.raises(ConfigError, match="window_tokens must be an integer"):
            get_reward("reward-model", path=folder, backend=backend, window_tokens=bad)
    with pytest.raises(ConfigError, match="trained to read"):
        get_reward("reward-model", path=folder, backend=backend,
                   window_tokens=default.scorer.max_length + 1)


@pytest.mark.parametrize("backend", ["torch", "onnx-int8"])
def test_scorers_refuse_windows_longer_than_the_model_was_trained_on(marker, backend):
    from fairguard.errors import ConfigError
    from fairguard.export.onnx_scorer import OnnxRewardScorer
    from fairguard.reward_model.inference import TorchRewardScorer

    def make(**options):
        if backend == "torch":
            return TorchRewardScorer(marker[0], device="cpu", **options)
        return OnnxRewardScorer(marker[1], threads=1, **options)

    trained = make().max_length
    assert make(max_length=trained).max_length == trained
    with pytest.raises(ConfigError, match=f"{trained + 1} tokens a window is more than the {trained} "
                                          "tokens .* was trained to read"):
        make(max_length=trained + 1)


def test_torch_and_onnx_scorers_agree_on_long_answers(marker):
    from fairguard.export.onnx_scorer import OnnxRewardScorer
    from fairguard.reward_model.inference import TorchRewardScorer

    prompts = [PROMPT] * 4 + SHORT_PROMPTS
    responses = ([long_answer(n, marker_at=m) for n, m in ((8, 0), (15, 7), (30, 30))]
                 + [("the worker " * 300).strip()] + SHORT_RESPONSES)
    ref = TorchRewardScorer(marker[0], device="cpu", batch_size=4).score(prompts, responses)
    fp32 = OnnxRewardScorer(marker[1], quantized=False, threads=1, batch_size=5).score(prompts, responses)
    int8 = OnnxRewardScorer(marker[1], threads=1).score(prompts, responses)
    for head in HEADS:
        np.testing.assert_allclose(fp32[head], ref[head], atol=1e-6)
        np.testing.assert_allclose(int8[head], ref[head], atol=2e-2)
    assert (ref["fairness"][:3] < 0.1).all()


@pytest.mark.parametrize("backend", ["torch", "onnx-int8"])
def test_one_scorer_serves_many_threads(marker, backend):
    from concurrent.futures import ThreadPoolExecutor

    from fairguard.export.onnx_scorer import OnnxRewardScorer
    from fairguard.reward_model.inference import TorchRewardScorer

    def make(window_cache):
        if backend == "torch":
            return TorchRewardScorer(marker[0], device="cpu", window_cache=window_cache)
        return OnnxRewardScorer(marker[1], threads=1, window_cache=window_cache)

    uncached, cached = make(0), make(64)
    batches = [([PROMPT, PROMPT], [long_answer(6 + k, marker_at=k), NEUTRAL[k % 5]])
               for k in range(16)]
    expected = [uncached.score(*batch)["fairness"] for batch in batches]
    for scorer in (uncached, cached):  # many threads on one scorer; on one window cache
        with ThreadPoolExecutor(8) as pool:
            got = list(pool.map(lambda batch, scorer=scorer: scorer.score(*batch)["fairness"], batches * 2))
        for a, b in zip(got, expected * 2):  # int8 quantises per batch: other batches, other rounding
            np.testing.assert_allclose(a, b, atol=1e-6 if backend == "torch" else
                                       1e-2 if scorer is uncached else 2e-2)
    assert cached.window_cache.hits > 0 and len(cached.window_cache) <= 64


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_a_growing_answer_costs_only_its_new_windows(marker, backend):
    from fairguard import get_reward
    from fairguard.errors import ConfigError

    folder = marker[0] if backend == "torch" else marker[1]
    reward = get_reward("reward-model", path=folder, backend=backend)
    plain = get_reward("reward-model", path=folder, backend=backend, window_cache=0)
    assert plain.scorer.window_cache is None
    parts = long_answer(24, marker_at=18).split(". ")
    windows = 0
    for k in range(1, len(parts) + 1):  # scored sentence by sentence, as a stream is checked
        text = ". ".join(parts[:k])
        got, ref = reward.score([PROMPT], [text]), plain.score([PROMPT], [text])
        windows += len(split_windows(reward.scorer.tokenizer, [PROMPT], [text], reward.scorer.max_length))
        for head in HEADS:
            np.testing.assert_allclose(got[head], ref[head], atol=1e-6 if backend == "torch" else 2e-2)
    assert got["fairness"][0] < 0.1
    cache = reward.scorer.window_cache
    assert cache.misses < windows / 2  # each step scored its last window, not all of them
    with pytest.raises(ConfigError, match="window_cache must be an integer >= 0"):
        get_reward("reward-model", path=folder, backend=backend, window_cache=-1)


def test_guard_reads_a_long_answer_up_to_max_chars(marker):
    from fairguard import Guard
    from fairguard.plugins.reward_model import RewardModelReward

    marked = long_answer(40, marker_at=40)
    reward = RewardModelReward(marker[1], backend="onnx", threads=1)
    guard = Guard([reward], strategy="score", thresholds="fairness=0.5", max_chars=len(marked))
    record = guard.check(PROMPT, marked)
    assert record.scores["fairness"] < 0.1 and record.decision == "flag"
    assert not any("max_chars" in note for note in record.notes)
    assert guard.check(PROMPT, long_answer(40)).decision == "pass"


@pytest.mark.slow
def test_minilm_tokenizer_windows_fit():
    from transformers import AutoTokenizer

    from fairguard.models import resolve_model

    tok = AutoTokenizer.from_pretrained(resolve_model("minilm-l6"))
    answer = ("Hiring should depend on skills, not on where someone was born. "
              "See https://example.org/" + "a" * 600 + " for details!\n- Check references.\n"
              + "Overqualificationnesses " * 80 + "... Done.")
    windows = split_windows(tok, [PROMPT], [answer], max_length=128)
    assert len(windows) > 3
    for p, r in zip(windows.prompts, windows.responses):
        assert len(tok(p, r, truncation=False, verbose=False)["input_ids"]) <= 128
    assert windows.responses[0].startswith("Hiring") and windows.responses[-1].endswith("Done.")
