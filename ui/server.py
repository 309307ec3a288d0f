"""The server side of app.py: routes and lifespan for ``st.App``.

Runs once per server process, when ``streamlit run`` imports app.py to serve it with uvicorn.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.routing import BaseRoute, Mount
from streamlit import config

from legnext_core.sandbox import SandboxConfig, create_app
from legnext_core.server import build_routes
from legnext_core.settings import SANDBOX_MOUNT_PATH, Settings, load_settings, read_secrets_file
from legnext_core.studio import current_studio, get_studio, shutdown_studio

SECRETS_FILE = Path(__file__).resolve().parent.parent / ".streamlit" / "secrets.toml"


def server_settings() -> Settings:
    """Settings as the server side sees them: environment, then ``.streamlit/secrets.toml``."""
    return load_settings(
        os.environ, read_secrets_file(SECRETS_FILE), server_port=int(config.get_option("server.port"))
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
            )
        )
        routes.append(Mount(SANDBOX_MOUNT_PATH, app=sandbox))

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        # A mounted app's own lifespan is not run by Starlette, so the sandbox's is entered here.
        if sandbox is not None:
            async with sandbox.router.lifespan_context(sandbox):
                get_studio(lambda: settings)
                try:
                    yield
                finally:
                    shutdown_studio()
        else:
            get_studio(lambda: settings)
            try:
                yield
            finally:
                shutdown_studio()

    return {"routes": routes, "lifespan": lifespan}
