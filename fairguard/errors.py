"""The one exception family of fairguard.

Every error a user can cause (bad input, unknown names, missing models, a failing plugin)
is raised as a subclass of :class:`FairguardError`, with a message that says what to do.
"""

from __future__ import annotations


class FairguardError(Exception):
    """Base class of every error fairguard raises on purpose."""


class ConfigError(FairguardError):
    """A configuration value or command-line option is invalid."""


class UnknownNameError(FairguardError):
    """A reward, filter or model name is not known."""

    def __init__(self, kind: str, name: str, known: list[str] | tuple[str, ...]):
        self.kind = kind
        self.name = name
        self.known = sorted(known)
        listing = ", ".join(self.known) if self.known else "(none registered)"
        super().__init__(f"unknown {kind} {name!r}; known {kind}s: {listing}")


class ModelNotFoundError(FairguardError):
    """A model name could not be resolved to weights that can be loaded."""


class ArtifactError(FairguardError):
    """An artifact folder is missing, incomplete, corrupt or would be overwritten."""


class DataError(FairguardError):
    """A dataset file is missing, empty or malformed."""


class PluginError(FairguardError):
    """A plugin raised, returned malformed output, or returned NaN/inf."""

    def __init__(self, plugin: str, message: str):
        self.plugin = plugin
        super().__init__(f"plugin {plugin!r}: {message}")


class InputError(FairguardError):
    """Text given to a reward, filter or guard is unusable (empty, too long, not a string)."""


class GuardBlockedError(FairguardError):
    """The guard's ``below="raise"`` policy: an output stayed under threshold (or could not be
    scored under ``fail="closed"``). ``records`` holds the guard records of the whole call."""

    def __init__(self, message: str, records: list | None = None):
        self.records = list(records or [])
        super().__init__(message)
