"""The fluency proxy: a reference causal LM's mean per-token NLL, mapped to (0, 1]."""

import math

import numpy as np
import pytest
import torch

from fairguard.errors import ConfigError
from fairguard.evaluation.fluency import FluencyProxy, mean_token_nll


def test_mean_token_nll_matches_manual(tiny_causal_lm_dir):
    from fairguard.models import load_causal_lm

    model, tok = load_causal_lm(str(tiny_causal_lm_dir))
    texts = ["the rider is honest", "a teacher", "", "the worker from henan is skilled and honest"]
    nll = mean_token_nll(model, tok, texts, batch_size=3)
    for text, value in zip(texts, nll):
        if not text:
            assert math.isnan(value)
            continue
        ids = [tok.bos_token_id] + tok(text, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logp = torch.log_softmax(model(input_ids=torch.tensor([ids])).logits[0], -1)
        manual = -np.mean([logp[i - 1, ids[i]].item() for i in range(1, len(ids))])
        assert value == pytest.approx(manual, abs=1e-5)
    proxy = FluencyProxy(model, tok)
    scores = proxy.score(["p"] * 4, texts)["fluency-proxy"]
    assert scores[2] == 0.0
    np.testing.assert_allclose(scores[[0, 1, 3]], np.exp(-nll[[0, 1, 3]] / 4.0))
    with pytest.raises(ConfigError, match="batch_size"):
        FluencyProxy(model, tok, batch_size=0)


@pytest.mark.slow
def test_fluency_proxy_prefers_fluent_text_on_smollm2():
    from fairguard.models import load_causal_lm

    model, tok = load_causal_lm("smollm2-135m-instruct")
    fluent = ["Every applicant should be judged on their skills and experience.",
              "Where someone grew up tells you nothing about how reliable they are."]
    salad = ["applicant Every judged be skills should their on and experience.",
             "grew someone Where up you tells nothing reliable how about are they."]
    scores = FluencyProxy(model, tok).score(["q"] * 4, fluent + salad)["fluency-proxy"]
    assert min(scores[:2]) > max(scores[2:])
