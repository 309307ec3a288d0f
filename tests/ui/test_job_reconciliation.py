"""The job page of an "outcome unknown" submission: a likely match is linked only when a person confirms."""

from __future__ import annotations

import time

import pytest
import requests

from legnext_core.errors import SubmissionOutcomeUnknownError
from legnext_core.models import JobKind, JobRequest
from legnext_core.sandbox import FaultConfig
from tests.ui.test_job_detail import _texts, open_job


def test_a_likely_match_is_linked_only_after_the_person_confirms_it(app_test, studio, sandbox, manual_clock):
    app_test()
    current = studio()
    request = JobRequest(kind=JobKind.TEXT_VIDEO, prompt="a paper lantern rising")
    intent = current.store.add_intent(
        request, api_mode="sandbox", api_base_url=current.settings.base_url, estimated_points=480
    )
    # The sandbox runs on a manual clock: line it up with the wall clock the POST's window is on.
    sandbox.advance(max(0.0, time.time() - manual_clock.now()))
    sandbox.set_faults(FaultConfig.only("lost_answer", methods={"POST"}))
    with pytest.raises(SubmissionOutcomeUnknownError):
        current.client.submit(request)
    sandbox.set_faults(FaultConfig())
    current.store.record_unknown(intent.local_id, "The connection dropped after the request was sent.")
    current.tracker.look_for(intent.local_id)
    (made,) = sandbox.jobs()
    deadline = time.monotonic() + 15
    while (current.store.get(intent.local_id).reconciliation or {}).get("state") != "candidates":
        assert time.monotonic() < deadline, current.store.get(intent.local_id).reconciliation
        time.sleep(0.05)
    (offered,) = current.store.get(intent.local_id).reconciliation["candidates"]
    assert offered["job_id"] == made["job_id"]

    at = open_job(app_test, intent.local_id)
    assert "may be this one" in _texts(at)
    assert current.store.get(intent.local_id).status == "unknown"  # nothing linked by itself
    at.button(key=f"match-{intent.local_id}-{made['job_id']}").click().run()
    assert not at.exception
    linked = current.store.get(intent.local_id)
    assert linked.job_id == made["job_id"]
    assert linked.reconciliation["how"] == "confirmed_by_person"
    assert linked.status == "pending"
    assert requests.get(f"{sandbox.root_url}/_sandbox/jobs", timeout=5).json()["count"] == 1
