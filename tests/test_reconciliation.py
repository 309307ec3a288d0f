"""Submissions whose answer was lost, found again: real HTTP to a real-time sandbox, a real Studio.

The sandbox runs on real time, sped up (a video takes 4.5-7.5 s), so the Studio's own tracker thread
reads the active list, fetches the unknown job, links it and archives its media as it would live.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from legnext_core.models import JobKind, JobRequest
from legnext_core.sandbox import FaultConfig, RealClock, SandboxServer
from legnext_core.settings import load_settings
from legnext_core.studio import Studio
from legnext_core.submit import submit_job

TIME_SCALE = 4.0
#: The discard port: the sandbox's callbacks fail at once, so only the active list can find a job.
NOWHERE = "http://127.0.0.1:9"


@pytest.fixture
def live_sandbox(start_sandbox) -> SandboxServer:
    return start_sandbox(clock=RealClock(), time_scale=TIME_SCALE, callback_retry_delays=())


@pytest.fixture
def make_studio(live_sandbox, tmp_path) -> Iterator[Callable[..., Studio]]:
    made: list[Studio] = []

    def make(*, public_url: str | None = NOWHERE, timeout: float | None = None, **env: str) -> Studio:
        values = {
            "LEGNEXT_SANDBOX_URL": live_sandbox.base_url,
            "LEGNEXT_DATA_DIR": str(tmp_path / f"data{len(made)}"),
            "LEGNEXT_SANDBOX_TIME_SCALE": str(TIME_SCALE),
            **env,
        }
        if public_url:
            values["LEGNEXT_PUBLIC_URL"] = public_url
        if timeout:
            values["LEGNEXT_TIMEOUT"] = str(timeout)
        studio = Studio(load_settings(values, {}))
        studio.start()
        made.append(studio)
        return studio

    yield make
    for studio in made:
        studio.stop()


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def request(prompt: str, kind: JobKind = JobKind.TEXT_VIDEO) -> JobRequest:
    return JobRequest(kind=kind, prompt=prompt)


def sandbox_job(sandbox: SandboxServer, prompt: str) -> dict[str, Any]:
    jobs = [job for job in sandbox.jobs() if job["prompt"] == prompt]
    assert len(jobs) == 1, jobs
    return jobs[0]


@pytest.mark.parametrize("fault", ["lost_answer", "slow"])
def test_a_lost_answer_ends_linked_to_the_job_it_made_with_cost_and_media(
    make_studio, live_sandbox, fault
) -> None:
    studio = make_studio(timeout=1)
    live_sandbox.set_faults(FaultConfig.only(fault, methods={"POST"}, slow_seconds=2.5))
    prompt = f"a heron over a misty lake ({fault})"
    result = submit_job(studio, request(prompt))
    live_sandbox.set_faults(FaultConfig())
    assert result.outcome == "unknown"
    made = sandbox_job(live_sandbox, prompt)
    token = studio.store.get(result.local_id).callback_token
    assert made["callback"] == f"{NOWHERE}/webhooks/legnext/{token}"

    def archived() -> dict | None:
        record = studio.store.get(result.local_id)
        return record if record.status == "completed" and record.media_paths else None

    done = wait_for(archived)
    assert done.job_id == made["job_id"]
    assert done.credits_consumed == made["cost"] == 480
    assert len(done.video_urls) == 4 and all(done.media_paths)
    assert done.reconciliation["state"] == "linked"
    assert done.reconciliation["how"] == "token_in_active_list"
    assert done.note is None
    # The job was found through the list, then fetched once to read its callback.
    assert live_sandbox.request_count("GET", f"/api/v1/job/{made['job_id']}") <= 3


def test_a_submission_that_made_no_job_ends_most_likely_not_created(make_studio, live_sandbox) -> None:
    studio = make_studio()
    live_sandbox.set_faults(FaultConfig.only("drop", methods={"POST"}))
    result = submit_job(studio, request("a lantern in the rain"))
    live_sandbox.set_faults(FaultConfig())
    assert result.outcome == "unknown"
    assert live_sandbox.jobs() == []

    def verdict() -> dict | None:
        evidence = studio.store.get(result.local_id).reconciliation or {}
        return evidence if evidence.get("state") not in (None, "searching") else None

    evidence = wait_for(verdict)
    assert evidence["state"] == "not_created"
    assert evidence["list_reads"] >= 2
    assert evidence["max_gap"] <= evidence["visible_for"]
    assert evidence["by_token"] is True
    record = studio.store.get(result.local_id)
    assert record.status == "unknown" and record.job_id is None
    assert live_sandbox.request_count("POST", "/api/v1/") == 1  # nothing was resent


def test_two_unknown_submissions_of_the_same_kind_are_never_cross_linked(make_studio, live_sandbox) -> None:
    studio = make_studio()
    live_sandbox.set_faults(FaultConfig.only("lost_answer", methods={"POST"}))
    prompts = ["a paper boat on a river", "a paper boat on a lake"]
    results: dict[str, Any] = {}

    def send(prompt: str) -> None:
        results[prompt] = submit_job(studio, request(prompt))

    threads = [threading.Thread(target=send, args=(p,)) for p in prompts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    live_sandbox.set_faults(FaultConfig())
    assert {r.outcome for r in results.values()} == {"unknown"}

    for prompt in prompts:
        made = sandbox_job(live_sandbox, prompt)
        linked = wait_for(lambda p=prompt: studio.store.get(results[p].local_id).job_id)
        assert linked == made["job_id"]


def test_without_a_token_likely_matches_are_offered_never_linked(make_studio, live_sandbox) -> None:
    studio = make_studio(public_url=None)
    assert studio.settings.webhook_url is None
    live_sandbox.set_faults(FaultConfig.only("lost_answer", methods={"POST"}))
    first = submit_job(studio, request("two cranes dancing"))
    second = submit_job(studio, request("two cranes resting"))
    live_sandbox.set_faults(FaultConfig())
    made = {job["job_id"] for job in live_sandbox.jobs()}
    assert len(made) == 2

    def offered(local_id: str) -> list[dict]:
        evidence = studio.store.get(local_id).reconciliation or {}
        return evidence.get("candidates") or []

    for result in (first, second):
        candidates = wait_for(lambda r=result: len(offered(r.local_id)) == 2 and offered(r.local_id))
        assert {c["job_id"] for c in candidates} == made
    time.sleep(1.0)
    for result in (first, second):
        record = studio.store.get(result.local_id)
        assert record.status == "unknown" and record.job_id is None
