"""``fairguard serve``: the guard as an OpenAI-compatible HTTP server."""

from __future__ import annotations

import logging
from typing import Any

import click

from fairguard.cli.options import options_from
from fairguard.config import config_options
from fairguard.guard.config import GuardConfig
from fairguard.serve.config import ServeConfig

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


@click.command(name="serve")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="YAML with the guard's and the server's options; flags override it.")
@options_from(ServeConfig)
@options_from(GuardConfig)
@click.option("--log-level", type=click.Choice(LOG_LEVELS), default="info", show_default=True)
def serve(config_path: str | None, log_level: str, **options: Any) -> None:
    """Serve the guard as an OpenAI-compatible API: /v1/chat/completions, /v1/completions,
    /v1/moderations, /health and /metrics."""
    from fairguard.serve import build_serve_config, run

    guard_names = {o.name for o in config_options(GuardConfig)}
    config = build_serve_config(
        config_path, guard_overrides={k: v for k, v in options.items() if k in guard_names},
        **{k: v for k, v in options.items() if k not in guard_names})
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    library = logging.getLogger("fairguard")
    library.addHandler(handler)
    library.setLevel(log_level.upper())
    run(config, log_level=log_level)
