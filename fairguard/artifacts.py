"""Writing artifact folders atomically, and the ``fairguard.json`` metadata file."""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from fairguard.errors import ArtifactError, ConfigError, FairguardError

METADATA_FILE = "fairguard.json"


def reward_model_folders(paths: Iterable[Any], flag: str) -> list[Path]:
    """Reward-model folders named by an option (``flag``, e.g. ``--judge``): each an existing
    folder, none given twice (also not through another spelling of its path)."""
    folders: list[Path] = []
    for value in paths:
        if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
            raise ConfigError(f"{flag} needs a reward-model folder, got {value!r}")
        folder = Path(value).expanduser()
        if not folder.is_dir():
            raise ConfigError(f"{flag} {value} is not a folder; give a reward-model folder written "
                              "by `fairguard train reward`")
        same = [f for f in folders if f.resolve() == folder.resolve()]
        if same:
            raise ConfigError(f"{flag} {value} is the same folder as {flag} {same[0]}; give each "
                              "folder once")
        folders.append(folder)
    return folders


@contextlib.contextmanager
def atomic_output_dir(out: str | os.PathLike[str], overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``out``; rename it to ``out`` only if the block succeeds.

    Refuses an existing ``out`` unless ``overwrite``; on any error nothing is left at ``out``
    (an existing folder stays as it was).
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise ArtifactError(f"{out} already exists; choose another --out or pass --overwrite")
    parent = creatable_parent(out)
    with _unwritable(out):
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_current_umask())  # mkdtemp makes it owner-only
        if out.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, trash / out.name)
            os.replace(tmp, out)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def creatable_parent(out: str | os.PathLike[str]) -> Path:
    """Create the folder that will hold ``out`` (and its parents) and return it; raises
    ArtifactError, naming ``out``, where it cannot be created or written to."""
    parent = Path(out).parent
    blocking = next((p for p in (parent, *parent.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise ArtifactError(f"cannot create {out}: {blocking} is a file, not a folder; choose "
                            "another --out")
    with _unwritable(out):
        parent.mkdir(parents=True, exist_ok=True)
        if not os.access(parent, os.W_OK | os.X_OK):
            raise PermissionError(f"{parent} is not writable")
    return parent


@contextlib.contextmanager
def _unwritable(out: str | os.PathLike[str]) -> Iterator[None]:
    """Turn an OSError of creating ``out``'s folders into an ArtifactError that names ``out``."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ArtifactError(f"cannot create {out}: {reason}; choose an --out inside a folder you "
                            "can write to") from None


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        return _jsonable(value.item())
    return value


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write ``data`` as indented JSON (NaN/inf become null; numpy scalars become numbers)."""
    Path(path).write_text(json.dumps(_jsonable(data), indent=2, sort_keys=False) + "\n")


def replace_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write ``data`` as :func:`write_json` does, into a temporary file beside ``path`` that
    then replaces it: readers see the old file or the new one, never a half-written one."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    write_json(tmp, data)
    os.replace(tmp, path)


def write_jsonl(path: str | os.PathLike[str], records: Iterable[Mapping[str, Any]], *,
                append: bool = False) -> None:
    """Write (or with ``append`` add) one JSON object per line (NaN/inf as null)."""
    with Path(path).open("a" if append else "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(_jsonable(dict(record)), ensure_ascii=False) + "\n")


def jsonl_objects(path: str | os.PathLike[str], text: str | None = None, *,
                  error: type[FairguardError] = ArtifactError,
                  fix: str = "each line must be one JSON object") -> list[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line of the JSONL file ``path`` (or of
    ``text``, already read from it). A line that is not a JSON object raises ``error`` naming
    the file and line, followed by ``fix`` (what to do)."""
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise error(f"{path} cannot be read ({exc}); {fix}") from exc
    out = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise error(f"{path}, line {lineno}: invalid JSON ({exc.msg}); {fix}") from exc
        except RecursionError:
            raise error(f"{path}, line {lineno}: JSON nested too deeply to read; {fix}") from None
        if not isinstance(obj, dict):
            raise error(f"{path}, line {lineno}: expected a JSON object, got "
                        f"{type(obj).__name__}; {fix}")
        out.append((lineno, obj))
    return out


def read_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The objects of a JSONL file written by :func:`write_jsonl` (blank lines skipped)."""
    return [obj for _, obj in jsonl_objects(path)]


def read_metadata(folder: str | os.PathLike[str], kind: str | None = None) -> dict[str, Any]:
    """Read ``fairguard.json`` from an artifact folder, checking its ``kind`` when given."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ArtifactError(f"{folder} is not a folder; point at a folder written by fairguard")
    path = folder / METADATA_FILE
    if not path.is_file():
        raise ArtifactError(f"{folder} has no {METADATA_FILE}; it was not written by fairguard "
                            "or is incomplete; re-create it")
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{path} is corrupt ({exc}); re-create the artifact") from exc
    if not isinstance(data, dict):
        raise ArtifactError(f"{path} is not a JSON object; re-create the artifact")
    if kind is not None and data.get("kind") != kind:
        raise ArtifactError(f"{folder} holds a {data.get('kind')!r} artifact, expected {kind!r}")
    return data
