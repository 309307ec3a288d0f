"""The server routes over real HTTP: /healthz and the webhook receiver, with a real tracker behind them."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import requests

from legnext_core.models import JobKind
from legnext_core.settings import load_settings
from legnext_core.webhooks import MAX_BODY_BYTES, sign
from tests.loopback_server import RouteServer
from tests.test_tracker_rig import Rig, make_rig

SECRET = "whsec-routes-test"


@pytest.fixture
def rig(sandbox, manual_clock, tmp_path) -> Iterator[Rig]:
    with make_rig(sandbox, manual_clock, tmp_path) as rig:
        yield rig


def studio_for(rig: Rig, tmp_path, *, secret: str | None = SECRET) -> SimpleNamespace:
    env = {"LEGNEXT_SANDBOX_URL": rig.sandbox.base_url, "LEGNEXT_DATA_DIR": str(tmp_path)}
    if secret:
        env["LEGNEXT_WEBHOOK_SECRET"] = secret
    return SimpleNamespace(settings=load_settings(env, {}), store=rig.store, tracker=rig.tracker)


@pytest.fixture
def holder() -> dict[str, Any]:
    return {"studio": None}


@pytest.fixture
def routes(holder) -> Iterator[RouteServer]:
    server = RouteServer(lambda: holder["studio"])
    yield server
    server.stop()


def delivery(job_id: str, *, wrapped: bool = True) -> bytes:
    job = {"job_id": job_id, "task_type": "video_diffusion", "status": "completed", "output": {}}
    return json.dumps({"timestamp": int(time.time()), "data": job} if wrapped else job).encode()


def signed(body: bytes, *, secret: str = SECRET, ts: float | None = None) -> dict[str, str]:
    stamp = str(int(time.time() if ts is None else ts))
    return {
        "Content-Type": "application/json",
        "X-Legnext-Timestamp": stamp,
        "X-Legnext-Signature": sign(body, secret, stamp),
    }


def post(routes: RouteServer, body: bytes, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.post(routes.url + "/webhooks/legnext", data=body, headers=headers or {}, timeout=5)


@pytest.fixture
def known_job(rig, holder, tmp_path) -> dict:
    holder["studio"] = studio_for(rig, tmp_path)
    record = rig.submit(JobKind.TEXT_VIDEO)
    rig.sweep()  # scheduled, not yet due
    return record


def test_healthz_reports_mode_and_tracker_health(routes, rig, holder, tmp_path):
    holder["studio"] = studio_for(rig, tmp_path)
    rig.tracker.start()
    answer = requests.get(routes.url + "/healthz", timeout=5)
    assert answer.status_code == 200
    body = answer.json()
    assert body["ok"] is True and body["mode"] == "sandbox"
    assert set(body["tracker"]) >= {"last_sweep_at", "in_flight", "active_jobs", "last_error", "running"}
    assert SECRET not in answer.text


def test_healthz_is_unavailable_before_the_studio_runs(routes):
    answer = requests.get(routes.url + "/healthz", timeout=5)
    assert answer.status_code == 503
    assert answer.json()["ok"] is False


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("GET", "/downloads/" + "0" * 32 + "/legnext-jobs.zip", "text"),
        ("GET", "/uploads/" + "0" * 64 + ".png", "text"),
        ("POST", "/webhooks/legnext", "json"),
        ("POST", "/webhooks/legnext/" + "0" * 32, "json"),
    ],
)
def test_every_route_that_needs_the_studio_answers_starting_before_it_runs(routes, method, path, kind):
    answer = requests.request(method, routes.url + path, data=b"{}", timeout=5)
    assert answer.status_code == 503
    if kind == "json":
        assert answer.json() == {"ok": False, "error": "The dashboard is starting; try again shortly."}
    else:
        assert answer.text == "The dashboard is starting; try again shortly."


def test_a_signed_delivery_makes_the_tracker_confirm_the_job_at_once(routes, rig, known_job):
    body = delivery(known_job.job_id)
    answer = post(routes, body, signed(body))
    assert answer.status_code == 200
    assert answer.json() == {"ok": True, "known": True, "confirming": True}
    assert rig.gets() == 0  # answered before any GET: the confirmation is the tracker's
    assert rig.sweep() == [known_job.job_id]
    assert rig.gets() == 1
    # The body said "completed"; the GET says the job is still running, and the record follows the GET.
    assert rig.record(known_job.local_id).status in ("pending", "staged", "processing")


def test_a_bare_job_body_is_accepted(routes, rig, known_job):
    body = delivery(known_job.job_id, wrapped=False)
    answer = post(routes, body, signed(body))
    assert answer.status_code == 200 and answer.json()["confirming"] is True


@pytest.mark.parametrize(
    "make_headers",
    [
        pytest.param(lambda body: signed(body, secret="not-the-secret"), id="wrong-secret"),
        pytest.param(lambda body: {"Content-Type": "application/json"}, id="missing-signature"),
        pytest.param(lambda body: signed(body, ts=time.time() - 600), id="stale-timestamp"),
        pytest.param(lambda body: signed(body, ts=time.time() + 600), id="future-timestamp"),
        pytest.param(lambda body: signed(body + b" "), id="signature-of-another-body"),
    ],
)
def test_a_badly_signed_delivery_is_refused_and_wakes_nothing(routes, rig, known_job, make_headers):
    body = delivery(known_job.job_id)
    answer = post(routes, body, make_headers(body))
    assert answer.status_code == 401
    assert SECRET not in answer.text
    assert rig.sweep() == []
    assert rig.gets() == 0


def test_a_replayed_delivery_is_refused(routes, rig, known_job):
    body = delivery(known_job.job_id)
    headers = signed(body)
    assert post(routes, body, headers).status_code == 200
    assert post(routes, body, headers).status_code == 409


def test_without_a_secret_the_tokenless_route_is_gone_and_wakes_nothing(routes, rig, holder, tmp_path):
    holder["studio"] = studio_for(rig, tmp_path, secret=None)
    record = rig.submit(JobKind.IMAGE)
    answer = post(routes, delivery(record.job_id), {"Content-Type": "application/json"})
    assert answer.status_code == 410
    assert rig.sweep() == []
    assert rig.gets() == 0


def test_an_unknown_job_id_is_acknowledged_and_ignored(routes, rig, known_job):
    body = delivery("00000000-0000-4000-8000-000000000000")
    answer = post(routes, body, signed(body))
    assert answer.status_code == 200
    assert answer.json() == {"ok": True, "known": False, "confirming": False}
    assert rig.sweep() == []
    assert rig.gets() == 0


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"timestamp": 1, "data": {"status": "completed"}}'])
def test_a_body_that_is_not_a_job_is_a_bad_request(routes, known_job, body):
    assert post(routes, body, signed(body)).status_code == 400


def test_an_oversize_body_is_refused_before_it_is_read_whole(routes, rig, known_job):
    body = b'{"job_id": "' + b"x" * MAX_BODY_BYTES + b'"}'
    assert post(routes, body, signed(body)).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is applied while reading
        for _ in range(MAX_BODY_BYTES // 4096 + 2):
            yield b" " * 4096

    answer = requests.post(routes.url + "/webhooks/legnext", data=chunks(), timeout=5)
    assert answer.status_code == 413


def test_a_delivery_cut_off_by_its_sender_is_counted_and_the_next_one_is_accepted(routes, rig, known_job):
    body = delivery(known_job.job_id)
    head = (
        "POST /webhooks/legnext HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        + "".join(f"{name}: {value}\r\n" for name, value in signed(body).items() if name != "Content-Type")
        + "\r\n"
    )
    host, port = routes.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sender:
        sender.sendall(head.encode() + body[: len(body) // 2])  # gives up half-way through the body
    deadline = time.monotonic() + 10
    while requests.get(routes.url + "/healthz", timeout=5).json()["webhooks"].get("cut_off") != 1:
        assert time.monotonic() < deadline, "the cut-off delivery was not counted"
        time.sleep(0.05)
    assert post(routes, body, signed(body)).status_code == 200


def test_a_delivery_before_the_studio_runs_asks_for_a_retry(routes):
    body = delivery("00000000-0000-4000-8000-000000000000")
    assert post(routes, body, signed(body)).status_code == 503


def test_the_sandboxs_own_signed_callback_is_accepted_and_confirmed(
    start_sandbox, manual_clock, tmp_path, holder, routes
):
    sandbox = start_sandbox(webhook_secret=SECRET)
    with make_rig(sandbox, manual_clock, tmp_path) as rig:
        holder["studio"] = studio_for(rig, tmp_path)
        record = rig.submit(JobKind.IMAGE, callback=routes.url + "/webhooks/legnext")
        rig.sweep()
        sandbox.advance(10)  # finished; the sandbox sends its callback
        assert sandbox.settle()
        assert rig.sweep() == [record.job_id]
        assert rig.record(record.local_id).status == "completed"
        assert rig.tracker.health().webhooks_trusted
        assert rig.gets() == 1
