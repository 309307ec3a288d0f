"""Fault injection: what a client using ``requests`` observes for each fault, and what was created."""

from __future__ import annotations

import pytest
import requests

from legnext_core.sandbox import FaultConfig, SandboxServer

KEY = "test-key-sandbox"


def submit(sandbox: SandboxServer, timeout: float = 10) -> requests.Response:
    url = sandbox.base_url + "/v1/diffusion"
    return requests.post(url, json={"text": "a cat"}, headers={"x-api-key": KEY}, timeout=timeout)


def test_faults_are_off_by_default(sandbox: SandboxServer) -> None:
    assert sandbox.state.faults.config.rate == 0
    for _ in range(20):
        assert submit(sandbox).status_code == 200
        sandbox.advance(10)


def test_drop_closes_the_connection_without_an_answer_and_creates_nothing(sandbox: SandboxServer) -> None:
    sandbox.set_faults(FaultConfig.only("drop"))
    with pytest.raises(requests.ConnectionError) as caught:
        submit(sandbox)
    assert "without response" in str(caught.value)
    assert not isinstance(caught.value, requests.Timeout)
    assert sandbox.jobs() == []
    assert sandbox.request_counts() == {"POST /api/v1/diffusion": 1}


def test_lost_answer_creates_the_job_then_drops_the_connection(sandbox: SandboxServer) -> None:
    sandbox.set_faults(FaultConfig.only("lost_answer"))
    with pytest.raises(requests.ConnectionError):
        submit(sandbox)
    assert len(sandbox.jobs()) == 1


def test_lost_answer_never_fires_on_a_get(sandbox: SandboxServer) -> None:
    job_id = submit(sandbox).json()["job_id"]
    sandbox.set_faults(FaultConfig.only("lost_answer"))
    response = requests.get(f"{sandbox.base_url}/v1/job/{job_id}", headers={"x-api-key": KEY}, timeout=10)
    assert response.status_code == 200


@pytest.mark.parametrize(("create_on_500", "created"), [(1.0, 1), (0.0, 0)])
def test_500_is_json_and_may_come_after_the_job_was_made(sandbox, create_on_500: float, created: int) -> None:
    sandbox.set_faults(FaultConfig.only("500", create_on_500=create_on_500))
    response = submit(sandbox)
    assert response.status_code == 500
    assert response.json() == {
        "code": 500,
        "message": "Internal server error",
        "raw_message": "sandbox fault injection: 500",
        "detail": None,
    }
    assert len(sandbox.jobs()) == created


def test_500_creates_the_job_in_about_half_the_cases_by_default(sandbox: SandboxServer) -> None:
    sandbox.set_faults(FaultConfig.only("500"))
    for _ in range(40):
        assert submit(sandbox).status_code == 500
        sandbox.advance(60)  # keep under the unfinished-jobs limit
    assert 8 <= len(sandbox.jobs()) <= 32


@pytest.mark.parametrize("status", ["502", "503"])
def test_gateway_errors_are_html_pages_and_create_nothing(sandbox: SandboxServer, status: str) -> None:
    sandbox.set_faults(FaultConfig.only(status))
    response = submit(sandbox)
    assert response.status_code == int(status)
    assert response.headers["content-type"].startswith("text/html")
    assert f"<h1>{status}" in response.text
    assert sandbox.jobs() == []


def test_injected_429_carries_retry_after_and_creates_nothing(sandbox: SandboxServer) -> None:
    sandbox.set_faults(FaultConfig.only("429", retry_after=7))
    response = submit(sandbox)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json()["code"] == 429
    assert sandbox.jobs() == []


def test_slow_answer_times_the_client_out_after_the_job_was_made(sandbox: SandboxServer) -> None:
    sandbox.set_faults(FaultConfig.only("slow", slow_seconds=1.0))
    with pytest.raises(requests.ReadTimeout):
        submit(sandbox, timeout=0.3)
    assert len(sandbox.jobs()) == 1
    response = submit(sandbox, timeout=5)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("drop", requests.ConnectionError), ("503", 503), ("429", 429), ("slow", requests.ReadTimeout)],
)
def test_faults_apply_to_gets(sandbox: SandboxServer, kind: str, expected) -> None:
    job_id = submit(sandbox).json()["job_id"]
    sandbox.set_faults(FaultConfig.only(kind, slow_seconds=1.0))
    url = f"{sandbox.base_url}/v1/job/{job_id}"
    if isinstance(expected, int):
        assert requests.get(url, headers={"x-api-key": KEY}, timeout=5).status_code == expected
    else:
        with pytest.raises(expected):
            requests.get(url, headers={"x-api-key": KEY}, timeout=0.3)


def test_faults_can_be_limited_to_posts(sandbox: SandboxServer) -> None:
    sandbox.set_faults(FaultConfig.only("503", methods=frozenset({"POST"})))
    assert submit(sandbox).status_code == 503
    balance = requests.get(sandbox.base_url + "/account/balance", headers={"x-api-key": KEY}, timeout=5)
    assert balance.status_code == 200


def test_faults_never_touch_media_or_control_routes(sandbox: SandboxServer) -> None:
    sandbox.set_faults(FaultConfig.only("drop"))
    assert requests.get(sandbox.root_url + "/_sandbox/jobs", timeout=5).status_code == 200
    assert requests.get(sandbox.root_url + "/media/video/x/0.mp4", timeout=5).status_code == 404


def test_faults_are_changed_at_run_time_over_http(sandbox: SandboxServer) -> None:
    control = sandbox.root_url + "/_sandbox/faults"
    answer = requests.post(control, json={"rate": 1.0, "kinds": ["502"]}, timeout=5)
    assert answer.status_code == 200 and answer.json()["faults"]["kinds"] == ["502"]
    assert submit(sandbox).status_code == 502
    assert requests.get(control, timeout=5).json()["fired"] == {"502": 1}
    assert requests.post(control, json={}, timeout=5).json()["faults"]["rate"] == 0.0
    assert submit(sandbox).status_code == 200


@pytest.mark.parametrize(
    "body",
    [{"rate": 2}, {"kinds": ["teapot"]}, {"rate": "1"}, {"kinds": "drop"}, {"volume": 11}]
    + [{"retry_after": True}, {"slow_seconds": -1}],
)
def test_bad_fault_settings_are_400(sandbox: SandboxServer, body: dict) -> None:
    response = requests.post(sandbox.root_url + "/_sandbox/faults", json=body, timeout=5)
    assert response.status_code == 400
    assert response.json()["code"] == 400


def test_partial_rate_fires_on_some_requests_only(start_sandbox) -> None:
    sandbox = start_sandbox(faults=FaultConfig(rate=0.5, kinds=frozenset({"503"})), max_unfinished=100)
    statuses = [submit(sandbox).status_code for _ in range(40)]
    assert 8 <= statuses.count(503) <= 32
    assert statuses.count(200) == len(sandbox.jobs()) == 40 - statuses.count(503)
