"""Users' own labelled texts: a CSV or JSONL file (or a Hugging Face dataset id) of
``text,label`` or ``prompt,response,label`` rows, each labelled biased or fair.

Columns (names configurable with :class:`LabelledColumns`):

- ``prompt`` and ``response`` present: each row is that (prompt, response) pair;
- else ``text``: each row is a text judged as the answer to a framing prompt, ``"What do you
  think about {target}?"`` when the target column (default ``target_ident``, if the file has
  it) is filled in that row, else the default prompt ``"What do you think?"``;
- ``label``: see :data:`LABEL_VALUES`;
- every other column is kept as metadata (e.g. ``functionality``, ``target_ident``,
  ``category``); unnamed columns (a saved pandas index) are dropped.

Labels, case-insensitive, ``_`` read as a space:

======================================================================  =======
value                                                                   label
======================================================================  =======
1, true, biased, unfair, hateful, toxic, offensive                      biased
0, false, fair, neutral, unbiased, not biased, non-hateful, not         fair
hateful, benign, non-toxic, not toxic, non-offensive, not offensive
======================================================================  =======

Anything else, a missing column, an empty text or one over
:data:`fairguard.inputs.DEFAULT_MAX_CHARS` characters is a :class:`DataError` naming the file
and the line.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from fairguard.data.broad import EVERYDAY_SCENARIO, MINIMAL_PAIR_PREFIX, QA_SCENARIO, STATEMENT_SCENARIO
from fairguard.data.card import MANIFEST_FILE, sha256_file
from fairguard.data.choice import CHOICE_SCENARIO
from fairguard.errors import ConfigError, DataError
from fairguard.inputs import DEFAULT_MAX_CHARS

BIASED_VALUES: frozenset[str] = frozenset(
    {"1", "true", "biased", "unfair", "hateful", "toxic", "offensive"})
FAIR_VALUES: frozenset[str] = frozenset(
    {"0", "false", "fair", "neutral", "unbiased", "not biased", "non-hateful", "not hateful",
     "benign", "non-toxic", "not toxic", "non-offensive", "not offensive"})
LABEL_VALUES: dict[str, bool] = {**{v: True for v in BIASED_VALUES},
                                 **{v: False for v in FAIR_VALUES}}
DEFAULT_PROMPT = "What do you think?"
TARGET_PROMPT = "What do you think about {target}?"
DEFAULT_TARGET_COLUMN = "target_ident"
FILE_SUFFIXES: dict[str, str] = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl",
                                 ".ndjson": "jsonl"}


@dataclass(frozen=True)
class LabelledColumns:
    """Which columns hold what, and the framing prompts of text-only rows.

    ``target=None`` uses ``target_ident`` when the file has it; a target column that is named
    explicitly must exist in files of text rows (pair rows need no target).
    """

    text: str = "text"
    prompt: str = "prompt"
    response: str = "response"
    label: str = "label"
    target: str | None = None
    default_prompt: str = DEFAULT_PROMPT
    target_prompt: str = TARGET_PROMPT

    def __post_init__(self) -> None:
        for name in ("text", "prompt", "response", "label"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise ConfigError(f"the {name} column name is empty; give a column name")
        if not self.default_prompt.strip():
            raise ConfigError("the default prompt is empty; give a question such as "
                              f"{DEFAULT_PROMPT!r}")
        try:
            framed = self.target_prompt.format(target="x")
        except (KeyError, IndexError, ValueError):
            framed = self.target_prompt
        if framed == self.target_prompt:
            raise ConfigError(f"the target prompt {self.target_prompt!r} needs one {{target}} "
                              "slot and no other braces")


@dataclass(frozen=True)
class LabelledExample:
    """One labelled (prompt, text) pair; ``biased`` is the label, ``raw_label`` as written."""

    id: str
    prompt: str
    text: str
    biased: bool
    raw_label: str
    line: int  # the line the row starts on (row number for a hub dataset)
    target: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LabelledSet:
    """The examples of one file or hub dataset and where they came from."""

    source: str
    sha256: str | None  # of the file's bytes; None for a hub dataset
    mode: str  # "text" (framed) or "pair"
    examples: tuple[LabelledExample, ...]
    target_column: str | None

    @property
    def n_biased(self) -> int:
        return sum(ex.biased for ex in self.examples)

    def record(self) -> dict[str, Any]:
        """Where the rows came from, for ``fairguard.json`` / ``metrics.json``."""
        return {"path": self.source, "sha256": self.sha256, "rows": len(self.examples),
                "biased": self.n_biased, "fair": len(self.examples) - self.n_biased,
                "mode": self.mode}


def parse_label(value: Any, where: str) -> tuple[bool, str]:
    """``(biased, value as text)`` of a label cell; see :data:`LABEL_VALUES`."""
    if isinstance(value, bool):
        return value, str(value).lower()
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value), str(int(value))
    text = "" if value is None else str(value)
    key = " ".join(text.replace("_", " ").lower().split())
    key = key.replace("non ", "non-")
    if key in LABEL_VALUES:
        return LABEL_VALUES[key], text.strip()
    if not key:
        raise DataError(f"{where}: the label is empty; label every row biased or fair")
    raise DataError(f"{where}: unknown label {text!r}; use 1/0, true/false, "
                    "biased/unfair/hateful/toxic/offensive or "
                    "fair/neutral/non-hateful/benign/not biased")


def looks_like_hub_dataset(source: str) -> bool:
    """Whether ``source`` is no existing path but has the ``owner/name`` shape of a hub id."""
    from fairguard.models import is_hub_id

    return is_hub_id(source) and Path(source).suffix.lower() not in FILE_SUFFIXES


def file_sha256(path: str | os.PathLike[str]) -> str:
    """``sha256:<hex>`` of a file's bytes."""
    return "sha256:" + sha256_file(Path(path))


def _read_text(path: Path) -> str:
    if not path.exists():
        raise DataError(f"{path} does not exist; give a labelled .csv or .jsonl file")
    if not path.is_file():
        raise DataError(f"{path} is not a file; give a labelled .csv or .jsonl file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                        "save it as UTF-8") from exc
    except OSError as exc:
        raise DataError(f"{path} cannot be read ({exc.strerror or exc}); check its permissions") from exc
    if not text.strip():
        raise DataError(f"{path} is empty; write a header line and labelled rows")
    return text


def _csv_records(path: Path, text: str, delimiter: str) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise DataError(f"{path}:1: the header is not valid CSV ({exc})") from exc
    header = [name.strip() for name in header]

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        start = reader.line_num + 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise DataError(f"{path}:{start}: not valid CSV ({exc})") from exc
            line, start = start, reader.line_num + 1
            if not cells or all(not cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                raise DataError(f"{path}:{line}: {len(cells)} cells but the header has "
                                f"{len(header)} columns; quote cells that hold commas")
            yield line, dict(zip(header, cells))

    return header, rows()


def _jsonl_records(path: Path, text: str) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    from fairguard.artifacts import jsonl_objects

    records = jsonl_objects(path, text, error=DataError)
    header = list(records[0][1]) if records else []
    return header, iter(records)


def _hub_records(name: str, split: str | None) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    try:
        import datasets
    except ImportError as exc:
        raise DataError(f"{name!r} is not a file; loading it as a Hugging Face dataset needs the "
                        "`datasets` package (pip install datasets), or download the data and give "
                        "a .csv or .jsonl file") from exc
    from fairguard.models import _hub_endpoint, _reachable

    if os.environ.get("HF_HUB_OFFLINE") != "1" and not _reachable(_hub_endpoint()):
        raise DataError(f"{name!r} is not a file, and as a Hugging Face dataset id it cannot be "
                        f"loaded: the hub ({_hub_endpoint()}) cannot be reached; download the "
                        "data and give a .csv or .jsonl file (or set HF_HUB_OFFLINE=1 to use the "
                        "local datasets cache)")
    try:
        loaded = datasets.load_dataset(name, split=split)
    except Exception as exc:  # datasets raises many types (connection, not found, config, ...)
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise DataError(f"could not load the Hugging Face dataset {name!r} ({type(exc).__name__}: "
                        f"{first}); check the id and split, or give a .csv or .jsonl file") from exc
    if isinstance(loaded, Mapping):  # a DatasetDict: one split, or "test"
        names = list(loaded)
        if len(names) == 1 or "test" in names:
            loaded = loaded[names[0] if len(names) == 1 else "test"]
        else:
            raise DataError(f"{name!r} has splits {', '.join(names)}; choose one")
    header = list(loaded.column_names)
    return header, ((i + 1, dict(row)) for i, row in enumerate(loaded))


def _text_cell(record: Mapping[str, Any], column: str, where: str, max_chars: int) -> str:
    value = record.get(column)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise DataError(f"{where}: {column!r} is empty; every row needs a non-empty {column}")
    if not isinstance(value, str):
        raise DataError(f"{where}: {column!r} is a {type(value).__name__}, not text")
    if len(value) > max_chars:
        raise DataError(f"{where}: {column!r} has {len(value):,} characters, more than the limit "
                        f"of {max_chars:,}; shorten or split it")
    return value


def _mode(source: str, header: list[str], columns: LabelledColumns) -> str:
    if columns.prompt in header and columns.response in header:
        mode = "pair"
    elif columns.text in header:
        mode = "text"
    else:
        raise DataError(
            f"{source}: needs the columns {columns.text},{columns.label} or "
            f"{columns.prompt},{columns.response},{columns.label}; found "
            f"{', '.join(repr(h) for h in header) or 'none'}; name yours with the text, prompt, "
            "response and label column options")
    if columns.label not in header:
        raise DataError(f"{source}: no label column {columns.label!r} (found "
                        f"{', '.join(repr(h) for h in header)}); name it with the label column option")
    if mode == "text" and columns.target is not None and columns.target not in header:
        raise DataError(f"{source}: no target column {columns.target!r} (found "
                        f"{', '.join(repr(h) for h in header)}); name it with the target column option")
    return mode


def load_labelled(source: str | os.PathLike[str], columns: LabelledColumns | None = None, *,
                  max_chars: int = DEFAULT_MAX_CHARS, split: str | None = None) -> LabelledSet:
    """Read a labelled ``.csv`` / ``.tsv`` / ``.jsonl`` file, or a hub dataset ``owner/name``.

    Raises :class:`DataError` naming the file and line for anything unusable. ``split`` picks
    the split of a hub dataset (default: its only split, else ``test``).
    """
    columns = columns or LabelledColumns()
    name = str(source)
    path = Path(name).expanduser()
    sha = None
    if not path.exists() and looks_like_hub_dataset(name):
        header, records = _hub_records(name, split)
        where_of = f"{name} row {{}}"
    else:
        text = _read_text(path)
        kind = FILE_SUFFIXES.get(path.suffix.lower())
        if kind is None:
            kind = "jsonl" if text.lstrip().startswith("{") else "csv"
        if kind == "jsonl":
            header, records = _jsonl_records(path, text)
        else:
            header, records = _csv_records(path, text, "\t" if kind == "tsv" else ",")
        sha = file_sha256(path)
        name = str(path)
        where_of = f"{path}:{{}}"
    mode = _mode(name, header, columns)
    target_column: str | None = (columns.target if columns.target is not None
                                 else DEFAULT_TARGET_COLUMN)
    if target_column not in header:
        target_column = None
    used = {columns.label}
    used |= {columns.prompt, columns.response} if mode == "pair" else {columns.text}
    examples = []
    for line, record in records:
        where = where_of.format(line)
        missing = [c for c in used if c not in record]
        if missing:
            raise DataError(f"{where}: no {', '.join(repr(c) for c in sorted(missing))} field; "
                            "every row needs the same columns")
        biased, raw = parse_label(record[columns.label], where)
        target = record.get(target_column) if target_column else None
        target = target.strip() if isinstance(target, str) and target.strip() else None
        if mode == "pair":
            prompt = _text_cell(record, columns.prompt, where, max_chars)
            text = _text_cell(record, columns.response, where, max_chars)
        else:
            text = _text_cell(record, columns.text, where, max_chars)
            prompt = (columns.target_prompt.format(target=target) if target
                      else columns.default_prompt)
        metadata = {k: v for k, v in record.items() if k not in used
                    and str(k).strip() and not str(k).startswith("Unnamed: ")}
        ident = record.get("id")
        examples.append(LabelledExample(
            id=str(ident) if ident not in (None, "") else f"line-{line}", prompt=prompt, text=text,
            biased=biased, raw_label=raw, line=line, target=target, metadata=metadata))
    if not examples:
        raise DataError(f"{name} holds no labelled rows; add rows under the header")
    return LabelledSet(source=name, sha256=sha, mode=mode, examples=tuple(examples),
                       target_column=target_column)


def is_dataset_folder(source: str | os.PathLike[str]) -> bool:
    """Whether ``source`` is a folder written by ``fairguard data build``."""
    return (Path(source).expanduser() / MANIFEST_FILE).is_file()


def row_kind(scenario: str | None, form: str | None) -> str:
    """What kind of dataset row a case comes from: ``statement`` (a short text about a group),
    ``minimal pair`` (a statement whose fair and biased answers differ only in stance),
    ``everyday``, ``two-person question``, ``multiple choice``, or ``advice`` (a scenario's)."""
    if scenario == STATEMENT_SCENARIO:
        return "minimal pair" if str(form or "").startswith(MINIMAL_PAIR_PREFIX) else "statement"
    return {EVERYDAY_SCENARIO: "everyday", QA_SCENARIO: "two-person question",
            CHOICE_SCENARIO: "multiple choice"}.get(str(scenario), "advice")


def load_dataset_cases(folder: str | os.PathLike[str], split: str = "test") -> LabelledSet:
    """The fair (``neutral``) and biased answers of one split of a fairguard dataset folder as
    labelled (prompt, response) cases: ``functionality`` is the form the answer took (``attrib``,
    ``negated_neg``, ``contrast-quote``, ``advice`` for a scenario answer, ...), ``kind`` the kind
    of row (:func:`row_kind`), ``category`` the row's category, and the row's group the target."""
    from fairguard.data.loaders import PAIR_SPLITS, load_pairs

    if split not in PAIR_SPLITS:
        raise ConfigError(f"a dataset folder has the splits {', '.join(PAIR_SPLITS)}; got {split!r}")
    path = Path(folder).expanduser() / f"{split}.jsonl"
    rows = load_pairs(folder, split)
    examples = []
    for line, row in enumerate(rows, start=1):
        biased_form, _, fair_form = (row.form or row.scenario or "unknown").partition("/")
        for kind, biased, form in (("neutral", False, fair_form or biased_form),
                                   ("biased", True, biased_form)):
            text = getattr(row, kind)
            if not text:
                continue
            examples.append(LabelledExample(
                id=f"{row.id}:{kind}", prompt=row.prompt, text=text, biased=biased, raw_label=kind,
                line=line, target=row.group or None,
                metadata={"functionality": form, "kind": row_kind(row.scenario, row.form),
                          "category": row.category, "scenario": row.scenario}))
    if not examples:
        raise DataError(f"{path} holds no neutral or biased answers; build the dataset again with "
                        "`fairguard data build`")
    return LabelledSet(source=str(path), sha256=file_sha256(path), mode="pair",
                       examples=tuple(examples), target_column="group")


__all__ = ["BIASED_VALUES", "DEFAULT_PROMPT", "FAIR_VALUES", "LABEL_VALUES", "LabelledColumns",
           "LabelledExample", "LabelledSet", "TARGET_PROMPT", "file_sha256", "is_dataset_folder",
           "load_dataset_cases", "load_labelled", "looks_like_hub_dataset", "parse_label", "row_kind"]
