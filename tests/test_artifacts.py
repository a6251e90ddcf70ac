
import pytest

from fairguard.artifacts import atomic_output_dir, read_metadata, write_json
from fairguard.errors import ArtifactError


def test_atomic_dir_renames_on_success(tmp_path):
    out = tmp_path / "art"
    with atomic_output_dir(out) as tmp:
        (tmp / "x.txt").write_text("x")
        assert not out.exists()
    assert (out / "x.txt").read_text() == "x"
    assert [p.name for p in tmp_path.iterdir()] == ["art"]


def test_atomic_dir_leaves_nothing_on_failure(tmp_path):
    out = tmp_path / "art"
    with pytest.raises(RuntimeError):
        with atomic_output_dir(out) as tmp:
            (tmp / "x.txt").write_text("x")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_refuses_overwrite_unless_asked(tmp_path):
    out = tmp_path / "art"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(ArtifactError, match="--overwrite"):
        with atomic_output_dir(out):
            pass
    with atomic_output_dir(out, overwrite=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert [p.name for p in out.iterdir()] == ["new.txt"]


def test_metadata_roundtrip_and_errors(tmp_path):
    write_json(tmp_path / "fairguard.json", {"kind": "reward-model", "x": float("nan")})
    assert read_metadata(tmp_path, "reward-model") == {"kind": "reward-model", "x": None}
    with pytest.raises(ArtifactError, match="expected 'refine'"):
        read_metadata(tmp_path, "refine")
    (tmp_path / "fairguard.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="corrupt"):
        read_metadata(tmp_path)
    with pytest.raises(ArtifactError, match="no fairguard.json"):
        read_metadata(tmp_path.parent)


def test_output_dir_gets_normal_permissions(tmp_path):
    import os
    import stat

    out = tmp_path / "art"
    with atomic_output_dir(out):
        pass
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~mask
