"""Click options made from a config dataclass, so each option is said once (in the dataclass).

``@options_from(GRPOConfig)`` adds one option per field (sub-configs flattened): the flag is
``--field-name`` plus ``metadata["aliases"]``; the type comes from the annotation (``Literal`` or
``metadata["choices"]``: a choice; ``bool``: a ``--x/--no-x`` pair, or ``metadata["flag"]``'s
pair; ``int``, ``float``; ``metadata["multiple"]``: repeatable); the help is ``metadata["help"]``
followed by the dataclass default (or ``metadata["default_text"]`` where the default is computed
or None). ``metadata["flag"]`` on a non-bool field names its flag instead of ``--field-name``
(e.g. ``"-n"``), and a bool's ``flag`` without an off switch (``"--json"``) is an on-only flag;
``metadata["argument"]`` makes the field a positional argument (``metadata["folder"]``: a path
that must not be a file). Fields with ``metadata["cli"] = False`` (mappings) stay YAML-only. Every option's
click default is None, so that only flags the
user gave override the ``--config`` YAML, which overrides the dataclass defaults
(:func:`fairguard.config.build_config`).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import click

from fairguard.config import Option, config_options

F = TypeVar("F", bound=Callable[..., Any])
REGENERATE = ("python -c 'import fairguard.cli.options as o; "
              "print(o.options_markdown(o.documented_commands()), end=\"\")' > docs/options.md")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _base(hint: Any) -> Any:
    """The annotation without ``| None``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0] if len(args) == 1 else str
    return hint


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return ",".join(map(str, value)) or "none"
    return str(value)


def _bool_flags(option: Option) -> tuple[str, str]:
    """The on and off flags of a bool option: ``metadata["flag"]`` or ``--x/--no-x``."""
    decl = option.field.metadata.get("flag") or \
        f"{_flag(option.name)}/--no-{option.name.replace('_', '-')}"
    on, _, off = decl.partition("/")
    return on, off


def _flags(option: Option) -> list[str]:
    """The flags of a non-bool option: ``metadata["flag"]`` or ``--field-name``, then the aliases."""
    first = option.field.metadata.get("flag") or _flag(option.name)
    return [first, *(_flag(name) for name in option.aliases)]


def option_help(option: Option) -> str:
    """The option's help followed by its default, e.g. ``"Optimizer steps. [default: 40]"``."""
    text = option.help
    default = option.field.metadata.get("default_text")
    if default is None and isinstance(option.default, bool) and _base(option.hint) is bool:
        default = _bool_flags(option)[0 if option.default else 1] or None
    elif default is None and option.default not in (dataclasses.MISSING, None, (), ""):
        default = _shown(option.default)
    return f"{text} [default: {default}]" if default is not None else text


def click_option(option: Option) -> Callable[[F], F]:
    """The click option of one config option."""
    meta = option.field.metadata
    base = _base(option.hint)
    kwargs: dict[str, Any] = {"default": None, "help": option_help(option)}
    if base is bool:
        on, off = _bool_flags(option)
        if not off:
            return click.option(on, option.name, is_flag=True, flag_value=True, **kwargs)
        return click.option(f"{on}/{off}", option.name, **kwargs)
    if meta.get("argument"):
        folder = click.Path(file_okay=False, path_type=Path if base is Path else None)
        return click.argument(option.name, type=folder if meta.get("folder") else None,
                              required=option.default is dataclasses.MISSING)
    if meta.get("multiple"):  # none given: None, like any option not given
        kwargs.update(multiple=True, default=(), callback=lambda _ctx, _param, value: value or None)
    if "choices" in meta:
        kwargs["type"] = click.Choice([str(a) for a in meta["choices"]])
    elif typing.get_origin(base) is typing.Literal:
        kwargs["type"] = click.Choice([str(a) for a in typing.get_args(base)])
    elif base in (int, float):
        kwargs["type"] = base
    elif base is Path:
        kwargs["type"] = click.Path(path_type=Path)
    if "envvar" in meta:
        kwargs.update(envvar=meta["envvar"], show_envvar=True)
    return click.option(*_flags(option), option.name, **kwargs)


def options_from(cls: type) -> Callable[[F], F]:
    """Decorator: a click option for every option of config class ``cls`` (but the YAML-only
    ones), passed to the command as keyword arguments named like the fields."""
    chosen = [o for o in config_options(cls) if o.field.metadata.get("cli", True)]

    def decorate(function: F) -> F:
        for option in reversed(chosen):  # click lists options in decoration order
            function = click_option(option)(function)
        return function

    return decorate


def config_file_option(function: F) -> F:
    """Decorator: ``--config FILE``, a YAML file with any of the command's options (passed to the
    command as ``config_path``; flags the user gives override it)."""
    return click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
                        help="YAML file with any of these options; flags override it.")(function)


def options_markdown(commands: Iterable[tuple[str, type]]) -> str:
    """A markdown table per command of its config's options: flag(s), default, help."""
    intro = ("Generated from the config dataclasses' field metadata by "
             f"`{REGENERATE}`; do not edit by hand "
             "(`tests/test_cli_options.py` fails when this page and the code drift). Every option is "
             "also a key of the command's `--config` YAML file (the field name; flags win).")
    out = ["# Command options", "", intro, ""]
    for command, cls in commands:
        out += [f"## `fairguard {command}` ({cls.__name__})", "", "| flag | YAML key | default | meaning |",
                "|---|---|---|---|"]
        for option in config_options(cls):
            if not option.field.metadata.get("cli", True):
                flags = "(YAML only)"
            elif option.field.metadata.get("argument"):
                flags = f"`{option.name.upper()}` (argument)"
            elif _base(option.hint) is bool:
                flags = " / ".join(f"`{f}`" for f in _bool_flags(option) if f)
            else:
                flags = ", ".join(f"`{f}`" for f in _flags(option))
            default = option.field.metadata.get("default_text")
            if default is None:
                value = option.default
                default = ("required" if value is dataclasses.MISSING
                           else "none" if value in (None, "", ()) else _shown(value))
            cell = option.help.replace("|", "\\|")
            out.append(f"| {flags} | `{option.name}` | {str(default).replace('|', '/')} | {cell} |")
        out.append("")
    return "\n".join(out)


def documented_commands() -> list[tuple[str, type]]:
    """The commands whose options docs/options.md lists, with their config classes."""
    from fairguard.data.config import DataConfig, DataShowConfig
    from fairguard.demo.config import DemoConfig
    from fairguard.evaluation.bbq import BBQEvalConfig
    from fairguard.evaluation.behaviour import BehaviourEvalConfig
    from fairguard.evaluation.compare import CompareConfig
    from fairguard.evaluation.dilution import DilutionEvalConfig
    from fairguard.evaluation.everyday import EverydayEvalConfig
    from fairguard.evaluation.judge import JudgeEvalConfig
    from fairguard.evaluation.quality import QualityEvalConfig
    from fairguard.evaluation.rescore import RescoreConfig
    from fairguard.evaluation.side_by_side import SideBySideConfig
    from fairguard.export.config import OnnxExportConfig
    from fairguard.guard.config import GuardConfig
    from fairguard.refine.config import RefineConfig, RefineEvalConfig
    from fairguard.reward_model.config import RewardTrainConfig, ScoreConfig
    from fairguard.reward_model.ensemble import EnsembleConfig
    from fairguard.serve.config import ServeConfig
    from fairguard.training.config import GRPOConfig

    return [("data build", DataConfig), ("data show", DataShowConfig), ("train reward", RewardTrainConfig),
            ("train ensemble", EnsembleConfig),
            ("train grpo", GRPOConfig), ("train refine", RefineConfig),
            ("export onnx", OnnxExportConfig), ("serve", ServeConfig),
            ("serve (guard options)", GuardConfig), ("eval quality", QualityEvalConfig),
            ("eval compare", CompareConfig), ("eval side-by-side", SideBySideConfig),
            ("eval rescore", RescoreConfig),
            ("eval bbq", BBQEvalConfig), ("eval judge", JudgeEvalConfig),
            ("eval everyday", EverydayEvalConfig), ("eval dilution", DilutionEvalConfig),
            ("eval behaviour", BehaviourEvalConfig),
            ("eval refine", RefineEvalConfig), ("score", ScoreConfig),
            ("demo", DemoConfig)]

