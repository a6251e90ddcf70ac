import hashlib
import json

from fairguard.data.builder import build_dataset
from fairguard.data.card import fingerprint_files
from fairguard.data.config import DataConfig


def test_manifest_and_card(tmp_path):
    out = tmp_path / "d"
    result = build_dataset(DataConfig(seed=5, size=120), out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 5
    assert manifest["fingerprint"] == result.fingerprint
    files, fp = fingerprint_files(out)
    assert fp == manifest["fingerprint"]
    assert set(files) == set(manifest["files"])
    for name, digest in files.items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    assert manifest["counts"]["rows"]["train"] + manifest["counts"]["rows"]["val"] + \
        manifest["counts"]["rows"]["test"] == 120
    card = (out / "README.md").read_text()
    for text in ("Known limits", "Held-out groups", "Held-out templates", "synthetic".title(),
                 manifest["fingerprint"], "| region |", "| hiring |", "disambig_test"):
        assert text in card, text
    for group in manifest["held_out"]["groups"]:
        assert group in card
    opening_cues = manifest["counts"]["label_opening_cues"]
    assert "Sentence openings counted the same way" in card
    assert f"train {opening_cues['train']}, val {opening_cues['val']}" in card
    assert all(f"| `{word}` |" in card
               for word in manifest["counts"]["label_opening_cue_words"]["train"])


def test_fingerprint_changes_with_content(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"x": 1}\n')
    _, fp1 = fingerprint_files(tmp_path)
    (tmp_path / "a.jsonl").write_text('{"x": 2}\n')
    _, fp2 = fingerprint_files(tmp_path)
    assert fp1 != fp2
