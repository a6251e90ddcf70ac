"""The hooks a fairguard plugin can implement.

A plugin is a module (or object) with functions decorated by ``@fairguard.hookimpl`` whose
names match the specs below. Each registration hook receives a ``register`` callback.
"""

from __future__ import annotations

from typing import Any, Callable

from pluggy import HookimplMarker, HookspecMarker

hookspec = HookspecMarker("fairguard")
hookimpl = HookimplMarker("fairguard")


@hookspec
def register_rewards(register: Callable[..., None]) -> None:
    """Register reward factories: ``register(name, factory, description="")``.

    ``factory(**options)`` returns an object satisfying :class:`fairguard.Reward`.
    """


@hookspec
def register_filters(register: Callable[..., None]) -> None:
    """Register filter factories: ``register(name, factory, description="")``.

    ``factory(**options)`` returns an object satisfying :class:`fairguard.Filter`.
    """


@hookspec
def register_commands(cli: Any) -> None:
    """Add click commands or groups to the ``fairguard`` command line (``cli`` is the root group)."""
