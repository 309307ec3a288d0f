"""A Host header allow-list for every HTTP request the dashboard's server answers.

Streamlit checks ``server.allowedHosts`` on its WebSocket only. A page on another site whose name has
been pointed at 127.0.0.1 (DNS rebinding) is same-origin with the dashboard as far as the browser is
concerned, and could still read the server routes and drive the sandbox's. Its requests carry the
attacker's host name, so refusing unknown Host headers on every request closes that door.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send


def host_name(header: str | None) -> str | None:
    """The lower-case host name of a Host header (port dropped), or None when it is not a plain host."""
    if not header:
        return None
    try:
        parts = urlsplit(f"//{header}")
        _ = parts.port  # a port that is not a number makes the header invalid
    except ValueError:
        return None
    if parts.hostname is None or parts.username or parts.password or parts.path or parts.query:
        return None
    return parts.hostname.lower().rstrip(".")


#: Names that mean this machine without asking DNS.
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def is_loopback_host(host: str) -> bool:
    """Whether a host (a name, an IP address, an IPv6 address in brackets) is this machine."""
    host = host.strip().strip("[]").lower().rstrip(".")
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_allowed(header: str | None, patterns: Iterable[str]) -> bool:
    """Whether a Host header names an allowed host; patterns as Streamlit's: names, ``*.domain``, ``*``."""
    patterns = [p.strip().lower().rstrip(".") for p in patterns if p.strip()]
    if not patterns or "*" in patterns:
        return True
    name = host_name(header)
    if name is None:
        return False
    for pattern in patterns:
        if pattern.startswith("*.") and name.endswith(pattern[1:]):
            return True
        if name == pattern.strip("[]"):
            return True
    return False


class AllowedHostsMiddleware:
    """Answers 400 to an HTTP or WebSocket request whose Host header is not allowed."""

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str]) -> None:
        self.app = app
        self.allowed_hosts = tuple(allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"host"), None)
            if not host_allowed(host, self.allowed_hosts):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                await PlainTextResponse(
                    "This host name is not served here (server.allowedHosts).", status_code=400
                )(scope, receive, send)
                return
        await self.app(scope, receive, send)
