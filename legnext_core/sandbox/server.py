"""Running the sandbox on a real port: uvicorn on a background thread, for tests and scripts.

with SandboxServer(SandboxConfig(clock=ManualClock())) as sandbox:
    requests.post(sandbox.base_url + "/v1/diffusion", json={"text": "a cat"},
                  headers={"x-api-key": "any-key"})
    sandbox.advance(60)   # the manual clock; due callbacks are queued at once
    sandbox.settle()      # wait until they are delivered
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import requests
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from .app import create_app
from .config import SandboxConfig
from .faults import FaultConfig
from .state import SandboxState


class SandboxServer:
    """The sandbox app served by uvicorn on ``host`` (loopback) and a free port, on a thread."""

    def __init__(
        self, config: SandboxConfig | None = None, *, host: str = "127.0.0.1", port: int = 0, mount: str = ""
    ) -> None:
        """``mount="/sandbox"`` serves the app mounted under that prefix, as the dashboard does."""
        self.config = config or SandboxConfig()
        self.state = SandboxState(self.config)
        self.app: Starlette = create_app(self.config, state=self.state)
        self._mount = mount.rstrip("/")
        if self._mount:
            self.app = Starlette(routes=[Mount(self._mount, app=self.app)])
        self._host = host
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"SandboxServer(root_url={self.root_url if self._server else None!r})"

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the sandbox is not started")
        return self._port

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT`` plus any mount prefix: where ``/media``, ``/_sandbox``, ``/api`` are."""
        return f"http://{self._host}:{self.port}{self._mount}"

    @property
    def base_url(self) -> str:
        """The API base URL a Legnext client is given (``.../api``)."""
        return self.root_url + "/api"

    def start(self, timeout: float = 10.0) -> SandboxServer:
        """Serve, and return once the sandbox answers HTTP."""
        if self._server is not None:
            return self
        # IPPROTO_TCP, not 0: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP,
        # and without it every answer on a kept-alive connection waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            # A "slow" fault holds an answer back; shutting down must not wait for it.
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="sandbox-uvicorn", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._server.started:
                try:
                    requests.get(self.root_url + "/_sandbox/health", timeout=1).raise_for_status()
                    return self
                except requests.RequestException:
                    pass
            if not self._thread.is_alive():
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("the sandbox server did not start")

    def stop(self) -> None:
        """Stop serving and stop the background work (ticker, callback worker)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self.state.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- conveniences for tests ---------------------------------------------------------------

    def advance(self, seconds: float) -> float:
        """Advance the sandbox's ManualClock; jobs that become terminal queue their callbacks at once."""
        return self.state.advance(seconds)

    def settle(self, timeout: float = 10.0) -> bool:
        """Wait until every due callback is delivered (or given up). False on timeout."""
        return self.state.settle(timeout)

    def set_faults(self, config: FaultConfig | None = None, **changes: Any) -> FaultConfig:
        """Change fault injection at run time.

        ``set_faults(FaultConfig.only("drop"))`` replaces the config; ``set_faults(rate=0)`` changes a field.
        """
        return self.state.faults.configure(config, **changes)

    def set_active_tasks(self, enabled: bool) -> None:
        """Serve ``GET /api/account/active_tasks`` or answer it 404 (a server that does not offer it)."""
        self.state.active_tasks_enabled = enabled

    def request_counts(self) -> dict[str, int]:
        """Requests served so far by ``"METHOD /path"``, e.g. ``{"POST /api/v1/video-diffusion": 2}``."""
        return self.state.request_counts()

    def request_count(self, method: str, path_prefix: str) -> int:
        """How many ``method`` requests went to paths starting with ``path_prefix`` (e.g. "/api/v1/job/")."""
        prefix = f"{method.upper()} {path_prefix}"
        return sum(n for key, n in self.request_counts().items() if key.startswith(prefix))

    def jobs(self) -> list[dict[str, Any]]:
        """Every job the sandbox made (as ``GET /_sandbox/jobs`` lists them)."""
        return self.state.inspect_jobs()
