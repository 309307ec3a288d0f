"""urllib3's Retry carries the GET retries; a POST is never resent by it.

Real HTTP to the sandbox, which answers 503 with a ``Retry-After`` far longer than the client's cap.
The proof that urllib3 (not the client's loop) retried is the ``Retry`` history urllib3 leaves on
the answer of one ``session.get``; request counts are read on the sandbox side. Waits are recorded
through the injected pause, never slept.
"""

from __future__ import annotations

import pytest
import requests
from requests.adapters import HTTPAdapter

from legnext_core.client import LegnextClient
from legnext_core.errors import ServerError, SubmissionOutcomeUnknownError
from legnext_core.retry import transport_retry
from legnext_core.sandbox import FaultConfig, SandboxServer

KEY = "test-key-transport-retry"
#: What the sandbox asks for: far more than anyone should wait.
ASKED = 600
#: What the client honours at most.
CAP = 4.0
RETRIES = 2


def _session(pauses: list[float]) -> requests.Session:
    session = requests.Session()
    retry = transport_retry(RETRIES, retry_after_cap=CAP, pause=pauses.append)
    session.mount("http://", HTTPAdapter(max_retries=retry))
    return session


def _job_id(sandbox: SandboxServer) -> str:
    url = sandbox.base_url + "/v1/diffusion"
    answer = requests.post(url, json={"text": "a kite"}, headers={"x-api-key": KEY}, timeout=10)
    return answer.json()["job_id"]


def test_a_get_is_retried_by_urllib3_on_503_honouring_retry_after_up_to_the_cap(sandbox):
    job_id = _job_id(sandbox)
    sandbox.state.reset_request_counts()
    sandbox.set_faults(FaultConfig.only("503", unavailable_retry_after=ASKED))
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        # The outage ends while the client waits.
        pauses.append(seconds)
        sandbox.set_faults(FaultConfig())

    session = requests.Session()
    retry = transport_retry(RETRIES, retry_after_cap=CAP, pause=pause)
    session.mount("http://", HTTPAdapter(max_retries=retry))
    answer = session.get(f"{sandbox.base_url}/v1/job/{job_id}", headers={"x-api-key": KEY}, timeout=10)
    assert answer.status_code == 200 and answer.json()["job_id"] == job_id
    # One call of session.get, two requests: urllib3 retried, and says so in its history.
    assert [step.status for step in answer.raw.retries.history] == [503]
    assert sandbox.request_count("GET", "/api/v1/job/") == 2
    assert pauses == [CAP]


def test_a_get_that_stays_503_ends_with_the_last_answer_after_the_retries(sandbox):
    job_id = _job_id(sandbox)
    sandbox.state.reset_request_counts()
    sandbox.set_faults(FaultConfig.only("503", unavailable_retry_after=ASKED))
    pauses: list[float] = []
    answer = _session(pauses).get(
        f"{sandbox.base_url}/v1/job/{job_id}", headers={"x-api-key": KEY}, timeout=10
    )
    assert answer.status_code == 503
    assert sandbox.request_count("GET", "/api/v1/job/") == RETRIES + 1
    assert pauses == [CAP] * RETRIES


def test_a_post_is_never_resent_by_urllib3(sandbox):
    sandbox.set_faults(FaultConfig.only("503", unavailable_retry_after=1))
    pauses: list[float] = []
    url = sandbox.base_url + "/v1/diffusion"
    answer = _session(pauses).post(url, json={"text": "a kite"}, headers={"x-api-key": KEY}, timeout=10)
    assert answer.status_code == 503
    assert sandbox.request_counts() == {"POST /api/v1/diffusion": 1}
    assert pauses == []


def test_the_client_retries_a_get_on_503_and_never_a_post(sandbox):
    job_id = _job_id(sandbox)
    sandbox.state.reset_request_counts()
    sandbox.set_faults(FaultConfig.only("503", unavailable_retry_after=ASKED))
    sleeps: list[float] = []
    client = LegnextClient(
        KEY, sandbox.base_url, max_retries=RETRIES, retry_after_cap=CAP, sleep=sleeps.append
    )
    with pytest.raises(ServerError) as caught:
        client.get_job(job_id)
    assert caught.value.status == 503
    assert sandbox.request_count("GET", "/api/v1/job/") == RETRIES + 1
    assert sleeps == [CAP] * RETRIES

    sleeps.clear()
    with pytest.raises(SubmissionOutcomeUnknownError) as unknown:
        client.create_image("a kite in the rain")
    assert unknown.value.status == 503
    assert sandbox.request_count("POST", "/api/v1/diffusion") == 1
    assert sleeps == []


def test_an_unusable_retry_after_falls_back_to_backoff_instead_of_raising():
    retry = transport_retry(RETRIES, retry_after_cap=CAP, pause=lambda _: None)
    assert retry.parse_retry_after("soon") == 0.0
    assert retry.parse_retry_after("7") == 4.0
