"""Closing a client's connection without any HTTP answer, from inside an ASGI app.

ASGI has no "hang up" message: an app that raises or returns without answering gets a 500 from
uvicorn (or from Starlette's error middleware). To let a client see a true dropped connection (a
connection error with no status), the sandbox finds uvicorn's per-request cycle object, which owns
the socket's transport, by following the ``send`` callable it was given through the wrappers around
it (bound methods and closures), closes the transport, and waits until uvicorn has noticed the
disconnect, so that uvicorn sends nothing afterwards either.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

_MAX_DEPTH = 8
_MAX_VISITS = 400


class ConnectionDropUnsupported(RuntimeError):
    """The server running the app does not expose a transport the sandbox can close."""


def _find_cycle(send: Callable[..., Any]) -> Any | None:
    """The object holding the connection's transport (uvicorn's RequestResponseCycle), if found."""
    seen: set[int] = set()
    frontier: list[Any] = [send]
    for _depth in range(_MAX_DEPTH):
        following: list[Any] = []
        for obj in frontier:
            if id(obj) in seen or len(seen) > _MAX_VISITS:
                continue
            seen.add(id(obj))
            transport = getattr(obj, "transport", None)
            if isinstance(transport, asyncio.BaseTransport):
                return obj
            if hasattr(obj, "__self__"):
                following.append(obj.__self__)
            if isinstance(obj, functools.partial):
                following.append(obj.func)
                following.extend(obj.args)
            closure = getattr(obj, "__closure__", None)
            if closure:
                for cell in closure:
                    try:
                        following.append(cell.cell_contents)
                    except ValueError:
                        continue
            if not hasattr(obj, "__code__"):
                # A class-based wrapper (middleware responder) keeps the inner send as an attribute.
                following.extend(v for v in getattr(obj, "__dict__", {}).values() if callable(v))
        frontier = following
    return None


async def drop_connection(send: Callable[..., Any]) -> None:
    """Close the connection behind ``send`` with no answer; raises when that is not possible."""
    cycle = _find_cycle(send)
    if cycle is None:
        raise ConnectionDropUnsupported("cannot reach the connection's transport to drop it")
    cycle.transport.close()
    # uvicorn marks the cycle disconnected in connection_lost (scheduled by close); until then it
    # would still answer 500 for an app that returned without a response.
    for _ in range(200):
        if getattr(cycle, "disconnected", True):
            return
        await asyncio.sleep(0.005)
