"""fairguard: train less-biased language models and guard their generations at serving time."""

from __future__ import annotations

from fairguard.errors import (
    ArtifactError,
    ConfigError,
    DataError,
    FairguardError,
    GuardBlockedError,
    InputError,
    ModelNotFoundError,
    PluginError,
    UnknownNameError,
)
from fairguard.guard import Guard
from fairguard.hookspecs import hookimpl, hookspec
from fairguard.protocols import BaseFilter, Filter, Reward
from fairguard.registry import get_filter, get_reward

__version__ = "0.1.0"

__all__ = [
    "ArtifactError",
    "BaseFilter",
    "ConfigError",
    "DataError",
    "FairguardError",
    "Filter",
    "Guard",
    "GuardBlockedError",
    "InputError",
    "ModelNotFoundError",
    "PluginError",
    "Reward",
    "UnknownNameError",
    "get_filter",
    "get_reward",
    "hookimpl",
    "hookspec",
    "__version__",
]
