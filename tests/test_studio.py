"""The Studio: what every page shares, read politely (the balance in every sidebar)."""

from __future__ import annotations

import threading
import time

import pytest

from legnext_core.models import Job, JobKind, JobRequest
from legnext_core.sandbox import FaultConfig
from legnext_core.settings import load_settings
from legnext_core.studio import Studio

BALANCE = "/api/account/balance"


@pytest.fixture
def studio(sandbox, tmp_path):
    settings = load_settings({"LEGNEXT_SANDBOX_URL": sandbox.base_url, "LEGNEXT_DATA_DIR": str(tmp_path)})
    current = Studio(settings)
    yield current
    current.stop()


def test_balance_is_read_from_the_api_at_most_once_per_period_whatever_the_sessions(studio, sandbox):
    readings = [studio.balance() for _ in range(20)]
    assert sandbox.request_count("GET", BALANCE) == 1
    assert all(reading is readings[0] for reading in readings)
    assert readings[0].balance is not None and readings[0].error is None
    studio.forget_balance()
    studio.balance()
    assert sandbox.request_count("GET", BALANCE) == 2


def test_a_stale_balance_is_shown_at_once_while_another_session_reads_it(studio, sandbox):
    first = studio.balance()
    sandbox.set_faults(FaultConfig.only("slow", slow_seconds=3, methods={"GET"}))
    reader = threading.Thread(target=studio.balance, kwargs={"max_age": 0})
    reader.start()
    try:
        # Wait until the other session's read has reached the sandbox and is being held back.
        while sandbox.request_count("GET", BALANCE) < 2:
            reader.join(0.01)
        assert studio.balance(max_age=0) is first
        assert reader.is_alive()
    finally:
        reader.join(10)
    assert sandbox.request_count("GET", BALANCE) == 2


def test_a_failed_balance_read_says_why_and_is_not_retried_at_once(studio, sandbox):
    sandbox.set_faults(FaultConfig.only("503"))
    reading = studio.balance()
    assert reading.balance is None and reading.error
    assert studio.balance() is reading
    assert sandbox.request_count("GET", BALANCE) == 1


def test_the_look_for_missing_media_after_a_start_is_over_the_completed_jobs_submitted_since_then(studio):
    day = 86400.0
    request = JobRequest(kind=JobKind.IMAGE, prompt="a heron at dawn")
    made = []
    for n, age_days in enumerate((60, 20, 1, 0)):
        record = studio.store.add_intent(
            request, api_mode="sandbox", api_base_url="http://127.0.0.1:9/api", estimated_points=80
        )
        studio.store.record_accepted(record.local_id, Job.from_api({"job_id": f"j-{n}", "status": "pending"}))
        if n < 3:  # the last one is still running
            studio.store.apply_job(Job.from_api({"job_id": f"j-{n}", "status": "completed"}))
        studio.store._change(  # noqa: SLF001 - only the submission time is moved back
            record.local_id, lambda r, age=age_days: r.replace(submitted_at=time.time() - age * day)
        )
        made.append(record.local_id)
    assert studio.tracker.media_candidates == studio._completed_since  # noqa: SLF001
    # Newest first, from the History table's columns.
    assert studio._completed_since(time.time() - 30 * day) == [made[2], made[1]]  # noqa: SLF001
