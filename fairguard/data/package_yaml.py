"""Reading and checking the sentence pools that ship as YAML files inside ``fairguard.data``.

Each pool module (``groups``, ``scenarios``, ``responses``) parses its file once through
:func:`read_package_yaml` and checks every value with the helpers here, so a broken file fails
on import with a :class:`~fairguard.errors.DataError` that names the file and the entry.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from importlib import resources
from typing import Any

from fairguard.errors import DataError

PACKAGE = "fairguard.data"


def parse_yaml_mapping(text: str, source: str) -> dict[str, Any]:
    """The top-level mapping of YAML ``text`` read from ``source``; every scalar is read as a
    string (a sentence or name such as ``No``, ``on`` or ``1.5`` stays text)."""
    import yaml

    loader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)  # safe: builds no objects
    try:
        data = yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        raise DataError(f"{source} is not valid YAML ({' '.join(str(exc).split())}); fix the "
                        "file or reinstall fairguard") from exc
    return mapping(data, source)


def read_package_yaml(name: str) -> dict[str, Any]:
    """The top-level mapping of the package data file ``fairguard/data/<name>``."""
    source = f"fairguard/data/{name}"
    try:
        text = resources.files(PACKAGE).joinpath(name).read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise DataError(f"{source} is missing from the installed package; reinstall fairguard "
                        "(pip install -e . in a checkout)") from exc
    return parse_yaml_mapping(text, source)


def mapping(value: Any, where: str) -> dict[str, Any]:
    """``value`` if it is a non-empty mapping with string keys."""
    if not isinstance(value, dict) or not value or not all(isinstance(k, str) for k in value):
        raise DataError(f"{where} must be a non-empty mapping of name: value; fix the file")
    return value


def key(data: dict[str, Any], name: str, where: str) -> Any:
    """``data[name]``, or a DataError naming what is missing."""
    if name not in data:
        raise DataError(f"{where} has no {name!r} entry; add it (see the other entries)")
    return data[name]


def strings(value: Any, where: str, *, allow_empty: bool = False,
            allow_blank: bool = False) -> tuple[str, ...]:
    """``value`` as a tuple of strings; by default non-empty, of non-blank strings."""
    if not isinstance(value, list) or not (value or allow_empty):
        raise DataError(f"{where} must be a{'' if allow_empty else ' non-empty'} list of "
                        "strings; fix the file")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not (allow_blank or item.strip()):
            raise DataError(f"{where}[{i}] must be a non-empty string, got {item!r}; fix the file")
    return tuple(value)


def string_pair(value: Any, where: str, names: str = "[first, second]") -> tuple[str, str]:
    """``value`` as a pair of non-empty strings (``names`` says what they are, for the error)."""
    pair = strings(value, where)
    if len(pair) != 2:
        raise DataError(f"{where} must be a pair {names}, got {list(pair)}; fix the file")
    return pair[0], pair[1]


def string_pairs(value: Any, where: str, names: str = "[first, second]"
                 ) -> tuple[tuple[str, str], ...]:
    """``value`` as a non-empty tuple of string pairs."""
    if not isinstance(value, list) or not value:
        raise DataError(f"{where} must be a non-empty list of pairs {names}; fix the file")
    return tuple(string_pair(v, f"{where}[{i}]", names) for i, v in enumerate(value))


def slot_names(text: str, where: str, fold: bool = True) -> set[str]:
    """The ``{slot}`` names in a template; with ``fold``, ``{Slot}`` counts as ``slot``."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise DataError(f"{where}: {text!r} has unbalanced braces ({exc}); fix the file") from exc
    return {n[:1].lower() + n[1:] for n in names} if fold else names


def check_slots(texts: Iterable[str], known: Iterable[str], where: str, fold: bool = True) -> None:
    """Raise DataError when a template in ``texts`` uses a slot outside ``known`` (with
    ``fold``, ``{Slot}`` is allowed wherever ``{slot}`` is)."""
    known = set(known)
    for text in texts:
        unknown = slot_names(text, where, fold) - known
        if unknown:
            allowed = ", ".join("{" + k + "}" for k in sorted(known)) or "none"
            raise DataError(f"{where}: {text!r} uses unknown slot(s) "
                            f"{', '.join('{' + u + '}' for u in sorted(unknown))}; "
                            f"allowed here: {allowed}")
