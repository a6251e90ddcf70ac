import pytest
import torch

from fairguard import get_filter
from fairguard.errors import ArtifactError, ConfigError
from fairguard.refine.layer import RefineLayer, save_layer, tokenizer_digest
from fairguard.registry import filter_registrations
from fairguard.testing import save_tiny, tiny_causal_lm


@pytest.fixture(scope="module")
def layer_dir(tiny_causal_lm_dir, tmp_path_factory):
    from fairguard.evaluation.refine import load_base_lm

    lm = load_base_lm(str(tiny_causal_lm_dir))
    layer = RefineLayer(5)
    with torch.no_grad():
        layer.linear.weight.mul_(0.3)
    folder = tmp_path_factory.mktemp("refine-layer")
    save_layer(layer, folder, {"base_model": str(tiny_causal_lm_dir), "base_fingerprint": lm.fingerprint,
                               "tokenizer_digest": tokenizer_digest(lm.tokenizer), "categories": ["gender"]})
    return folder


def test_registered_as_builtin():
    assert filter_registrations()["refine"].plugin == "refine"


def test_processor_changes_the_first_generated_token_distribution(layer_dir, tiny_causal_lm_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    flt = get_filter("refine", path=str(layer_dir), model=str(tiny_causal_lm_dir))
    model = AutoModelForCausalLM.from_pretrained(tiny_causal_lm_dir).eval()
    tok = AutoTokenizer.from_pretrained(tiny_causal_lm_dir)
    assert flt.rewrite(["p"], ["c"]) is None
    ids = tok(["who is lazy ? the man or the woman"], return_tensors="pt")
    kwargs = dict(max_new_tokens=2, do_sample=False, output_scores=True, return_dict_in_generate=True)
    plain = model.generate(**ids, **kwargs)
    refined = model.generate(**ids, logits_processor=[flt.logits_processor(tok)], **kwargs)
    p0, q0 = plain.scores[0].softmax(-1), refined.scores[0].softmax(-1)
    assert not torch.allclose(p0, q0, atol=1e-4)
    assert torch.allclose(p0.topk(5).values.sum(), q0.topk(5).values.sum(), atol=1e-3)  # top-k mass kept


def test_wrong_tokenizer_model_and_missing_path(layer_dir, tmp_path):
    flt = get_filter("refine", path=str(layer_dir))
    _, other_tok = tiny_causal_lm()
    other_tok.add_tokens(["qwertyuiop"])  # another vocabulary
    with pytest.raises(ArtifactError, match="tokenizer differs"):
        flt.logits_processor(other_tok)
    other = save_tiny(*tiny_causal_lm(seed=3), tmp_path / "other")
    with pytest.raises(ArtifactError, match="was trained on base model"):
        get_filter("refine", path=str(layer_dir), model=str(other))
    with pytest.raises(ArtifactError):
        get_filter("refine", path=str(tmp_path / "missing"))
    with pytest.raises(ConfigError):
        get_filter("refine", path=str(layer_dir), slots="sometimes")
