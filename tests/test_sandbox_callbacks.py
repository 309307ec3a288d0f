"""Callbacks: delivered at terminal status without any poll, wrapped, signed, retried on failure."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from legnext_core.sandbox import RealClock

KEY = "test-key-sandbox"
SECRET = "whsec-test-only"


class Receiver:
    """A loopback HTTP server that records each delivery and answers with the next scripted status."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.statuses = list(statuses or [])
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.deliveries.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/legnext"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def submit(sandbox, callback: str, path: str = "/v1/video-diffusion", body: dict | None = None) -> str:
    payload = dict(body or {"prompt": "a river"}, callback=callback)
    response = requests.post(sandbox.base_url + path, json=payload, headers={"x-api-key": KEY}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["job_id"]


def test_callback_is_sent_once_at_completion_in_wrapped_form(sandbox, receiver: Receiver) -> None:
    job_id = submit(sandbox, receiver.url)
    sandbox.advance(10)
    assert sandbox.settle()
    assert receiver.deliveries == []
    sandbox.advance(50)
    assert sandbox.settle()
    assert len(receiver.deliveries) == 1
    headers, body = receiver.deliveries[0]
    payload = json.loads(body)
    assert set(payload) == {"timestamp", "data"}
    assert isinstance(payload["timestamp"], int) and abs(payload["timestamp"] - time.time()) < 60
    job = payload["data"]
    assert job["job_id"] == job_id and job["status"] == "completed"
    assert len(job["output"]["video_urls"]) == 4
    assert job["config"]["webhook_config"]["endpoint"] == receiver.url
    assert headers["Content-Type"] == "application/json"
    assert "X-Legnext-Signature" not in headers
    sandbox.advance(60)
    assert sandbox.settle()
    assert len(receiver.deliveries) == 1
    # Polling the finished job does not send it again.
    requests.get(f"{sandbox.base_url}/v1/job/{job_id}", headers={"x-api-key": KEY}, timeout=10)
    assert sandbox.settle() and len(receiver.deliveries) == 1


def test_failed_job_is_delivered_too(start_sandbox, receiver: Receiver) -> None:
    sandbox = start_sandbox(failure_rate=1.0)
    submit(sandbox, receiver.url, "/v1/diffusion", {"text": "a cat"})
    sandbox.advance(10)
    assert sandbox.settle()
    job = json.loads(receiver.deliveries[0][1])["data"]
    assert job["status"] == "failed" and job["error"]["code"] != 0


def test_signed_callback_carries_timestamp_and_hmac_of_timestamp_dot_body(start_sandbox, receiver) -> None:
    sandbox = start_sandbox(webhook_secret=SECRET)
    submit(sandbox, receiver.url, "/v1/diffusion", {"text": "a cat"})
    sandbox.advance(10)
    assert sandbox.settle()
    headers, body = receiver.deliveries[0]
    timestamp = headers["X-Legnext-Timestamp"]
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert headers["X-Legnext-Signature"] == expected
    assert json.loads(body)["timestamp"] == int(timestamp)
    assert SECRET not in body.decode()
    assert json.loads(body)["data"]["config"]["webhook_config"]["secret"] == ""


def test_failed_delivery_is_retried_until_it_succeeds(start_sandbox) -> None:
    receiver = Receiver(statuses=[500, 503])
    try:
        sandbox = start_sandbox()
        job_id = submit(sandbox, receiver.url, "/v1/diffusion", {"text": "a cat"})
        sandbox.advance(10)
        assert sandbox.settle()
        assert len(receiver.deliveries) == 3
        assert {json.loads(body)["data"]["job_id"] for _, body in receiver.deliveries} == {job_id}
        attempts = requests.get(sandbox.root_url + "/_sandbox/callbacks", timeout=10).json()["attempts"]
        assert [(a["attempt"], a["status"], a["delivered"]) for a in attempts] == [
            (1, 500, False),
            (2, 503, False),
            (3, 200, True),
        ]
    finally:
        receiver.close()


def test_unreachable_callback_is_given_up_after_the_retries(start_sandbox) -> None:
    sandbox = start_sandbox(callback_retry_delays=(0.02, 0.02))
    submit(sandbox, "http://127.0.0.1:9/nothing-listens", "/v1/diffusion", {"text": "a cat"})
    sandbox.advance(10)
    assert sandbox.settle()
    attempts = sandbox.state.deliverer.attempts
    assert len(attempts) == 3 and all(a["status"] is None and a["error"] for a in attempts)


def test_delivery_does_not_block_requests(start_sandbox) -> None:
    slow_receiver_ready = threading.Event()
    release = threading.Event()

    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            slow_receiver_ready.set()
            release.wait(10)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sandbox = start_sandbox()
        submit(sandbox, f"http://127.0.0.1:{server.server_address[1]}/hook", "/v1/diffusion", {"text": "a"})
        sandbox.advance(10)
        assert slow_receiver_ready.wait(5)
        started = time.monotonic()
        response = requests.get(sandbox.base_url + "/account/balance", headers={"x-api-key": KEY}, timeout=5)
        assert response.status_code == 200 and time.monotonic() - started < 2
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def test_callbacks_fire_on_real_time_without_any_poll(start_sandbox, receiver: Receiver) -> None:
    sandbox = start_sandbox(clock=RealClock(), time_scale=30, tick_interval=0.05)
    job_id = submit(sandbox, receiver.url, "/v1/diffusion", {"text": "a cat"})  # 3-9 s / 30 = 0.1-0.3 s
    deadline = time.monotonic() + 5
    while not receiver.deliveries and time.monotonic() < deadline:
        time.sleep(0.05)
    assert json.loads(receiver.deliveries[0][1])["data"]["job_id"] == job_id
    assert sandbox.request_count("GET", "/api/v1/job/") == 0


def test_callbacks_to_remote_hosts_are_not_sent_by_default(sandbox) -> None:
    submit(sandbox, "https://your-domain.com/webhook", "/v1/diffusion", {"text": "a cat"})
    sandbox.advance(10)
    assert sandbox.settle()
    attempts = sandbox.state.deliverer.attempts
    assert len(attempts) == 1 and attempts[0]["status"] is None and "remote" in attempts[0]["error"]
