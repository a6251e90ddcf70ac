"""Serving an app on a free localhost port in a background thread, and a port already taken."""

import socket

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from fairguard.errors import ConfigError
from fairguard.serve import BackgroundServer
from fairguard.serve.server import _bind


def _app():
    return Starlette(routes=[Route("/ping", lambda request: PlainTextResponse("pong"))])


def test_background_server_starts_serves_and_stops():
    with BackgroundServer(_app()) as server:
        assert server.host == "127.0.0.1" and server.port > 0
        assert httpx.get(server.url + "/ping").text == "pong"
    assert not server.thread.is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/ping", timeout=2)


def test_a_port_in_use_is_a_config_error():
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        with pytest.raises(ConfigError, match="cannot listen on 127.0.0.1"):
            _bind("127.0.0.1", taken.getsockname()[1])
    finally:
        taken.close()


def test_uvicorn_serves_with_httptools_and_uvloop():
    """The fast HTTP parser and event loop are installed, so `fairguard serve` (uvicorn's "auto")
    runs on them rather than on h11 and asyncio's loop (docs/guard.md, "Measured load")."""
    import sys

    import uvicorn

    config = uvicorn.Config(_app())
    config.load()
    assert config.http_protocol_class.__name__ == "HttpToolsProtocol"
    if sys.platform != "win32":
        loop = config.get_loop_factory()()
        try:
            assert type(loop).__module__.startswith("uvloop")
        finally:
            loop.close()
