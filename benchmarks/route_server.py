"""The dashboard's own server routes (webhooks, health) served by uvicorn on a loopback port, on a thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.applications import Starlette

from legnext_core.server import build_routes


class RouteServer:
    """``build_routes(get_studio)`` on ``url`` until ``stop()`` (or the end of a ``with`` block)."""

    def __init__(self, get_studio: Callable[[], Any]) -> None:
        # IPPROTO_TCP so asyncio sets TCP_NODELAY on accepted sockets (else ~40 ms per kept-alive answer).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        app = Starlette(routes=build_routes(get_studio))
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)

    def __enter__(self) -> RouteServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
