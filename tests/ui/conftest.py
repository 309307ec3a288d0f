"""AppTest fixtures: each test gets its own sandbox, data folder and settings.

AppTest falls back to the real ``.streamlit/secrets.toml`` when its secrets are empty, and the process
keeps one Studio, so every test sets its own environment and secrets and starts from no Studio.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from legnext_core.studio import Studio, current_studio, shutdown_studio

APP = str(Path(__file__).resolve().parents[2] / "app.py")

ENV_NAMES = (
    "LEGNEXT_API_KEY",
    "LEGNEXT_BASE_URL",
    "LEGNEXT_SANDBOX_URL",
    "LEGNEXT_DATA_DIR",
    "LEGNEXT_PUBLIC_URL",
    "LEGNEXT_WEBHOOK_SECRET",
)


@pytest.fixture
def studio_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sandbox) -> Iterator[dict[str, str]]:
    """Sandbox-mode settings pointing at this test's sandbox; yields the environment it set."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    env = {"LEGNEXT_SANDBOX_URL": sandbox.base_url, "LEGNEXT_DATA_DIR": str(tmp_path / "data")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    shutdown_studio()
    yield env
    shutdown_studio()


@pytest.fixture
def app_test(studio_env) -> Callable[..., AppTest]:
    """Make an AppTest of the dashboard opened on one page, with this test's secrets only."""

    def make(
        page: str | None = None,
        *,
        query: dict[str, str] | None = None,
        timeout: float = 20,
        secrets: dict[str, Any] | None = None,
        user: dict[str, Any] | None = None,
    ) -> AppTest:
        """``secrets``: more secrets (``auth`` turns sign-in on); ``user``: what ``st.user`` says."""
        at = AppTest.from_file(APP, default_timeout=timeout)
        # Non-empty secrets keep AppTest from reading the developer's real secrets file.
        at.secrets["LEGNEXT_TEST_RUN"] = "1"
        for name, value in (secrets or {}).items():
            at.secrets[name] = value
        if user is not None:
            at.user = user
        for name, value in (query or {}).items():
            at.query_params[name] = value
        at.run()
        if page is not None:
            at.switch_page(f"pages/{page}.py")
            at.run()
        return at

    return make


@pytest.fixture
def studio(app_test) -> Callable[[], Studio]:
    """The Studio the pages under test use (available after the first AppTest run)."""

    def get() -> Studio:
        current = current_studio()
        assert current is not None, "run an AppTest first: the pages start the Studio"
        return current

    return get
