"""Config dataclasses: building them from YAML defaults and command-line overrides.

A config class says each option once: ``field(default=..., metadata={"help": ...})``. Its
fields may hold a nested config dataclass (a sub-config, e.g. ``GRPOConfig.diffusion``), whose
fields are addressed by their own names ("flat" names) in YAML and on the command line; a YAML
file may also give a sub-config as a mapping under its field name. ``metadata["aliases"]`` names
older spellings of an option that YAML keys and flags still accept (e.g. ``lr``).
:mod:`fairguard.cli.options` makes the click options from the same fields.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from fairguard.errors import ConfigError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T")


def load_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML mapping, with clear errors for missing, malformed or non-mapping files."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of option: value")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


@dataclass(frozen=True)
class Option:
    """One settable option of a config class: its flat ``name``, the dataclass ``field``, the
    resolved type ``hint`` and ``path``, the sub-config fields that lead to it (empty at the top)."""

    name: str
    field: dataclasses.Field  # type: ignore[type-arg]
    hint: Any
    path: tuple[str, ...] = ()

    @property
    def help(self) -> str:
        return str(self.field.metadata.get("help", ""))

    @property
    def aliases(self) -> tuple[str, ...]:
        return tuple(self.field.metadata.get("aliases", ()))

    @property
    def default(self) -> Any:
        """The dataclass default (``dataclasses.MISSING`` when the option is required)."""
        if self.field.default is not dataclasses.MISSING:
            return self.field.default
        if self.field.default_factory is not dataclasses.MISSING:
            return self.field.default_factory()
        return dataclasses.MISSING


def _sub_config(hint: Any) -> type | None:
    return hint if isinstance(hint, type) and dataclasses.is_dataclass(hint) else None


def config_options(cls: type) -> list[Option]:
    """The options of config class ``cls``, sub-configs flattened, in field order."""
    options: list[Option] = []

    def walk(owner: type, path: tuple[str, ...]) -> None:
        hints = typing.get_type_hints(owner)
        for f in dataclasses.fields(owner):
            if not f.init:
                continue
            sub = _sub_config(hints[f.name])
            if sub is not None:
                walk(sub, path + (f.name,))
            else:
                options.append(Option(f.name, f, hints[f.name], path))

    walk(cls, ())
    names = [o.name for o in options]
    if len(set(names)) != len(names):
        raise TypeError(f"{cls.__name__}: a sub-config field repeats another option's name")
    return options


def _coerce(name: str, value: Any, annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        if isinstance(value, bool):  # YAML reads an unquoted no / off / yes / on as a boolean
            words = ("yes", "on", "true") if value else ("no", "off", "false")
            value = next((word for word in words if word in args), value)
        if value in args and not isinstance(value, bool):
            return value
        raise ConfigError(f"{name} must be one of {', '.join(map(str, args))}; got {value!r}")
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(name, value, arg)
            except ConfigError as exc:
                errors.append(exc)
        if len(errors) == 1:
            raise errors[0]
        raise ConfigError(f"option {name!r}: {value!r} does not fit type {annotation}")
    if annotation is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"option {name!r} must be true or false, got {value!r}")
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"option {name!r} must be an integer, got {value!r}")
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"option {name!r} must be a number, got {value!r}")
        return float(value)
    if annotation is str:
        if not isinstance(value, (str, Path)):
            raise ConfigError(f"option {name!r} must be a string, got {value!r}")
        return str(value)
    return value


def _assemble(cls: type[T], values: dict[str, Any], options: list[Option],
              path: tuple[str, ...] = ()) -> T:
    """``cls(**...)`` from flat ``values``, building sub-configs that have a value given."""
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    # build_config checked that cls is a dataclass; sub-configs are dataclasses by _sub_config
    for f in dataclasses.fields(typing.cast("type[DataclassInstance]", cls)):
        if not f.init:
            continue
        sub = _sub_config(hints[f.name])
        if sub is None:
            if f.name in values:
                kwargs[f.name] = values[f.name]
            continue
        inner = path + (f.name,)
        if any(o.path[:len(inner)] == inner and o.name in values for o in options):
            kwargs[f.name] = _assemble(sub, values, options, inner)
    return cls(**kwargs)


def build_config(cls: type[T], yaml_path: str | os.PathLike[str] | None = None, **overrides: Any) -> T:
    """Make ``cls`` from YAML defaults overridden by non-None keyword values.

    Keys are the flat option names of :func:`config_options` (or their aliases); a YAML file
    may also nest a sub-config's options under its field name. Unknown keys and values of the
    wrong type raise :class:`ConfigError`; range checks live in the dataclass's ``__post_init__``.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls} is not a dataclass")
    options = config_options(cls)
    by_name = {o.name: o for o in options}
    alias = {a: o.name for o in options for a in o.aliases}
    subs = {p for o in options for p in o.path}
    values: dict[str, Any] = {}

    def add(source: dict[str, Any]) -> None:
        for key, value in source.items():
            if key in subs and isinstance(value, dict):
                add({str(k).replace("-", "_"): v for k, v in value.items()})
            else:
                values[alias.get(key, key)] = value

    if yaml_path is not None:
        add(load_yaml(yaml_path))
    add({k: v for k, v in overrides.items() if v is not None})
    unknown = sorted(set(values) - set(by_name))
    if unknown:
        raise ConfigError(f"unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(by_name))}")
    coerced = {k: _coerce(k, v, by_name[k].hint) for k, v in values.items()}
    missing = [o for o in options if o.default is dataclasses.MISSING and o.name not in coerced]
    if missing:
        raise ConfigError("incomplete configuration: give " + ", ".join(
            str(o.field.metadata.get("flag") or "--" + o.name.replace("_", "-")) for o in missing)
            + " (a flag or a YAML key)")
    try:
        return _assemble(cls, coerced, options)
    except TypeError as exc:
        raise ConfigError(f"incomplete configuration: {exc}") from exc


def config_dict(config: Any) -> dict[str, Any]:
    """The options of a config instance as one flat dict (sub-configs merged in)."""
    data: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            data.update(config_dict(value))
        else:
            data[f.name] = value
    return data


def plugin_options(name: str, value: Any) -> dict[str, dict[str, Any]]:
    """A ``{plugin: {option: value}}`` config field (``reward_options``, ``filter_options``)
    checked and copied; None is no options."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, Mapping) for k, v in value.items()):
        raise ConfigError(f"{name} must map plugin names to option mappings, "
                          f"e.g. {{context-answer: {{declined: -0.5}}}}")
    return {k: dict(v) for k, v in value.items()}
