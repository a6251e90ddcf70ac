import numpy as np
import pytest
from reward_model_data import train_tiny

from fairguard.errors import ArtifactError, ConfigError, InputError
from fairguard.reward_model.inference import TorchRewardScorer, predict_probs


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_deberta_dir):
    return train_tiny(tmp_path_factory.mktemp("rm"), tiny_deberta_dir)


def test_scores_every_head_in_unit_interval(trained):
    scorer = TorchRewardScorer(trained, batch_size=2)
    assert scorer.heads == ("fairness", "relevance", "fluency")
    out = scorer.score(["who should we hire?"] * 5, ["a", "the worker", "", "no", "every one"])
    assert set(out) == set(scorer.heads)
    for values in out.values():
        assert values.dtype == np.float64 and values.shape == (5,)
        assert np.all((values > 0) & (values < 1))


def test_batching_and_order_do_not_change_scores(trained):
    prompts = ["should the rural worker be hired?", "can the old tenant rent?", "who is good?"]
    responses = ["judge skills", "no they are lazy and dishonest people from the village", "x"]
    one = TorchRewardScorer(trained, batch_size=1).score(prompts, responses)
    three = TorchRewardScorer(trained, batch_size=3).score(prompts, responses)
    rev = TorchRewardScorer(trained, batch_size=3).score(prompts[::-1], responses[::-1])
    for head in one:
        np.testing.assert_allclose(one[head], three[head], atol=1e-5)
        np.testing.assert_allclose(one[head], rev[head][::-1], atol=1e-5)


def test_empty_batch(trained):
    out = TorchRewardScorer(trained).score([], [])
    assert all(v.shape == (0,) for v in out.values())


def test_bad_input_and_options(trained, tmp_path):
    scorer = TorchRewardScorer(trained)
    with pytest.raises(InputError, match="2 prompts but 1"):
        scorer.score(["a", "b"], ["c"])
    with pytest.raises(InputError):
        scorer.score("a prompt", "a response")
    with pytest.raises(InputError, match="empty"):
        scorer.score([" "], ["x"])
    with pytest.raises(ConfigError):
        TorchRewardScorer(trained, batch_size=0)
    with pytest.raises(ConfigError):
        TorchRewardScorer(trained, device="tpu")
    with pytest.raises(ArtifactError):
        TorchRewardScorer(tmp_path / "missing")


def test_max_length_truncates(trained):
    long = " ".join(["worker"] * 400)
    out = TorchRewardScorer(trained, max_length=16).score(["who?"], [long])
    assert out["fairness"].shape == (1,)


def test_predict_probs_restores_training_mode(trained):
    scorer = TorchRewardScorer(trained)
    scorer.model.train()
    predict_probs(scorer.model, scorer.tokenizer, ["a"], ["b"], 32)  # on the model's device
    assert scorer.model.training
