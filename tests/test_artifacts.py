
from pathlib import Path

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


def test_jsonl_objects_names_file_and_line(tmp_path):
    from fairguard.artifacts import jsonl_objects, read_jsonl, write_jsonl
    from fairguard.errors import ArtifactError, DataError

    path = tmp_path / "rows.jsonl"
    write_jsonl(path, [{"a": 1}, {"a": float("nan")}])
    assert jsonl_objects(path) == [(1, {"a": 1}), (2, {"a": None})]
    assert read_jsonl(path) == [{"a": 1}, {"a": None}]
    assert jsonl_objects(path, '\n{"b": 2}\n') == [(2, {"b": 2})]
    with pytest.raises(ArtifactError, match=r"rows.jsonl, line 1: invalid JSON .*; re-run"):
        jsonl_objects(path, "{oops", fix="re-run")
    with pytest.raises(DataError, match="line 2: expected a JSON object, got list"):
        jsonl_objects(path, '{"a": 1}\n[1]', error=DataError)
    with pytest.raises(DataError, match="line 2: JSON nested too deeply to read"):
        jsonl_objects(path, '{"a": 1}\n' + "[" * 100_000 + "]" * 100_000, error=DataError)
    with pytest.raises(ArtifactError, match="cannot be read"):
        jsonl_objects(tmp_path / "missing.jsonl")


def test_output_under_a_file_is_refused_with_its_name(tmp_path):
    (tmp_path / "afile").write_text("x")
    for out in (tmp_path / "afile" / "art", tmp_path / "afile" / "deeper" / "art"):
        with pytest.raises(ArtifactError, match="afile is a file, not a folder"):
            with atomic_output_dir(out):
                pass
    assert [p.name for p in tmp_path.iterdir()] == ["afile"]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc, where nothing can be created")
def test_output_where_nothing_can_be_created_is_an_artifact_error():
    with pytest.raises(ArtifactError, match="cannot create /proc/fairguard-test/art: .*--out"):
        with atomic_output_dir("/proc/fairguard-test/art"):
            pass


def test_cli_reports_an_unwritable_out_without_a_traceback(tmp_path):
    from click.testing import CliRunner

    from fairguard.cli import cli

    (tmp_path / "afile").write_text("x")
    result = CliRunner().invoke(cli, ["data", "build", "--out", str(tmp_path / "afile" / "data")])
    assert result.exit_code != 0
    assert "is a file, not a folder" in result.output
    assert "Traceback" not in result.output
