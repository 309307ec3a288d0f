"""Fixtures shared by the whole suite: a Legnext sandbox on a real loopback port, on a manual clock.

- ``manual_clock``: a :class:`ManualClock`; ``manual_clock.advance(seconds)`` moves the sandbox's jobs
  on (and queues the callbacks of jobs that finish).
- ``sandbox``: a started :class:`SandboxServer` on ``manual_clock``, failure rate 0, faults off, state
  in ``tmp_path``. ``sandbox.base_url`` is the API base URL (``.../api``); ``sandbox.advance(s)``,
  ``sandbox.settle()``, ``sandbox.set_faults(...)``, ``sandbox.request_counts()``, ``sandbox.jobs()``.
- ``sandbox_config_factory``: ``make(**overrides) -> SandboxConfig`` with the same test defaults.
- ``start_sandbox``: ``start_sandbox(**overrides) -> SandboxServer``, started and stopped for you.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from legnext_core.sandbox import FaultConfig, ManualClock, SandboxConfig, SandboxServer

#: Any non-empty key is accepted by a test sandbox; this one reads well in failures.
SANDBOX_TEST_KEY = "test-key-sandbox"

pytest_plugins = ["tests.pg_fixtures"]  # postgres_cluster, postgres_url: a throw-away PostgreSQL


@pytest.fixture
def manual_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sandbox_config_factory(tmp_path: Path, manual_clock: ManualClock) -> Callable[..., SandboxConfig]:
    def make(**overrides: Any) -> SandboxConfig:
        values: dict[str, Any] = {
            "state_path": tmp_path / "sandbox-state.json",
            "clock": manual_clock,
            "failure_rate": 0.0,
            "faults": FaultConfig(),
            "seed": 1234,
            "callback_retry_delays": (0.05, 0.1, 0.2),
            "callback_timeout": 2.0,
        }
        values.update(overrides)
        return SandboxConfig(**values)

    return make


@pytest.fixture
def start_sandbox(
    sandbox_config_factory: Callable[..., SandboxConfig],
) -> Iterator[Callable[..., SandboxServer]]:
    started: list[SandboxServer] = []

    def start(**overrides: Any) -> SandboxServer:
        server = SandboxServer(sandbox_config_factory(**overrides)).start()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture
def sandbox(start_sandbox: Callable[..., SandboxServer]) -> SandboxServer:
    return start_sandbox()
