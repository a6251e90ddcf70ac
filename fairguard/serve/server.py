"""Running the app on uvicorn: in the foreground (``fairguard serve``) or in a background thread
(tests, benchmarks, notebooks)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any

from fairguard.errors import ConfigError
from fairguard.serve.config import ServeConfig

logger = logging.getLogger("fairguard.serve")


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port} ({exc}); pick another --port or --host") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def run(config: ServeConfig, app: Any = None, log_level: str = "info") -> None:
    """Serve ``app`` (default: :func:`create_app` of ``config``) until interrupted."""
    import uvicorn

    from fairguard.serve.app import create_app

    sock = _bind(config.host, config.port)  # fails before the models load when the port is taken
    app = app if app is not None else create_app(config)
    host, port = sock.getsockname()[:2]
    if config.host not in ("127.0.0.1", "localhost", "::1"):
        logger.warning("listening on %s, reachable from other machines%s", config.host,
                       "" if config.api_key else " WITHOUT an API key (set --api-key or FAIRGUARD_API_KEY)")
    logger.info("serving on http://%s:%d (OpenAI base URL http://%s:%d/v1)", host, port, host, port)
    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=5))
    server.run(sockets=[sock])


class BackgroundServer:
    """An app served on ``host`` (default 127.0.0.1) and a free port in a daemon thread.

    ``with BackgroundServer(app) as server:`` ... ``server.url`` (``http://127.0.0.1:PORT``);
    leaving the block stops it. uvicorn's logging is left as it is (no logging config applied).
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"):
        import uvicorn

        self.sock = _bind(host, port)
        self.host, self.port = self.sock.getsockname()[:2]
        self.url = f"http://{self.host}:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, log_config=None,
                                                    timeout_graceful_shutdown=2))
        self.thread = threading.Thread(target=self._run, name="fairguard-serve", daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            self.server.run(sockets=[self.sock])
        except BaseException as exc:  # noqa: BLE001 - reported by start()
            self.error = exc

    def start(self, timeout_s: float = 30.0) -> "BackgroundServer":
        self.thread.start()
        waited = time.perf_counter() + timeout_s
        while not self.server.started:
            if self.error is not None or not self.thread.is_alive():
                raise RuntimeError(f"the server did not start: {self.error!r}")
            if time.perf_counter() > waited:
                raise RuntimeError(f"the server did not start within {timeout_s:g} s")
            time.sleep(0.01)
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout_s)
        self.sock.close()

    def __enter__(self) -> "BackgroundServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
