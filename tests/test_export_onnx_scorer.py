import json
import threading

import numpy as np
import pytest
from onnx_export_data import HEADS, copy_export, shared_export

from fairguard.errors import ArtifactError, ConfigError, InputError
from fairguard.export.onnx_scorer import OnnxRewardScorer, has_onnx

PROMPTS = ["should we hire the rural worker?", "can the old tenant rent the flat?",
           "who is a good student?", "is the migrant driver reliable?",
           "should the bank give the loan to the han farmer?"]
RESPONSES = ["judge the worker on skills and experience", "no, old people are unreliable",
             "", "the city has many schools", "yes yes yes the the the"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return shared_export(tmp_path_factory)


@pytest.fixture(scope="module")
def scorer(exported):
    return OnnxRewardScorer(exported[1], threads=1, batch_size=2)


def test_heads_backend_and_scores(scorer):
    assert scorer.heads == tuple(HEADS)
    assert scorer.backend == "onnx-int8" and scorer.quantized  # int8 present -> default
    out = scorer.score(PROMPTS, RESPONSES)
    assert list(out) == HEADS
    for values in out.values():
        assert values.dtype == np.float64 and values.shape == (5,)
        assert np.all((values > 0) & (values < 1))
    assert all(v.shape == (0,) for v in scorer.score([], []).values())


def test_fp32_scores_match_torch_scorer(exported):
    from fairguard.reward_model.inference import TorchRewardScorer

    source, out = exported
    onnx = OnnxRewardScorer(out, quantized=False)
    assert onnx.backend == "onnx-fp32"
    ref = TorchRewardScorer(source).score(PROMPTS, RESPONSES)
    got = onnx.score(PROMPTS, RESPONSES)
    int8 = OnnxRewardScorer(out).score(PROMPTS, RESPONSES)
    for head in HEADS:
        np.testing.assert_allclose(got[head], ref[head], atol=1e-6)
        np.testing.assert_allclose(int8[head], ref[head], atol=1e-2)


def test_tokenisation_identical_to_torch_path(exported, scorer):
    from fairguard.reward_model import tokenize_pairs
    from fairguard.reward_model.model import load_reward_model

    source, _ = exported
    torch_tok = load_reward_model(source).tokenizer
    long = "the worker " * 200  # longer than max_length: truncation must match too
    prompts, responses = PROMPTS + [long], RESPONSES + [long]
    for rows, got in scorer.batcher.batches(prompts, responses, batch_size=64):
        ref = tokenize_pairs(torch_tok, [prompts[i] for i in rows], [responses[i] for i in rows],
                             scorer.max_length)  # torch tensors, padded to the batch's longest
        assert set(got) == set(ref)
        for key in ref:
            np.testing.assert_array_equal(got[key], ref[key].numpy())
        assert got["input_ids"].shape[1] == scorer.max_length == 64


def test_batch_size_does_not_change_scores(exported):
    one = OnnxRewardScorer(exported[1], quantized=False, batch_size=1).score(PROMPTS, RESPONSES)
    all_ = OnnxRewardScorer(exported[1], quantized=False, batch_size=32).score(PROMPTS, RESPONSES)
    for head in HEADS:
        np.testing.assert_allclose(one[head], all_[head], atol=1e-6)
    # int8 quantises activations with one scale per batch tensor, so batch mates move the
    # scores slightly (documented); they stay close.
    one = OnnxRewardScorer(exported[1], batch_size=1).score(PROMPTS, RESPONSES)
    all_ = OnnxRewardScorer(exported[1], batch_size=32).score(PROMPTS, RESPONSES)
    for head in HEADS:
        np.testing.assert_allclose(one[head], all_[head], atol=1e-3)


def test_batch_tokens_cap_the_padded_batch_and_leave_fp32_scores_unchanged(exported):
    from fairguard.export.batching import BATCH_TOKENS

    unlimited = OnnxRewardScorer(exported[1], quantized=False, batch_size=32, batch_tokens=None)
    tight = OnnxRewardScorer(exported[1], quantized=False, batch_size=32, batch_tokens=40)
    assert OnnxRewardScorer(exported[1]).batch_tokens == BATCH_TOKENS
    seen = []
    real_run = tight._run
    tight._run = lambda arrays: seen.append(arrays["input_ids"].shape) or real_run(arrays)
    got = tight.score(PROMPTS, RESPONSES)
    ref = unlimited.score(PROMPTS, RESPONSES)
    for head in HEADS:
        np.testing.assert_allclose(got[head], ref[head], atol=1e-6)
    assert len(seen) > 1 and sum(rows for rows, _ in seen) >= len(PROMPTS)
    # each batch fits 40 padded tokens, except a single pair longer than that
    assert all(rows * width <= 40 or rows == 1 for rows, width in seen)


def test_eight_threads_match_serial_calls(exported):
    scorer = OnnxRewardScorer(exported[1], threads=2, batch_size=2)
    jobs = [([PROMPTS[(i + k) % 5] for k in range(3)],
             [RESPONSES[(i + 2 * k) % 5] for k in range(3)]) for i in range(8)]
    serial = [scorer.score(p, r) for p, r in jobs]
    results: dict[int, list] = {i: [] for i in range(8)}
    errors = []
    barrier = threading.Barrier(8)

    def work(i):
        try:
            barrier.wait()
            for _ in range(5):
                results[i].append(scorer.score(*jobs[i]))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for i in range(8):
        assert len(results[i]) == 5
        for got in results[i]:
            for head in HEADS:
                np.testing.assert_allclose(got[head], serial[i][head], rtol=0, atol=1e-7)


@pytest.mark.parametrize("prompts,responses,match", [
    ([""], ["fine"], "empty"),
    (["   "], ["fine"], "empty"),
    (["ok?"], ["x" * 100_000], "100,000 characters"),
    ([123], ["fine"], "must be a string"),
    (["ok?"], [None], "must be a string"),
    ("a single string", ["fine"], "list of strings"),
    (["a", "b"], ["one"], "2 prompts but 1"),
])
def test_bad_inputs_raise_input_error(scorer, prompts, responses, match):
    with pytest.raises(InputError, match=match):
        scorer.score(prompts, responses)


def test_missing_onnx_files(exported, tmp_path):
    folder = copy_export(exported[1], tmp_path / "copy")
    (folder / "model_int8.onnx").unlink()
    assert OnnxRewardScorer(folder).backend == "onnx-fp32"  # falls back to fp32
    with pytest.raises(ArtifactError, match="no model_int8.onnx"):
        OnnxRewardScorer(folder, quantized=True)
    (folder / "model.onnx").unlink()
    assert not has_onnx(folder)
    with pytest.raises(ArtifactError, match="holds no model.onnx.*fairguard export onnx"):
        OnnxRewardScorer(folder)


def test_wrong_folders(exported, tmp_path):
    source, _ = exported
    with pytest.raises(ArtifactError, match="holds no model.onnx"):
        OnnxRewardScorer(source)  # a torch reward-model folder, not an export
    with pytest.raises(ArtifactError, match="not a folder"):
        OnnxRewardScorer(tmp_path / "missing")
    (tmp_path / "plain").mkdir()
    with pytest.raises(ArtifactError, match="fairguard.json"):
        OnnxRewardScorer(tmp_path / "plain")
    other = copy_export(exported[1], tmp_path / "other")
    meta = json.loads((other / "fairguard.json").read_text())
    (other / "fairguard.json").write_text(json.dumps(dict(meta, kind="refine-layer")))
    with pytest.raises(ArtifactError, match="reward-model"):
        OnnxRewardScorer(other)


def test_corrupt_onnx_file(exported, tmp_path):
    folder = copy_export(exported[1], tmp_path / "copy")
    (folder / "model_int8.onnx").write_bytes(b"not an onnx model")
    with pytest.raises(ArtifactError, match="not a loadable ONNX model"):
        OnnxRewardScorer(folder)


def test_option_validation(exported):
    for kwargs in ({"threads": 0}, {"threads": "2"}, {"batch_size": 0}, {"max_length": 2},
                   {"batch_tokens": 0}, {"batch_tokens": 1.5}, {"batch_tokens": True}):
        with pytest.raises(ConfigError):
            OnnxRewardScorer(exported[1], **kwargs)


def test_reward_model_plugin_uses_onnx_backend(exported):
    from fairguard.registry import get_reward

    reward = get_reward("reward-model", path=str(exported[1]))
    assert reward.backend == "onnx"
    assert isinstance(reward.scorer, OnnxRewardScorer)
    got = reward.score(PROMPTS, RESPONSES)
    ref = OnnxRewardScorer(exported[1]).score(PROMPTS, RESPONSES)
    for head in HEADS:
        np.testing.assert_allclose(got[head], ref[head], atol=1e-7)
    assert reward.scorer.recheck  # the export records margins: on by default
    assert not get_reward("reward-model", path=str(exported[1]), recheck=False).scorer.recheck
    with pytest.raises(ConfigError, match="recheck applies to int8 ONNX exports only"):
        get_reward("reward-model", path=str(exported[0]), recheck=True)
    assert get_reward("reward-model", path=str(exported[1]), batch_tokens=100).scorer.batch_tokens == 100
    assert get_reward("reward-model", path=str(exported[1]), batch_tokens=0).scorer.batch_tokens is None
    with pytest.raises(ConfigError, match="batch_tokens applies to the onnx backend only"):
        get_reward("reward-model", path=str(exported[0]), batch_tokens=100)
    with pytest.raises(ConfigError, match="batch_tokens must be a non-negative integer"):
        get_reward("reward-model", path=str(exported[1]), batch_tokens=-1)


def test_decide_uses_thresholds(scorer):
    scores = {h: np.array([0.2, 0.5, 0.9]) for h in HEADS}
    decisions = scorer.decide(scores)
    for head in HEADS:
        assert decisions[head].tolist() == [False, True, True]


def test_input_order_is_preserved(exported):
    scorer = OnnxRewardScorer(exported[1], quantized=False, batch_size=2)
    forward = scorer.score(PROMPTS, RESPONSES)
    backward = scorer.score(PROMPTS[::-1], RESPONSES[::-1])
    single = [scorer.score([p], [r]) for p, r in zip(PROMPTS, RESPONSES)]
    for head in HEADS:
        np.testing.assert_allclose(forward[head], backward[head][::-1], atol=1e-6)
        np.testing.assert_allclose(forward[head], [s[head][0] for s in single], atol=1e-6)


@pytest.mark.parametrize("quantized", [False, True])
def test_pairs_that_fit_skip_windows_with_the_same_scores(exported, quantized):
    from fairguard.reward_model.windows import score_windowed, split_windows

    scorer = OnnxRewardScorer(exported[1], quantized=quantized, batch_size=2)
    long = " ".join(f"The worker number {i} was judged on skills." for i in range(40))
    for prompts, responses in [(PROMPTS, RESPONSES), (PROMPTS[:1], RESPONSES[:1]),
                               (PROMPTS + [PROMPTS[0]], RESPONSES + [long])]:
        got = scorer.score(prompts, responses)
        windowed = score_windowed(scorer.score_pairs, scorer.tokenizer, prompts, responses,
                                  scorer.heads, scorer.max_length)
        for head in HEADS:  # same batches, same logits: equal up to float64 rounding
            np.testing.assert_allclose(got[head], windowed[head], rtol=1e-12, atol=0)
    # the last case does go through the windows: the long answer does not fit
    assert split_windows(scorer.tokenizer, [PROMPTS[0]], [long], scorer.max_length).counts()[0] > 1


def test_one_pair_equals_its_row_in_a_batch(exported):
    scorer = OnnxRewardScorer(exported[1], quantized=False, batch_size=8)
    batch = scorer.logits(PROMPTS, RESPONSES)
    for i, (prompt, response) in enumerate(zip(PROMPTS, RESPONSES)):
        one = scorer.logits([prompt], [response])
        assert one.shape == (1, len(HEADS)) and one.dtype == np.float32
        np.testing.assert_allclose(one[0], batch[i], atol=1e-5)
    assert scorer.logits([], []).shape == (0, len(HEADS))


def _with_margins(folder, margins, thresholds=None):
    """Rewrite an export copy's re-check margins (and thresholds) in fairguard.json."""
    meta = json.loads((folder / "fairguard.json").read_text())
    meta["onnx"]["quantization"]["recheck_margins"] = margins
    if thresholds is not None:
        meta["thresholds"] = thresholds
    (folder / "fairguard.json").write_text(json.dumps(meta))
    return folder


def test_export_records_recheck_margins_and_the_int8_scorer_uses_them(exported):
    meta = json.loads((exported[1] / "fairguard.json").read_text())
    margins = meta["onnx"]["quantization"]["recheck_margins"]
    assert set(margins) == set(HEADS) and all(m > 0 for m in margins.values())
    int8 = OnnxRewardScorer(exported[1])
    assert int8.recheck and int8.recheck_margins.tolist() == pytest.approx(
        [margins[h] for h in HEADS])
    assert not OnnxRewardScorer(exported[1], recheck=False).recheck
    assert not OnnxRewardScorer(exported[1], quantized=False).recheck


def test_recheck_rescores_in_fp32_exactly_the_pairs_near_a_threshold(exported, tmp_path):
    """Thresholds placed among the pairs' int8 logits: pairs within a head's margin of its
    threshold get fp32's logits, the others int8's, and the counters say how many."""
    folder = copy_export(exported[1], tmp_path / "copy")
    plain = OnnxRewardScorer(folder, recheck=False, batch_size=2).logits(PROMPTS, RESPONSES)
    fp32 = OnnxRewardScorer(folder, quantized=False, batch_size=2).logits(PROMPTS, RESPONSES)
    assert not np.allclose(plain, fp32, atol=1e-6)  # int8 differs, so the test can tell
    middle = np.median(plain, axis=0)
    thresholds = {h: float(1 / (1 + np.exp(-middle[i]))) for i, h in enumerate(HEADS)}
    spread = np.abs(plain - middle)
    ranked = np.sort(spread, axis=0)  # margins halfway between the 2nd and 3rd nearest pair
    margins = {h: float(ranked[1:3, i].mean()) for i, h in enumerate(HEADS)}
    _with_margins(folder, margins, thresholds)
    scorer = OnnxRewardScorer(folder, batch_size=2)
    got = scorer.logits(PROMPTS, RESPONSES)
    near = (spread < np.array([margins[h] for h in HEADS])).any(axis=1)
    assert 0 < near.sum() < len(PROMPTS)
    np.testing.assert_allclose(got[near], fp32[near], atol=1e-6)
    np.testing.assert_array_equal(got[~near], plain[~near])
    assert (scorer.rechecked, scorer.scored) == (int(near.sum()), len(PROMPTS))
    # margins of zero re-check nothing; huge ones make every decision fp32's
    # (int8's activation scales are per batch: same batches as `plain`)
    assert np.array_equal(OnnxRewardScorer(_with_margins(folder, dict.fromkeys(HEADS, 0.0)),
                                           batch_size=2).logits(PROMPTS, RESPONSES), plain)
    everything = OnnxRewardScorer(_with_margins(folder, dict.fromkeys(HEADS, 1e9)), batch_size=2)
    np.testing.assert_allclose(everything.logits(PROMPTS, RESPONSES), fp32, atol=1e-6)
    scores = everything.score(PROMPTS, RESPONSES)
    fp32_scores = OnnxRewardScorer(folder, quantized=False).score(PROMPTS, RESPONSES)
    decided, expected = everything.decide(scores), everything.decide(fp32_scores)
    for head in HEADS:
        assert decided[head].tolist() == expected[head].tolist()


def test_recheck_needs_margins_and_the_fp32_graph(exported, tmp_path):
    with pytest.raises(ConfigError, match="recheck must be"):
        OnnxRewardScorer(exported[1], recheck="yes")
    with pytest.raises(ConfigError, match="fp32 scorer needs none"):
        OnnxRewardScorer(exported[1], quantized=False, recheck=True)
    old = _with_margins(copy_export(exported[1], tmp_path / "old"), None)  # exported before
    assert not OnnxRewardScorer(old).recheck
    with pytest.raises(ArtifactError, match="no usable re-check margins.*re-export"):
        OnnxRewardScorer(old, recheck=True)
    bad = _with_margins(copy_export(exported[1], tmp_path / "bad"), dict.fromkeys(HEADS, -1.0))
    assert not OnnxRewardScorer(bad).recheck
    no_fp32 = copy_export(exported[1], tmp_path / "int8-only")
    (no_fp32 / "model.onnx").unlink()
    assert not OnnxRewardScorer(no_fp32).recheck
    with pytest.raises(ArtifactError, match="no model.onnx"):
        OnnxRewardScorer(no_fp32, recheck=True)


def test_recheck_with_a_corrupt_fp32_graph_fails_at_load(exported, tmp_path):
    folder = copy_export(exported[1], tmp_path / "copy")
    (folder / "model.onnx").write_bytes(b"not an onnx model")
    with pytest.raises(ArtifactError, match="not a loadable ONNX model"):
        OnnxRewardScorer(folder)
    assert OnnxRewardScorer(folder, recheck=False).score(PROMPTS, RESPONSES)
