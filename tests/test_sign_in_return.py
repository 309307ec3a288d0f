"""Signing in lands on the page it started from: the middleware over real HTTP, and its path checks.

A stand-in for Streamlit's two sign-in routes (the login route sends the browser to the provider, the
callback redirects to the root) is served by uvicorn behind the middleware; requests plays the browser,
with the Referer a same-tab navigation carries. The whole flow with Streamlit and a real provider is in
tests/e2e/test_sign_in.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import RedirectResponse
from starlette.routing import Route

from legnext_core.sign_in_return import (
    COOKIE_NAME,
    ReturnAfterSignIn,
    return_path_from_referer,
    safe_return_path,
)
from tests.loopback_server import LoopbackServer

PROVIDER = "http://127.0.0.1:9/authorize"


async def _login(request):
    return RedirectResponse(PROVIDER, status_code=302)


async def _callback(request):
    return RedirectResponse("/", status_code=302)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    app = Starlette(
        routes=[Route("/auth/login", _login), Route("/oauth2callback", _callback)],
        middleware=[
            Middleware(
                ReturnAfterSignIn,
                login_path="/auth/login",
                callback_path="/oauth2callback",
                logout_path="/auth/logout",
            )
        ],
    )
    running = LoopbackServer(app)
    yield running
    running.stop()


def _sign_in(server: LoopbackServer, referer: str | None) -> requests.Response:
    browser = requests.Session()
    headers = {"Referer": referer} if referer else {}
    started = browser.get(server.url + "/auth/login", headers=headers, allow_redirects=False, timeout=5)
    assert started.status_code == 302 and started.headers["location"] == PROVIDER
    return browser.get(server.url + "/oauth2callback?code=x&state=y", allow_redirects=False, timeout=5)


def test_the_callback_lands_on_the_page_the_sign_in_started_from(server):
    landed = _sign_in(server, server.url + "/job?job=0b1c&variant=2")
    assert landed.status_code == 302
    assert landed.headers["location"] == "/job?job=0b1c&variant=2"
    # Used once: the cookie is cleared with the landing.
    assert f"{COOKIE_NAME}=;" in landed.headers["set-cookie"] and "Max-Age=0" in landed.headers["set-cookie"]


@pytest.mark.parametrize(
    "referer",
    [None, "http://evil.example/job?job=1", "http://127.0.0.1:1/job?job=1", "{url}/", "{url}/auth/login"],
)
def test_without_a_page_of_this_host_the_callback_lands_on_the_root(server, referer):
    landed = _sign_in(server, referer.format(url=server.url) if referer else None)
    assert landed.headers["location"] == "/"


def test_a_forged_cookie_never_sends_the_browser_elsewhere(server):
    browser = requests.Session()
    browser.cookies.set(COOKIE_NAME, "%2F%2Fevil.example%2Fphish")
    landed = browser.get(server.url + "/oauth2callback", allow_redirects=False, timeout=5)
    assert landed.headers["location"] == "/"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/job?job=1", "/job?job=1"),
        ("/extend?job=1&variant=0", "/extend?job=1&variant=0"),
        ("//evil.example/x", None),
        ("/\\evil.example", None),
        ("https://evil.example/", None),
        ("job?job=1", None),
        ("/job?job=1\r\nSet-Cookie: x=1", None),
        ("/jöb", None),
        ("", None),
        (None, None),
    ],
)
def test_only_a_path_on_this_host_is_a_return_path(value, expected):
    assert safe_return_path(value) == expected


def test_the_referer_must_be_this_host():
    skip = frozenset({"/auth/login"})
    assert return_path_from_referer("http://Dash:8501/job?job=1", "dash:8501", skip) == "/job?job=1"
    assert return_path_from_referer("http://other:8501/job?job=1", "dash:8501", skip) is None
    assert return_path_from_referer("javascript:alert(1)", "dash:8501", skip) is None
    assert return_path_from_referer("http://dash:8501/auth/login", "dash:8501", skip) is None
