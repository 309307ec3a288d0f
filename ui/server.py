"""The server side of app.py: routes and lifespan for ``st.App``.

Runs once per server process, when ``streamlit run`` imports app.py to serve it with uvicorn.
"""

from __future__ import annotations

import gc
import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import streamlit as st
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from streamlit import config
from streamlit.runtime.pages_manager import PagesManager
from streamlit.user_info import AUTH_LOGIN_ENDPOINT, AUTH_LOGOUT_ENDPOINT

from legnext_core.hosts import AllowedHostsMiddleware, host_name
from legnext_core.sandbox import SandboxConfig, create_app
from legnext_core.server import build_routes
from legnext_core.settings import SANDBOX_MOUNT_PATH, Settings, load_settings, read_secrets_files
from legnext_core.sign_in_return import ReturnAfterSignIn
from legnext_core.studio import current_studio, get_studio, shutdown_studio

SECRETS_FILE = Path(__file__).resolve().parent.parent / ".streamlit" / "secrets.toml"

log = logging.getLogger(__name__)


def disable_nagle_on_listener(port: int) -> int:
    """Set TCP_NODELAY on this process's listening sockets on ``port``; returns how many were set.

    Streamlit 1.67 binds its server socket with ``proto=0``, and asyncio only sets TCP_NODELAY on
    accepted sockets whose proto is IPPROTO_TCP. Without it, uvicorn's separate header and body writes
    meet the client's delayed ACK and every answer on a kept-alive connection waits about 40 ms (the
    sandbox's, the webhook's, Streamlit's own). Linux copies the option from the listener to every
    connection it accepts, and the runner offers no hook to the socket, hence the search (through the
    garbage collector's objects; tests/test_private_hooks.py fails, naming it, when it stops working).
    """
    count = 0
    for candidate in gc.get_objects():
        if not isinstance(candidate, socket.socket) or candidate.fileno() < 0:
            continue
        try:
            if candidate.type != socket.SOCK_STREAM:
                continue
            if candidate.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            if not candidate.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
                continue
            if candidate.getsockname()[1] != port:
                continue
            candidate.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            count += 1
        except OSError:
            continue
    return count


def leave_pages_directory_mode() -> None:
    """Tell Streamlit the app navigates with ``st.navigation``, before any script has run.

    Streamlit treats a folder named pages/ (the product's layout) as the old automatic multipage app
    until some script has called st.navigation. On a fresh server the first visitor arriving on a deep
    link (/history, /job?job=...) would get pages/history.py run on its own, with no navigation and no
    sidebar. There is no public switch: this sets the private flag st.navigation itself clears, and
    tests/test_private_hooks.py fails, naming it, when Streamlit changes it.
    """
    PagesManager.uses_pages_directory = False


def secrets_files() -> list[Path]:
    """The secrets files the pages see: ``secrets.files`` when it is set, else ``.streamlit/secrets.toml``."""
    if config.is_manually_set("secrets.files"):
        return [Path(f) for f in config.get_option("secrets.files") or () if str(f).endswith(".toml")]
    return [SECRETS_FILE]


def server_settings() -> Settings:
    """Settings as the server side sees them: environment, then the secrets files."""
    return load_settings(
        os.environ,
        read_secrets_files(secrets_files()),
        server_port=int(config.get_option("server.port")),
        server_address=config.get_option("server.address"),
    )


def allowed_hosts(settings: Settings) -> list[str]:
    """``server.allowedHosts``, plus the host of LEGNEXT_PUBLIC_URL (Legnext's webhooks arrive there)."""
    hosts = [str(h) for h in config.get_option("server.allowedHosts") or ()]
    public = host_name(urlsplit(settings.public_url).netloc) if settings.public_url else None
    if hosts and public and public not in hosts:
        hosts.append(public)
    return hosts


def show_script_error(exc: BaseException) -> bool:
    """What a visitor sees when a page fails unexpectedly: no traceback, and what to do."""
    log.error("A page failed", exc_info=exc)
    st.error(
        "Something went wrong on this page. Every job is safe in the job log: reload the page to try again.",
        icon=":material/error:",
    )
    return True  # the default error display is replaced, not added to


#: Where ``st.login``'s provider sends the browser back (the ``redirect_uri`` Streamlit documents).
OAUTH_CALLBACK_ENDPOINT = "/oauth2callback"


def return_after_sign_in() -> Middleware:
    """Lands the browser, once signed in, on the page it asked for (see legnext_core.sign_in_return).

    Streamlit's own sign-in paths, under the server's base URL path: the login path is the one
    ``st.login`` navigates to (``streamlit.user_info.AUTH_LOGIN_ENDPOINT``), which
    tests/test_private_hooks.py checks, as Streamlit does not document it.
    """
    base = str(config.get_option("server.baseUrlPath") or "").strip("/")
    prefix = f"/{base}" if base else ""
    return Middleware(
        ReturnAfterSignIn,
        login_path=prefix + AUTH_LOGIN_ENDPOINT,
        callback_path=prefix + OAUTH_CALLBACK_ENDPOINT,
        logout_path=prefix + AUTH_LOGOUT_ENDPOINT,
    )


def build_server() -> dict[str, Any]:
    """Keyword arguments for ``st.App``: the extra routes and the lifespan."""
    settings = server_settings()
    routes: list[BaseRoute] = list(build_routes(current_studio))
    sandbox = None
    if settings.is_sandbox and settings.sandbox_embedded:
        # No key: the sandbox answers under /sandbox on this same server, so the demo needs no
        # second command, and the client still reaches it over real HTTP.
        sandbox = create_app(
            SandboxConfig(
                state_path=settings.sandbox_state_path,
                time_scale=settings.sandbox_time_scale,
                failure_rate=settings.sandbox_failure_rate,
                webhook_secret=settings.webhook_secret,
                seed=None,
                # Only the dashboard's own client talks to its sandbox; other machines see its pages.
                api_loopback_only=True,
            )
        )
        routes.append(Mount(SANDBOX_MOUNT_PATH, app=sandbox))

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        leave_pages_directory_mode()
        if not disable_nagle_on_listener(int(config.get_option("server.port"))):
            log.info("No listening socket found to set TCP_NODELAY on; answers may be ~40 ms slower.")
        get_studio(lambda: settings)
        try:
            yield
        finally:
            shutdown_studio()
            # A mounted app gets no lifespan events of its own: its ticker and callback
            # worker are stopped here.
            if sandbox is not None:
                sandbox.state.sandbox.close()

    return {
        "routes": routes,
        "lifespan": lifespan,
        "on_script_error": show_script_error,
        "middleware": [
            Middleware(AllowedHostsMiddleware, allowed_hosts=allowed_hosts(settings)),
            return_after_sign_in(),
        ],
    }
