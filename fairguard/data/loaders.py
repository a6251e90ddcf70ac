"""Read the dataset's JSONL files into dataclass rows, with errors that name file and line."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from fairguard.artifacts import jsonl_objects
from fairguard.errors import DataError

PAIR_SPLITS = ("train", "val", "test")
UNQOVER_SPLITS = ("train", "test", "disambig_train", "disambig_test")


@dataclass(frozen=True)
class PairRow:
    """One prompt with its neutral, biased, off-topic and corrupted answers.

    ``evasive`` (a non-answer to an answerable question), ``guess`` (a stereotyped pick where
    the context cannot tell), ``wrong`` (the person the context does not point to, in the
    right answer's words) and ``form`` (how the text is framed: advice, statement, reply,
    mixed, qa, ...) are optional: empty when a row has none.

    Rows that ask "who?" about two people also carry the answer key: ``persons`` (the words
    that name each person, e.g. ``("Feng", "Dandan")`` or ``("deaf", "blind")``) and
    ``answer`` (the person the context names, or empty where it cannot tell).
    """

    id: str
    category: str
    group: str
    scenario: str
    template_id: str
    prompt: str
    neutral: str
    biased: str
    off_topic: str
    corrupted: str
    evasive: str = ""
    guess: str = ""
    wrong: str = ""
    form: str = ""
    persons: tuple[str, ...] = ()
    answer: str = ""


OPTIONAL_PAIR_FIELDS = ("evasive", "guess", "wrong", "form", "answer")  # strings; ``persons`` a list


@dataclass(frozen=True)
class UnqoverRow:
    """One UnQover question; ``answer`` is set only in disambiguated splits."""

    id: str
    category: str
    template_id: str
    context: str
    question: str
    attribute_id: str
    attribute: str
    polarity: str  # "pos" | "neg"
    x1: str
    x2: str
    order: str  # "12" | "21"
    subjects: tuple[str, str]  # in context order
    answer: str | None = None


def _resolve(path_or_dir: str | os.PathLike[str], split: str, splits: tuple[str, ...],
             subdir: str | None) -> Path:
    if split not in splits:
        raise DataError(f"unknown split {split!r}; choose one of {', '.join(splits)}")
    path = Path(path_or_dir)
    if path.is_dir():
        candidates = [path / subdir / f"{split}.jsonl"] if subdir else []
        candidates.append(path / f"{split}.jsonl")
        for cand in candidates:
            if cand.is_file():
                return cand
        raise DataError(f"{candidates[0]} does not exist; build the dataset with "
                        "`fairguard data build --out DIR` and pass DIR")
    if not path.is_file():
        raise DataError(f"{path} does not exist; pass a dataset folder built by "
                        "`fairguard data build` or one of its JSONL files")
    return path


def _read_objects(path: Path) -> list[tuple[int, dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} cannot be read ({exc})") from exc
    out = jsonl_objects(path, text, error=DataError)
    if not out:
        raise DataError(f"{path} is empty; rebuild the dataset with `fairguard data build`")
    return out


def _check_str(path: Path, lineno: int, obj: dict[str, Any], names: list[str]) -> None:
    missing = [n for n in names if n not in obj]
    if missing:
        raise DataError(f"{path}, line {lineno}: missing field(s) {', '.join(missing)}")
    for n in names:
        value = obj[n]
        if not isinstance(value, str):
            raise DataError(f"{path}, line {lineno}: field {n!r} must be a string, got "
                            f"{type(value).__name__}")
        if not value.strip():
            raise DataError(f"{path}, line {lineno}: field {n!r} is empty")


def _check_ids(path: Path, rows: list[tuple[int, Any]]) -> None:
    seen: dict[str, int] = {}
    for lineno, row in rows:
        if row.id in seen:
            raise DataError(f"{path}, line {lineno}: duplicate id {row.id!r} "
                            f"(first on line {seen[row.id]})")
        seen[row.id] = lineno


def _persons(path: Path, lineno: int, obj: dict[str, Any]) -> tuple[str, ...]:
    """The row's ``persons`` (none, or two different non-empty strings), checked against its
    ``answer`` (empty, or one of them)."""
    value = obj.get("persons", [])
    where = f"{path}, line {lineno}"
    if not isinstance(value, list) or not all(isinstance(p, str) and p.strip() for p in value):
        raise DataError(f"{where}: field 'persons' must be a list of non-empty strings")
    if value and (len(value) != 2 or value[0] == value[1]):
        raise DataError(f"{where}: field 'persons' must name two different people, got {value}")
    answer = obj.get("answer", "")
    if answer and answer not in value:
        raise DataError(f"{where}: field 'answer' {answer!r} is not one of persons {value}")
    return tuple(value)


def load_pairs(path_or_dir: str | os.PathLike[str], split: str = "train") -> list[PairRow]:
    """Rows of ``DIR/<split>.jsonl`` (or of the JSONL file given)."""
    path = _resolve(path_or_dir, split, PAIR_SPLITS, None)
    names = [f.name for f in fields(PairRow) if f.name not in (*OPTIONAL_PAIR_FIELDS, "persons")]
    rows = []
    for lineno, obj in _read_objects(path):
        _check_str(path, lineno, obj, names)
        optional = {n: obj[n] for n in OPTIONAL_PAIR_FIELDS if n in obj}
        for n, value in optional.items():
            if not isinstance(value, str):
                raise DataError(f"{path}, line {lineno}: field {n!r} must be a string, got "
                                f"{type(value).__name__}")
        persons = _persons(path, lineno, obj)
        rows.append((lineno, PairRow(**{n: obj[n] for n in names}, **optional, persons=persons)))
    _check_ids(path, rows)
    return [r for _, r in rows]


def load_unqover(path_or_dir: str | os.PathLike[str], split: str = "train") -> list[UnqoverRow]:
    """Rows of ``DIR/unqover/<split>.jsonl`` (``DIR`` may also be the unqover folder itself, or
    a JSONL file); ``split`` is train, test, disambig_train or disambig_test."""
    path = _resolve(path_or_dir, split, UNQOVER_SPLITS, "unqover")
    disambig = split.startswith("disambig")
    str_names = ["id", "category", "template_id", "context", "question", "attribute_id",
                 "attribute", "polarity", "x1", "x2", "order"] + (["answer"] if disambig else [])
    rows = []
    for lineno, obj in _read_objects(path):
        _check_str(path, lineno, obj, str_names)
        where = f"{path}, line {lineno}"
        if "subjects" not in obj:
            raise DataError(f"{where}: missing field(s) subjects")
        subjects = obj["subjects"]
        if (not isinstance(subjects, list) or len(subjects) != 2
                or not all(isinstance(s, str) and s.strip() for s in subjects)):
            raise DataError(f"{where}: field 'subjects' must be a list of two non-empty strings")
        if obj["polarity"] not in ("pos", "neg"):
            raise DataError(f"{where}: field 'polarity' must be 'pos' or 'neg', "
                            f"got {obj['polarity']!r}")
        if obj["order"] not in ("12", "21"):
            raise DataError(f"{where}: field 'order' must be '12' or '21', got {obj['order']!r}")
        expected = [obj["x1"], obj["x2"]] if obj["order"] == "12" else [obj["x2"], obj["x1"]]
        if subjects != expected:
            raise DataError(f"{where}: 'subjects' {subjects} does not match x1/x2/order "
                            f"(expected {expected})")
        answer = obj.get("answer") if disambig else None
        if disambig and answer not in subjects:
            raise DataError(f"{where}: 'answer' {answer!r} is not one of the subjects {subjects}")
        rows.append((lineno, UnqoverRow(
            id=obj["id"], category=obj["category"], template_id=obj["template_id"],
            context=obj["context"], question=obj["question"], attribute_id=obj["attribute_id"],
            attribute=obj["attribute"], polarity=obj["polarity"], x1=obj["x1"], x2=obj["x2"],
            order=obj["order"], subjects=(subjects[0], subjects[1]), answer=answer)))
    _check_ids(path, rows)
    return [r for _, r in rows]
