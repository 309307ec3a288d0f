"""A page of another origin, open in the same browser, cannot drive the embedded sandbox's control routes:
its "simple" no-cors POST (no preflight) is refused and changes nothing."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest
import requests

ATTACK = """<!doctype html><title>another site</title><script>
window.attempts = Promise.all([
  fetch(%(faults)r, {method: "POST", mode: "no-cors", body: JSON.stringify({rate: 1.0, kinds: ["500"]})}),
  fetch(%(faults)r, {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"},
                     body: JSON.stringify({rate: 1.0, kinds: ["500"]})}),
  fetch(%(clock)r, {method: "POST", mode: "no-cors", body: JSON.stringify({advance: 600})}),
]).then(() => "sent", (error) => "failed: " + error);
</script>"""


@pytest.fixture
def other_site(dashboard) -> Iterator[str]:
    page = (ATTACK % {
        "faults": f"{dashboard.url}/sandbox/_sandbox/faults",
        "clock": f"{dashboard.url}/sandbox/_sandbox/clock",
    }).encode()  # fmt: skip

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        # localhost, not 127.0.0.1: another origin and another site than the dashboard's.
        yield f"http://localhost:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_a_no_cors_post_from_another_site_changes_nothing(dashboard, other_site, page) -> None:
    faults = f"{dashboard.url}/sandbox/_sandbox/faults"
    before = requests.get(faults, timeout=10).json()
    answers: list[int] = []

    def keep(response) -> None:
        if "_sandbox" in response.url:
            answers.append(response.status)

    page.on("response", keep)
    page.goto(other_site)
    assert page.evaluate("window.attempts") == "sent", "the browser did send the requests"
    page.wait_for_timeout(300)
    assert answers and all(status == 403 for status in answers), answers
    assert requests.get(faults, timeout=10).json() == before


@pytest.mark.parametrize(
    "path",
    ["/", "/history", "/healthz", "/sandbox/_sandbox/jobs", "/sandbox/media/x", f"/uploads/{'0' * 64}.png"],
)
def test_a_rebound_host_name_gets_nothing_from_any_route(dashboard, path: str) -> None:
    # A page whose own name was pointed at 127.0.0.1 (DNS rebinding) sends that name as the Host.
    rebound = requests.get(dashboard.url + path, headers={"Host": "attacker.example"}, timeout=10)
    assert rebound.status_code == 400
    assert requests.get(dashboard.url + path, headers={"Host": "localhost"}, timeout=10).status_code != 400


def test_the_websocket_refuses_a_rebound_host_name(dashboard) -> None:
    import websockets.sync.client as ws_client

    url = dashboard.url.replace("http://", "ws://") + "/_stcore/stream"
    with pytest.raises(Exception, match="403|rejected|400"):
        ws_client.connect(url, additional_headers={"Host": "attacker.example"}, open_timeout=10).close()
    # The same connection under the dashboard's own name opens.
    ws_client.connect(url, open_timeout=10).close()
