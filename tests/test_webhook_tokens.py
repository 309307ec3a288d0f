"""Per-submission callback URLs over real HTTP: forged deliveries cost no API request.

A real Studio (store, client, tracker thread) behind the real routes, a real-time sandbox slowed
down so that no job is due for a poll while the deliveries arrive: every GET counted is one a
delivery caused.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from legnext_core.models import JobKind, JobRequest
from legnext_core.sandbox import FaultConfig, RealClock, SandboxServer
from legnext_core.settings import load_settings
from legnext_core.studio import Studio
from legnext_core.submit import submit_job
from legnext_core.webhooks import sign
from tests.loopback_server import RouteServer

SECRET = "whsec-token-test"
JOB_GETS = "/api/v1/job/"


@pytest.fixture
def routes_and_holder() -> Iterator[tuple[RouteServer, dict[str, Any]]]:
    holder: dict[str, Any] = {"studio": None}
    server = RouteServer(lambda: holder["studio"])
    yield server, holder
    server.stop()


@pytest.fixture
def make_studio(
    start_sandbox, tmp_path, routes_and_holder
) -> Iterator[Callable[..., tuple[Studio, SandboxServer]]]:
    routes, holder = routes_and_holder
    made: list[Studio] = []

    def make(*, time_scale: float = 0.5, secret: str | None = None) -> tuple[Studio, SandboxServer]:
        sandbox = start_sandbox(clock=RealClock(), time_scale=time_scale, webhook_secret=secret)
        env = {
            "LEGNEXT_SANDBOX_URL": sandbox.base_url,
            "LEGNEXT_DATA_DIR": str(tmp_path / "data"),
            "LEGNEXT_SANDBOX_TIME_SCALE": str(time_scale),
            "LEGNEXT_PUBLIC_URL": routes.url,
        }
        if secret:
            env["LEGNEXT_WEBHOOK_SECRET"] = secret
        studio = Studio(load_settings(env, {}))
        studio.start()
        made.append(studio)
        holder["studio"] = studio
        return studio, sandbox

    yield make
    holder["studio"] = None
    for studio in made:
        studio.stop()


def delivery(job_id: str) -> bytes:
    job = {"job_id": job_id, "task_type": "video_diffusion", "status": "completed", "output": {}}
    return json.dumps({"timestamp": int(time.time()), "data": job}).encode()


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    stamp = str(int(time.time()))
    return {
        "Content-Type": "application/json",
        "X-Legnext-Timestamp": stamp,
        "X-Legnext-Signature": sign(body, secret, stamp),
    }


def submitted(studio: Studio) -> dict[str, Any]:
    result = submit_job(studio, JobRequest(kind=JobKind.TEXT_VIDEO, prompt="a kite over the dunes"))
    assert result.outcome == "accepted"
    record = studio.store.get(result.local_id)
    assert len(record.callback_token) == 32
    return record


def health(routes: RouteServer) -> dict[str, Any]:
    return requests.get(routes.url + "/healthz", timeout=5).json()


def test_deliveries_to_unknown_tokens_are_404_counted_not_logged_and_cost_nothing(
    make_studio, routes_and_holder, caplog
) -> None:
    routes, _ = routes_and_holder
    studio, sandbox = make_studio()
    record = submitted(studio)
    before = sandbox.request_count("GET", JOB_GETS)
    session = requests.Session()
    with caplog.at_level(logging.INFO):
        for n in range(300):
            token = secrets.token_hex(16) if n % 3 else ["0" * 31, "x" * 32, "..%2Fhealthz", "A" * 32][n % 4]
            answer = session.post(
                f"{routes.url}/webhooks/legnext/{token}", data=delivery(record.job_id), timeout=5
            )
            assert answer.status_code == 404, (token, answer.status_code)
    time.sleep(0.5)
    assert sandbox.request_count("GET", JOB_GETS) == before
    assert health(routes)["webhooks"]["unknown_token"] >= 250
    assert not [r for r in caplog.records if r.name.startswith("legnext_core") and "ebhook" in r.getMessage()]


def test_a_known_token_without_a_signature_is_refused_when_a_secret_is_set(
    make_studio, routes_and_holder
) -> None:
    routes, _ = routes_and_holder
    studio, sandbox = make_studio(secret=SECRET)
    record = submitted(studio)
    url = f"{routes.url}/webhooks/legnext/{record.callback_token}"
    before = sandbox.request_count("GET", JOB_GETS)
    body = delivery(record.job_id)
    assert requests.post(url, data=body, timeout=5).status_code == 401
    assert requests.post(url, data=body, headers=signed(body, "wrong-secret"), timeout=5).status_code == 401
    headers = signed(body)
    assert requests.post(url, data=body, headers=headers, timeout=5).status_code == 200
    for _ in range(50):
        assert requests.post(url, data=body, headers=headers, timeout=5).status_code == 409
    time.sleep(0.5)
    # Only the one correctly signed delivery caused a GET.
    assert sandbox.request_count("GET", JOB_GETS) - before == 1
    counts = health(routes)["webhooks"]
    assert counts["bad_signature"] == 2 and counts["replayed"] == 50 and counts["accepted"] == 1


def test_a_flood_on_a_known_token_causes_at_most_one_get_per_interval(make_studio, routes_and_holder) -> None:
    routes, _ = routes_and_holder
    studio, sandbox = make_studio()
    record = submitted(studio)
    url = f"{routes.url}/webhooks/legnext/{record.callback_token}"
    before = sandbox.request_count("GET", JOB_GETS)
    session = requests.Session()
    started = time.monotonic()
    for _ in range(200):
        assert session.post(url, data=delivery(record.job_id), timeout=5).status_code == 200
    elapsed = time.monotonic() - started
    time.sleep(0.3)
    interval = studio.tracker._hint_interval()
    assert sandbox.request_count("GET", JOB_GETS) - before <= 1 + int(elapsed / interval)
    assert not health(routes)["tracker"]["webhooks_trusted"]


@pytest.mark.parametrize(
    "body", [b"[" * 20_000, b'{"data":' * 5_000, b"{not json", b"\xff\xfe", b"[]", b'{"data": {}}']
)
def test_malformed_or_deeply_nested_bodies_are_400(make_studio, routes_and_holder, body) -> None:
    routes, _ = routes_and_holder
    studio, sandbox = make_studio()
    record = submitted(studio)
    answer = requests.post(f"{routes.url}/webhooks/legnext/{record.callback_token}", data=body, timeout=5)
    assert answer.status_code == 400
    assert answer.json()["ok"] is False


def test_a_delivery_on_an_unknown_submissions_token_links_its_job(make_studio, routes_and_holder) -> None:
    routes, _ = routes_and_holder
    studio, sandbox = make_studio(time_scale=8.0)
    sandbox.set_active_tasks(False)  # only the delivery can tell
    sandbox.set_faults(FaultConfig.only("lost_answer", methods={"POST"}))
    result = submit_job(studio, JobRequest(kind=JobKind.IMAGE, prompt="a teapot, studio light"))
    sandbox.set_faults(FaultConfig())
    assert result.outcome == "unknown"
    (made,) = sandbox.jobs()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and studio.store.get(result.local_id).status != "completed":
        time.sleep(0.05)
    record = studio.store.get(result.local_id)
    assert record.status == "completed"
    assert record.job_id == made["job_id"]
    assert record.reconciliation["how"] == "token_delivery"
    assert record.credits_consumed == 80
