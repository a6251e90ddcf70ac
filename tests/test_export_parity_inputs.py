import json

import pytest
from onnx_export_data import write_test_split

from fairguard.errors import DataError
from fairguard.export.parity_inputs import builtin_pairs, dataset_pairs, parity_pairs


def test_builtin_pairs_cover_every_kind():
    pairs = builtin_pairs()
    assert len(pairs) == 48
    assert pairs.kinds[:4] == ["neutral", "biased", "off_topic", "corrupted"]
    assert all(p.strip() and r.strip() for p, r in zip(pairs.prompts, pairs.responses))
    assert len(set(pairs.responses)) == 48
    assert parity_pairs(None).source == pairs.source


def test_dataset_pairs_from_test_split(tmp_path):
    data = write_test_split(tmp_path / "data", rows=5)
    pairs = dataset_pairs(data)
    assert len(pairs) == 20 and "test split" in pairs.source
    assert pairs.prompts[0] == pairs.prompts[3]
    assert len(dataset_pairs(data, max_pairs=7)) == 7
    assert len(parity_pairs(data, max_pairs=6)) == 6


def test_bad_dataset_folders(tmp_path):
    with pytest.raises(DataError, match="not a folder"):
        dataset_pairs(tmp_path / "missing")
    (tmp_path / "d").mkdir()
    with pytest.raises(DataError, match="does not exist"):
        dataset_pairs(tmp_path / "d")
    (tmp_path / "d" / "test.jsonl").write_text("")
    with pytest.raises(DataError, match="empty"):
        dataset_pairs(tmp_path / "d")
    (tmp_path / "d" / "test.jsonl").write_text(json.dumps({"prompt": "p", "neutral": "n"}) + "\n")
    with pytest.raises(DataError, match="biased"):
        dataset_pairs(tmp_path / "d")
