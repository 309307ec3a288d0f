"""The sandbox's control routes cannot be driven from a browser page of another site, nor through a proxy,
and its request counter stays bounded however many distinct paths it is asked for. Real HTTP."""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from legnext_core.sandbox import create_app
from legnext_core.sandbox import state as sandbox_state
from legnext_core.sandbox.app import FORWARDING_HEADERS
from tests.helpers import asgi_get_status

FAULTS_ON = {"rate": 1.0, "kinds": ["500"]}


def _faults(sandbox) -> dict:
    return requests.get(sandbox.root_url + "/_sandbox/faults", timeout=10).json()["faults"]


def test_a_simple_cross_site_post_is_refused_and_changes_nothing(sandbox) -> None:
    before = _faults(sandbox)
    # What a page on another site can send without a preflight: text/plain, no-cors, its own Origin.
    answer = requests.post(
        sandbox.root_url + "/_sandbox/faults",
        data=json.dumps(FAULTS_ON),
        headers={
            "Content-Type": "text/plain;charset=UTF-8",
            "Origin": "http://attacker.example",
            "Sec-Fetch-Site": "cross-site",
            "Sec-Fetch-Mode": "no-cors",
        },
        timeout=10,
    )
    assert answer.status_code == 403
    assert _faults(sandbox) == before


def test_a_cross_origin_post_without_fetch_metadata_is_refused(sandbox) -> None:
    # An older browser sends no Sec-Fetch-Site, but still its Origin.
    answer = requests.post(
        sandbox.root_url + "/_sandbox/clock", json={"advance": 5},
        headers={"Origin": "http://localhost:1"}, timeout=10,
    )  # fmt: skip
    assert answer.status_code == 403


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_post_that_is_not_json_is_refused(sandbox, content_type: str | None) -> None:
    before = _faults(sandbox)
    headers = {"Content-Type": content_type} if content_type else {}
    body = json.dumps(FAULTS_ON).encode()
    answer = requests.post(sandbox.root_url + "/_sandbox/faults", data=body, headers=headers, timeout=10)
    assert answer.status_code == 415
    assert _faults(sandbox) == before


def test_a_same_origin_or_scripted_json_post_still_works(sandbox) -> None:
    scripted = requests.post(sandbox.root_url + "/_sandbox/faults", json=FAULTS_ON, timeout=10)
    assert scripted.status_code == 200 and scripted.json()["faults"]["rate"] == 1.0
    host = sandbox.root_url.split("//", 1)[1]
    same_origin = requests.post(
        sandbox.root_url + "/_sandbox/faults", json={"rate": 0.0},
        headers={"Origin": f"http://{host}", "Sec-Fetch-Site": "same-origin"}, timeout=10,
    )  # fmt: skip
    assert same_origin.status_code == 200 and _faults(sandbox)["rate"] == 0.0


@pytest.mark.parametrize("header", FORWARDING_HEADERS)
def test_no_forwarding_header_makes_a_request_look_local(sandbox, header: str) -> None:
    # Over real loopback HTTP: a request relayed by a proxy on this machine carries such a header.
    answer = requests.get(sandbox.root_url + "/_sandbox/jobs", headers={header: "127.0.0.1"}, timeout=10)
    assert answer.status_code == 403


def test_a_remote_client_claiming_to_be_local_is_refused(sandbox_config_factory) -> None:
    app = create_app(sandbox_config_factory())
    try:
        claims = [
            (b"x-forwarded-for", b"127.0.0.1"),
            (b"forwarded", b"for=127.0.0.1"),
            (b"x-real-ip", b"::1"),
        ]
        for claim in claims:
            assert asgi_get_status(app, "/_sandbox/jobs", ("198.51.100.7", 40000), [claim]) == 403
            # Even where the ASGI server has already taken the peer from the header (as a trusting
            # proxy setup does), the header itself gives it away.
            assert asgi_get_status(app, "/_sandbox/jobs", ("127.0.0.1", 40000), [claim]) == 403
        assert asgi_get_status(app, "/_sandbox/jobs", ("127.0.0.1", 40000), []) == 200
    finally:
        app.state.sandbox.close()


def test_the_request_counter_is_bounded_on_unique_paths(sandbox, monkeypatch) -> None:
    monkeypatch.setattr(sandbox_state, "MAX_COUNTED_PATHS", 40)
    session = requests.Session()
    for _ in range(120):
        session.get(f"{sandbox.root_url}/api/v1/job/{uuid.uuid4()}", headers={"x-api-key": "k"}, timeout=10)
    counts = sandbox.request_counts()
    assert len(counts) <= 41
    assert sum(counts.values()) == 120, "every request is still counted"
    assert counts[f"GET {sandbox_state.OTHER_PATHS}"] >= 80


def test_an_embedded_sandbox_answers_its_own_dashboard_only(sandbox_config_factory) -> None:
    app = create_app(sandbox_config_factory(api_loopback_only=True))
    key = [(b"x-api-key", b"k")]
    try:
        assert asgi_get_status(app, "/api/account/balance", ("127.0.0.1", 40000), key) == 200
        assert asgi_get_status(app, "/api/account/balance", ("198.51.100.7", 40000), key) == 403
        proxied = [*key, (b"x-forwarded-for", b"198.51.100.7")]
        assert asgi_get_status(app, "/api/account/balance", ("127.0.0.1", 40000), proxied) == 403
        # Media stays reachable: the browser plays sandbox results from it.
        assert asgi_get_status(app, "/media/none.mp4", ("198.51.100.7", 40000), []) == 404
    finally:
        app.state.sandbox.close()
