"""An ASGI app served by uvicorn on a free loopback port, on a thread: the dashboard's own server routes
for the route tests and the benchmarks, or a stand-in API answering what a test needs."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.applications import Starlette

from legnext_core.server import build_routes


class LoopbackServer:
    """``app`` on ``url`` (``http://127.0.0.1:<free port>``) until ``stop()`` or the end of a ``with``."""

    def __init__(self, app: Any) -> None:
        # IPPROTO_TCP so asyncio sets TCP_NODELAY on accepted sockets (else ~40 ms per kept-alive answer).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the loopback server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class RouteServer(LoopbackServer):
    """The dashboard's server routes (webhooks, health, downloads) over ``get_studio()``."""

    def __init__(self, get_studio: Callable[[], Any]) -> None:
        super().__init__(Starlette(routes=build_routes(get_studio)))
