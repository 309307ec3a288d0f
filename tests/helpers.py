"""Small helpers several test modules share: waiting for a condition, a clock that ticks per call, an
ASGI app asked for a status as if from any client address."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Any


def eventually(condition: Callable[[], bool], timeout: float = 10.0, *, interval: float = 0.05) -> bool:
    """Whether ``condition()`` holds within ``timeout`` seconds (asked every ``interval``, then once more)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


class TickingClock:
    """A clock for a ``JobStore`` that moves one second forward each time it is read, so every write
    gets a time of its own and "newest first" is the order of writing."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 1
        return self.now


def asgi_get_status(
    app: Any,
    path: str,
    client: tuple[str, int],
    headers: Iterable[tuple[bytes, bytes]] = (),
    *,
    host: str = "127.0.0.1",
) -> int:
    """The status ``app`` answers a GET of ``path`` with, driven directly as ASGI: the only way to present
    a client address other than loopback without a network of one's own."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
        "headers": [(b"host", host.encode()), *headers], "client": client, "server": ("127.0.0.1", 80),
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))
    return next(m["status"] for m in sent if m["type"] == "http.response.start")
