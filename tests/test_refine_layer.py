import json

import pytest
import torch

from fairguard.errors import ArtifactError
from fairguard.refine.layer import RefineLayer, load_layer, model_fingerprint, save_layer, tokenizer_digest
from fairguard.testing import tiny_causal_lm, tiny_masked_lm


def test_untrained_layer_returns_the_lms_own_topk_distribution():
    torch.manual_seed(0)
    full = torch.randn(5, 300).log_softmax(-1)
    topk = full.topk(8, dim=-1).values
    layer = RefineLayer(8)
    own = topk.exp() / topk.exp().sum(-1, keepdim=True)
    assert torch.allclose(layer.probs(topk), own, atol=1e-6)
    # unchanged by the offset of raw logits too
    assert torch.allclose(layer.probs(topk + 7.0), own, atol=1e-5)


def test_wrong_k_input_is_clear():
    with pytest.raises(ArtifactError, match="k=8"):
        RefineLayer(8)(torch.zeros(2, 10))


def _meta(model, tok):
    return {"base_model": "tiny", "base_fingerprint": model_fingerprint(model, tok),
            "tokenizer_digest": tokenizer_digest(tok), "categories": ["gender"]}


def test_save_load_roundtrip(tmp_path):
    model, tok = tiny_masked_lm()
    layer = RefineLayer(4)
    with torch.no_grad():
        layer.linear.weight.add_(0.3)
    save_layer(layer, tmp_path, _meta(model, tok))
    meta = json.loads((tmp_path / "fairguard.json").read_text())
    assert meta["kind"] == "refine-layer" and meta["k"] == 4 and meta["categories"] == ["gender"]
    loaded, meta2 = load_layer(tmp_path, fingerprint=model_fingerprint(model, tok), tokenizer=tok)
    z = torch.randn(3, 4)
    assert torch.allclose(loaded(z), layer(z))


def test_keep_order_reshapes_but_never_reranks():
    torch.manual_seed(0)
    z = torch.log_softmax(torch.randn(64, 6) * 3, dim=-1).sort(dim=-1, descending=True).values
    free, kept = RefineLayer(6, keep_order=False), RefineLayer(6)
    with torch.no_grad():  # a layer that favours the LM's last-ranked token
        for layer in (free, kept):
            layer.linear.weight.copy_(torch.eye(6).flip(0) * 0.5)
    assert (free(z).argmax(-1) == 5).all()
    out = kept(z)
    assert (out.argmax(-1) == 0).all() and (out.diff(dim=-1) <= 0).all()
    assert torch.allclose(out.exp().sum(-1), torch.ones(64))
    assert not torch.allclose(out, z.log_softmax(-1))


def test_keep_order_is_saved_and_old_layers_load_without_it(tmp_path):
    model, tok = tiny_masked_lm()
    save_layer(RefineLayer(4, keep_order=False), tmp_path, _meta(model, tok))
    assert load_layer(tmp_path)[0].keep_order is False
    save_layer(RefineLayer(4), tmp_path, _meta(model, tok))
    assert load_layer(tmp_path)[0].keep_order is True
    meta = json.loads((tmp_path / "fairguard.json").read_text())
    del meta["keep_order"]  # written before the option existed
    (tmp_path / "fairguard.json").write_text(json.dumps(meta))
    assert load_layer(tmp_path)[0].keep_order is False


def test_wrong_base_model_is_an_artifact_error(tmp_path):
    model, tok = tiny_masked_lm(seed=0)
    other, other_tok = tiny_masked_lm(seed=1)
    save_layer(RefineLayer(4), tmp_path, _meta(model, tok))
    assert model_fingerprint(model, tok) != model_fingerprint(other, other_tok)
    with pytest.raises(ArtifactError, match="trained on base model 'tiny'"):
        load_layer(tmp_path, fingerprint=model_fingerprint(other, other_tok))
    _, causal_tok = tiny_causal_lm()
    causal_tok.add_tokens(["zzz"])
    with pytest.raises(ArtifactError, match="tokenizer differs"):
        load_layer(tmp_path, tokenizer=causal_tok)


def test_missing_and_corrupt_folders(tmp_path):
    with pytest.raises(ArtifactError):
        load_layer(tmp_path / "nope")
    model, tok = tiny_masked_lm()
    save_layer(RefineLayer(4), tmp_path, _meta(model, tok))
    (tmp_path / "refine.safetensors").write_bytes(b"garbage")
    with pytest.raises(ArtifactError, match="corrupt"):
        load_layer(tmp_path)
    (tmp_path / "refine.safetensors").unlink()
    with pytest.raises(ArtifactError, match="no refine.safetensors"):
        load_layer(tmp_path)
