"""A live dashboard told to listen on every interface, with nobody signing in, reached from another address
than loopback, makes no job: every making page shows the setup message, and the API gets no POST.

The other address is our own: the test makes a network namespace joined to this one by a veth pair
(10.x.y.1 here, 10.x.y.2 inside), runs the dashboard and a sandbox standing in for the live API inside it,
and drives Chromium from here, so the dashboard sees a client that is not loopback. Nothing outside
loopback and that pair is ever addressed. It needs root (``ip netns``); without it the test skips.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import ROOT, stop_process, wait_until_serving

SETUP_MESSAGE = "Making jobs is switched off"


@dataclass
class Namespace:
    name: str
    host_address: str  # this side of the veth pair
    inner_address: str  # the namespace's side

    def run(self, *command: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", self.name, *command], check=True, **kwargs)

    def popen(self, command: list[str], **kwargs) -> subprocess.Popen:
        return subprocess.Popen(["ip", "netns", "exec", self.name, *command], **kwargs)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def namespace() -> Iterator[Namespace]:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 (ip netns) to make a non-loopback address of our own")
    tag = f"{os.getpid() % 10000:04d}{random.randrange(100):02d}"
    name, host_end, inner_end = f"lvs-{tag}", f"lvh{tag}", f"lvn{tag}"
    octets = f"10.{random.randrange(200, 254)}.{random.randrange(0, 255)}"
    ns = Namespace(name, f"{octets}.1", f"{octets}.2")
    try:
        _ip("netns", "add", name)
        _ip("link", "add", host_end, "type", "veth", "peer", "name", inner_end)
        _ip("link", "set", inner_end, "netns", name)
        _ip("addr", "add", f"{ns.host_address}/30", "dev", host_end)
        _ip("link", "set", host_end, "up")
        _ip("netns", "exec", name, "ip", "addr", "add", f"{ns.inner_address}/30", "dev", inner_end)
        _ip("netns", "exec", name, "ip", "link", "set", inner_end, "up")
        _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
    except subprocess.CalledProcessError as exc:
        subprocess.run(["ip", "link", "del", host_end], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
        pytest.skip(f"cannot make a network namespace here: {exc.stderr.decode(errors='replace').strip()}")
    try:
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
        subprocess.run(["ip", "link", "del", host_end], capture_output=True)


@dataclass
class Exposed:
    url: str
    namespace: Namespace
    api_port: int

    def api_requests(self) -> dict[str, int]:
        """The live API's own count of the requests it got (asked from inside the namespace)."""
        script = (
            "import json, urllib.request; print(urllib.request.urlopen("
            f"'http://127.0.0.1:{self.api_port}/_sandbox/requests', timeout=10).read().decode())"
        )
        out = self.namespace.run(sys.executable, "-c", script, capture_output=True).stdout
        return json.loads(out)["counts"]


@pytest.fixture(scope="module")
def exposed(namespace: Namespace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exposed]:
    data_dir: Path = tmp_path_factory.mktemp("exposed-live")
    # Inside a namespace of our own, every port is free.
    api_port, port = 18765, 18501
    log = (data_dir / "processes.log").open("wb")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEGNEXT_")}
    api = namespace.popen(
        [sys.executable, "-m", "legnext_core.sandbox", "--port", str(api_port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    env.update(
        LEGNEXT_API_KEY="a-live-key-for-this-test",
        LEGNEXT_BASE_URL=f"http://127.0.0.1:{api_port}/api",
        LEGNEXT_DATA_DIR=str(data_dir),
        PYTHONUNBUFFERED="1",
    )
    dashboard = namespace.popen(
        [
            sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
            # What an operator serving the team does first: listen everywhere, answer to the address.
            "--server.address", "0.0.0.0", "--server.allowedHosts", namespace.inner_address,
            "--server.headless", "true",
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://{namespace.inner_address}:{port}"
    try:
        wait_until_serving(url, dashboard, data_dir / "processes.log")
        yield Exposed(url, namespace, api_port)
    finally:
        stop_process(dashboard)
        stop_process(api)
        log.close()


def test_a_live_dashboard_open_to_the_network_without_sign_in_sends_no_post(exposed: Exposed, page) -> None:
    for path in ("create", "extend", "upscale", "create?mode=batch"):
        page.goto(f"{exposed.url}/{path}")
        page.get_by_text(SETUP_MESSAGE).wait_for()
        assert page.get_by_role("button", name="Create video").count() == 0, path
    # The dashboard is live and does reach its API (the sidebar reads the balance)...
    page.get_by_text("Balance").first.wait_for()
    counts = exposed.api_requests()
    assert any(key.startswith("GET /api/account/balance") for key in counts)
    # ...but sent it nothing that could cost money.
    assert not [key for key in counts if key.startswith("POST ")], counts


def test_the_host_allow_list_refuses_another_name_for_the_same_server(exposed: Exposed) -> None:
    # A rebinding page's requests carry its own host name: refused on every route.
    answer = requests.get(f"{exposed.url}/healthz", headers={"Host": "attacker.example"}, timeout=5)
    assert answer.status_code == 400
    assert requests.get(f"{exposed.url}/healthz", timeout=5).status_code == 200
