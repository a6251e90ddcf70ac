"""Name-based lookup of the rewards and filters that plugins register."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from fairguard.errors import ConfigError, PluginError, UnknownNameError
from fairguard.plugin_manager import load_plugins
from fairguard.protocols import Filter, Reward


@dataclass(frozen=True)
class Registration:
    """A factory registered under a name by a plugin."""

    name: str
    factory: Callable[..., Any]
    description: str
    plugin: str


def _collect(kind: str) -> dict[str, Registration]:
    """Ask the plugin manager for every ``kind`` registration now (no cache: plugins registered
    or removed at run time are seen at once)."""
    pm = load_plugins()
    found: dict[str, Registration] = {}
    hook = pm.hook.register_rewards if kind == "reward" else pm.hook.register_filters
    for impl in hook.get_hookimpls():

        def register(
            name: str,
            factory: Callable[..., Any],
            description: str = "",
            _plugin: str = impl.plugin_name,
        ) -> None:
            if not isinstance(name, str) or not name:
                raise PluginError(_plugin, f"registered a {kind} with an invalid name {name!r}")
            if not callable(factory):
                raise PluginError(_plugin, f"registered {kind} {name!r} with a non-callable factory")
            if name in found:
                raise PluginError(
                    _plugin,
                    f"{kind} {name!r} is already registered by plugin {found[name].plugin!r}; "
                    "uninstall one of them or exclude one with FAIRGUARD_LOAD_PLUGINS",
                )
            found[name] = Registration(name, factory, description, _plugin)

        impl.function(register=register)
    return found


def reward_registrations() -> dict[str, Registration]:
    """All registered rewards by name."""
    return dict(_collect("reward"))


def filter_registrations() -> dict[str, Registration]:
    """All registered filters by name."""
    return dict(_collect("filter"))


_PROTOCOLS: dict[str, tuple[type, str]] = {
    "reward": (Reward, "name, heads and score(prompts, completions)"),
    "filter": (Filter, "name, logits_processor(tokenizer) and rewrite(prompts, completions)"),
}


def _build(kind: str, name: str, options: dict[str, Any]) -> Any:
    regs = _collect(kind)
    if name not in regs:
        raise UnknownNameError(kind, name, list(regs))
    reg = regs[name]
    try:
        obj = reg.factory(**options)
    except TypeError as exc:
        raise ConfigError(f"{kind} {name!r} does not accept options {sorted(options)}: {exc}") from exc
    protocol, needs = _PROTOCOLS[kind]
    if not isinstance(obj, protocol):
        raise PluginError(reg.plugin, f"{kind} {name!r} does not satisfy the {protocol.__name__} "
                          f"protocol (needs {needs})")
    return obj


def get_reward(name: str, **options: Any) -> Reward:
    """Build the reward registered as ``name`` with its options."""
    return _build("reward", name, options)


def get_filter(name: str, **options: Any) -> Filter:
    """Build the filter registered as ``name`` with its options."""
    return _build("filter", name, options)


def resolve_reward(item: Reward | str) -> Reward:
    """``item`` itself when it is a reward object, else the reward registered under that name."""
    if isinstance(item, str):
        return get_reward(item)
    if not isinstance(item, Reward):
        raise ConfigError(f"{item!r} is not a reward: it needs name, heads and score(prompts, completions)")
    return item


def resolve_filter(item: Filter | str) -> Filter:
    """``item`` itself when it is a filter object, else the filter registered under that name."""
    if isinstance(item, str):
        return get_filter(item)
    if not isinstance(item, Filter):
        raise ConfigError(f"{item!r} is not a filter: it needs name, logits_processor(tokenizer) "
                          "and rewrite(prompts, completions)")
    return item
