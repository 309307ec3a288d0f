"""After signing in, the browser lands on the page it asked for (``/job?job=...``), not on the home page.

Streamlit 1.67's ``st.login`` takes no destination: its sign-in route sends the browser to the provider,
and its callback (``/oauth2callback``) always redirects to the app's root. What it does offer in public
is ``st.App(middleware=...)``, which sees every request before Streamlit's own routes. This middleware
uses it at both ends of the sign-in:

- on the request that starts a sign-in (``st.login`` navigates the same tab there, so its ``Referer`` is
  the page that drew the sign-in screen), it keeps that page's path and query in a short-lived cookie,
  but only when the ``Referer`` is this same host;
- on the callback, when the cookie is present, the redirect to the root goes to that path instead, and
  the cookie is cleared. A failed sign-in lands there too, which shows the sign-in screen again.

Nothing here can send the browser elsewhere: only a path on this host (``/`` followed by anything but
``/`` or ``\\``), checked again when it is read back, is ever used. No streamlit import (the paths are
given by the server that mounts it).
"""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from urllib.parse import quote, unquote, urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE_NAME = "legnext_return_to"
#: How long a sign-in may take before the page it started from is forgotten (seconds).
COOKIE_MAX_AGE = 900


def safe_return_path(value: str | None) -> str | None:
    """``value`` if it is a path on this host (with its query), else None."""
    if not value or not value.isascii() or not value.startswith("/") or value.startswith(("//", "/\\")):
        return None
    if any(ord(ch) < 32 or ord(ch) == 127 or ch == "\\" for ch in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def return_path_from_referer(referer: str | None, host: str | None, skip: frozenset[str]) -> str | None:
    """The page a sign-in started from: the ``Referer``'s path and query, when it is this host's.

    ``skip`` holds paths never worth returning to (the sign-in routes themselves); the root needs no
    cookie, as the callback lands there anyway.
    """
    if not referer or not host:
        return None
    parts = urlsplit(referer)
    if parts.scheme not in ("http", "https") or parts.netloc.lower() != host.lower():
        return None
    path = parts.path or "/"
    if path in skip or (path.rstrip("/") == "" and not parts.query):
        return None
    return safe_return_path(path + (f"?{parts.query}" if parts.query else ""))


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return None
    morsel = jar.get(name)
    return unquote(morsel.value) if morsel is not None else None


class ReturnAfterSignIn:
    """ASGI middleware: remembers the page a sign-in started from and lands the browser there after it."""

    def __init__(self, app: ASGIApp, *, login_path: str, callback_path: str, logout_path: str) -> None:
        self.app = app
        self.login_path = login_path
        self.callback_path = callback_path
        self.skip = frozenset({login_path, callback_path, logout_path})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in (self.login_path, self.callback_path):
            await self.app(scope, receive, send)
            return
        secure = scope.get("scheme") == "https"
        if scope["path"] == self.login_path:
            target = return_path_from_referer(_header(scope, b"referer"), _header(scope, b"host"), self.skip)
            cookie = _set_cookie(quote(target, safe=""), COOKIE_MAX_AGE, secure) if target else None
            await self.app(scope, receive, _with_headers(send, cookie, None))
            return
        target = safe_return_path(_cookie(scope, COOKIE_NAME))
        if target is None:
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _with_headers(send, _set_cookie("", 0, secure), target))


def _set_cookie(value: str, max_age: int, secure: bool) -> bytes:
    text = f"{COOKIE_NAME}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Lax"
    return (text + ("; Secure" if secure else "")).encode("latin-1")


def _with_headers(send: Send, cookie: bytes | None, location: str | None) -> Send:
    """``send`` that adds ``cookie`` to the answer and, for a redirect, points it at ``location``."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            if location is not None and 300 <= message["status"] < 400:
                headers = [(k, v) for k, v in headers if k.lower() != b"location"]
                headers.append((b"location", location.encode("latin-1")))
            if cookie is not None:
                headers.append((b"set-cookie", cookie))
            message = {**message, "headers": headers}
        await send(message)

    return sending
