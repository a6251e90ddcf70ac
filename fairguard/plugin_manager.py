"""The plugin manager: built-in plugins, third-party entry points, and what got loaded."""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import sys
import warnings
from dataclasses import dataclass, field

import pluggy

from fairguard import hookspecs

ENTRY_POINT_GROUP = "fairguard"
LOAD_PLUGINS_ENV = "FAIRGUARD_LOAD_PLUGINS"

DEFAULT_PLUGINS: tuple[str, ...] = (
    "fairguard.plugins.gender_bias",
    "fairguard.plugins.neutralize",
    "fairguard.plugins.reward_model",
    "fairguard.plugins.context_answer",
    "fairguard.plugins.fairness_pass",
    "fairguard.plugins.lora",
    "fairguard.plugins.refine",
)

pm = pluggy.PluginManager("fairguard")
pm.add_hookspecs(hookspecs)


@dataclass
class PluginInfo:
    """One loaded (or failed) plugin, as ``fairguard plugins`` shows it."""

    name: str
    builtin: bool
    hooks: list[str] = field(default_factory=list)
    version: str | None = None
    error: str | None = None


_infos: dict[str, PluginInfo] = {}
_loaded = False


def _allowed_third_party() -> set[str] | None:
    """Names allowed by FAIRGUARD_LOAD_PLUGINS, or None when every installed plugin may load."""
    value = os.environ.get(LOAD_PLUGINS_ENV)
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def _third_party_disabled_in_tests() -> bool:
    return getattr(sys, "_called_from_test", False) and LOAD_PLUGINS_ENV not in os.environ


def load_plugins() -> pluggy.PluginManager:
    """Register built-ins and allowed third-party plugins once; return the manager."""
    global _loaded
    if _loaded:
        return pm
    _loaded = True
    for module_name in DEFAULT_PLUGINS:
        module = importlib.import_module(module_name)
        short = module_name.rsplit(".", 1)[-1]
        if pm.get_plugin(short) is None:
            pm.register(module, name=short)
        _infos[short] = PluginInfo(name=short, builtin=True)
    if _third_party_disabled_in_tests():
        return pm
    allowed = _allowed_third_party()
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist_name = ep.dist.name if ep.dist is not None else ep.name
        if allowed is not None and ep.name not in allowed and dist_name not in allowed:
            continue
        version = ep.dist.version if ep.dist is not None else None
        if pm.get_plugin(ep.name) is not None:
            continue
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
        except Exception as exc:  # a broken third-party plugin must not break fairguard
            message = f"{type(exc).__name__}: {exc}"
            warnings.warn(
                f"fairguard plugin {ep.name!r} from {dist_name} failed to load ({message}); "
                f"skipping it. Reinstall or uninstall it, or exclude it with {LOAD_PLUGINS_ENV}.",
                stacklevel=2,
            )
            _infos[ep.name] = PluginInfo(ep.name, builtin=False, version=version, error=message)
            continue
        _infos[ep.name] = PluginInfo(ep.name, builtin=False, version=version)
    return pm


def register_plugin(plugin: object, name: str | None = None) -> None:
    """Register a plugin object in-process (for applications and tests)."""
    load_plugins()
    registered = pm.register(plugin, name=name)
    if registered is None:
        return
    _infos[registered] = PluginInfo(registered, builtin=False)


def unregister_plugin(name: str) -> None:
    """Remove a plugin registered with :func:`register_plugin`."""
    pm.unregister(name=name)
    _infos.pop(name, None)


def plugin_infos(include_builtin: bool = False) -> list[PluginInfo]:
    """Loaded plugins with the hooks each implements, sorted by name."""
    load_plugins()
    out = []
    for name, info in sorted(_infos.items()):
        if info.builtin and not include_builtin:
            continue
        plugin = pm.get_plugin(name)
        if plugin is not None:
            info.hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])
        out.append(info)
    return out
