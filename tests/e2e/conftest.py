"""Browser tests: the real dashboard (`streamlit run app.py`, no key, so the embedded sandbox) driven by
Playwright in Debian's Chromium. The browser is never downloaded: where /usr/bin/chromium is missing the
tests skip with the apt line to install it, except in CI (LEGNEXT_REQUIRE_BROWSER=1) where they fail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("LEGNEXT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
#: Sandbox jobs run this many times faster than the demo speed (a video takes about 2-3 s).
E2E_TIME_SCALE = "10"


def _browser_missing_reason() -> str | None:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM}: install it with `sudo apt-get install -y chromium`"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed: pip install -r requirements-dev.txt"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _browser_missing_reason()
    for item in items:
        if "e2e" not in item.nodeid.split("/"):
            continue
        item.add_marker(pytest.mark.e2e)
        if reason is None:
            continue
        if os.environ.get("LEGNEXT_REQUIRE_BROWSER") == "1":
            item.add_marker(pytest.mark.xfail(reason=reason, run=False, strict=True))
            raise pytest.UsageError(f"Browser tests are required here but cannot run: {reason}")
        item.add_marker(pytest.mark.skip(reason=reason))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Dashboard:
    """A running `streamlit run app.py` in sandbox mode."""

    def __init__(self, url: str, data_dir: Path, process: subprocess.Popen, log_path: Path) -> None:
        self.url = url
        self.data_dir = data_dir
        self.process = process
        self.log_path = log_path

    def page_url(self, path: str = "") -> str:
        return f"{self.url}/{path.lstrip('/')}"


@contextlib.contextmanager
def running_dashboard(
    data_dir: Path, *, args: tuple[str, ...] = (), port: int | None = None, **extra_env: str
) -> Iterator[Dashboard]:
    """`streamlit run app.py` on a free loopback port, with no key (so the embedded sandbox).

    ``args`` are more command-line options (``--secrets.files ...``); ``port`` a port chosen beforehand.
    """
    port = port or _free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "streamlit.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEGNEXT_")}
    env.update(
        {
            "LEGNEXT_DATA_DIR": str(data_dir),
            "LEGNEXT_SANDBOX_TIME_SCALE": E2E_TIME_SCALE,
            "LEGNEXT_SANDBOX_FAILURE_RATE": "0",
            "PYTHONUNBUFFERED": "1",
            **extra_env,
        }
    )
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                *args,
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process, log_path)
        yield Dashboard(url, data_dir, process, log_path)
    finally:
        stop_process(process)


def wait_until_serving(url: str, process: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    """Wait for the dashboard at ``url`` to answer its health check; fail with the end of its log if its
    ``process`` exits or ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(f"{url}/healthz", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the dashboard did not start:\n{log_path.read_text(errors='replace')[-4000:]}")
        time.sleep(0.3)


def stop_process(process: subprocess.Popen) -> None:
    """Ask ``process`` to stop; kill it if it has not within 15 seconds."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


#: How long a browser action or assertion waits for the page.
PAGE_TIMEOUT_MS = 20_000


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[Dashboard]:
    """A dashboard of this test's own, on its own data folder: no test sees another's jobs, so the
    browser tests pass in any order (CI runs them shuffled)."""
    with running_dashboard(tmp_path / "dashboard-data") as running:
        yield running


# Module scope, not session: Playwright's sync API holds an asyncio loop in the main thread while it
# runs, and tests outside tests/e2e that run asyncio themselves must not find it there.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import expect, sync_playwright

    # Assertions wait as long as actions do (the pages' 20 s): on a 2-core machine running the whole
    # suite, a dashboard can take more than expect()'s default 5 s to draw what it will draw. Waiting
    # longer changes no condition, only how long a slow but correct page is given.
    expect.set_options(timeout=PAGE_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    try:
        yield page
    finally:
        context.close()
