"""``fairguard serve``: the guard as an OpenAI-compatible HTTP server.

Importing this package loads neither torch nor the web stack; :func:`create_app` and
:func:`run` do.
"""

from fairguard.serve.config import ServeConfig, build_serve_config

__all__ = ["BackgroundServer", "ServeConfig", "build_serve_config", "create_app", "run"]


def __getattr__(name: str):  # lazy: keeps `import fairguard.serve` light
    if name == "create_app":
        from fairguard.serve.app import create_app

        return create_app
    if name in ("run", "BackgroundServer"):
        from fairguard.serve import server

        return getattr(server, name)
    raise AttributeError(name)
