import numpy as np
import pytest

from fairguard.errors import ArtifactError
from fairguard.export.session import make_session, opset_of, session_feed
from onnx_export_data import shared_export


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return shared_export(tmp_path_factory)[1]


def test_session_inputs_and_feed(exported):
    session = make_session(exported / "model.onnx", threads=1)
    names = [i.name for i in session.get_inputs()]
    assert names[:2] == ["input_ids", "attention_mask"]
    enc = {"input_ids": np.array([[2, 5, 3]]), "attention_mask": np.array([[1, 1, 1]]),
           "token_type_ids": np.array([[0, 0, 0]])}
    feed = session_feed(session, enc)
    assert set(feed) == set(names)  # DeBERTa (type_vocab_size 0) takes no token_type_ids
    assert all(v.dtype == np.int64 for v in feed.values())
    assert session.run(None, feed)[0].shape == (1, 3)
    assert opset_of(exported / "model.onnx") >= 11
    quiet = make_session(exported / "model.onnx", threads=1, spin=False)
    assert quiet.get_session_options().get_session_config_entry(
        "session.intra_op.allow_spinning") == "0"
    np.testing.assert_allclose(quiet.run(None, feed)[0], session.run(None, feed)[0], atol=1e-6)


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(ArtifactError, match="does not exist.*fairguard export onnx"):
        make_session(tmp_path / "model.onnx")
    (tmp_path / "model.onnx").write_bytes(b"\x00garbage")
    with pytest.raises(ArtifactError, match="not a loadable ONNX model"):
        make_session(tmp_path / "model.onnx")
