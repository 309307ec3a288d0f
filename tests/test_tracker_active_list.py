"""The tracker reading the account's active list: one request per tick, progress, departures, fallback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from legnext_core.models import JobKind
from legnext_core.store import ProgressUpdate
from tests.test_tracker_rig import Rig, make_rig

LIST = "/api/account/active_tasks"


@pytest.fixture
def rig(sandbox, manual_clock, tmp_path) -> Iterator[Rig]:
    with make_rig(sandbox, manual_clock, tmp_path, read_active_list=True, max_in_flight=6) as rig:
        yield rig


def test_running_jobs_get_progress_from_one_request_per_tick_and_one_get_when_they_leave(rig, sandbox):
    records = [rig.submit(JobKind.TEXT_VIDEO) for _ in range(5)]
    ids = [r.local_id for r in records]
    seen_progress: dict[str, list[int]] = {i: [] for i in ids}
    sweeps = 0
    while any(rig.record(i).status not in ("completed", "failed") for i in ids):
        lists_before = sandbox.request_count("GET", LIST)
        rig.advance(0.5)
        sweeps += 1
        assert sandbox.request_count("GET", LIST) - lists_before <= 1  # whatever the number of jobs
        for local_id in ids:
            record = rig.record(local_id)
            if record.status == "processing":
                seen_progress[local_id].append(record.progress)
        assert sweeps < 200
    for local_id in ids:
        rising = seen_progress[local_id]
        assert len(rising) >= 3 and rising == sorted(rising) and rising[-1] > rising[0]
        assert not rig.record(local_id).progress_estimated
    # No job was polled while listed; each got exactly one GET, when it left the list.
    for record in records:
        assert sandbox.request_count("GET", f"/api/v1/job/{record.job_id}") == 1
    assert all(rig.record(i).status == "completed" for i in ids)
    assert rig.tracker.health().active_list_offered is True


def test_without_the_list_progress_is_estimated_and_labelled_so_until_legnext_reports_it(rig, sandbox):
    sandbox.set_active_tasks(False)
    record = rig.submit(JobKind.TEXT_VIDEO)
    estimates = []
    for _ in range(8):
        rig.advance(0.5)
        current = rig.record(record.local_id)
        if current.progress_estimated:
            estimates.append(current.progress)
    assert rig.tracker.health().active_list_offered is False
    assert len(estimates) >= 3 and estimates == sorted(estimates) and estimates[-1] > estimates[0]
    # Not offered: asked once, then left alone for a long while.
    assert sandbox.request_count("GET", LIST) == 1
    rig.run_until_settled([record.local_id])
    done = rig.record(record.local_id)
    assert done.status == "completed" and done.progress == 100
    assert not done.progress_estimated


def test_an_estimate_never_replaces_progress_legnext_reported(rig):
    record = rig.submit(JobKind.TEXT_VIDEO)
    job_id = record.job_id
    store = rig.store
    assert store.apply_progress([ProgressUpdate(job_id, None, 30, estimated=True)]) == 1
    estimated = rig.record(record.local_id)
    assert estimated.progress == 30 and estimated.progress_estimated is True
    # A reported figure replaces the estimate, even a lower one.
    assert store.apply_progress([ProgressUpdate(job_id, "processing", 20)]) == 1
    reported = rig.record(record.local_id)
    assert reported.progress == 20 and not reported.progress_estimated
    assert store.apply_progress([ProgressUpdate(job_id, None, 70, estimated=True)]) == 0
    assert rig.record(record.local_id).progress == 20
    # Forward only: an earlier stage changes nothing; many jobs in one call.
    assert store.apply_progress([ProgressUpdate(job_id, "pending", 90)]) == 0
    other = rig.submit(JobKind.IMAGE)
    changed = store.apply_progress(
        [ProgressUpdate(job_id, "processing", 50), ProgressUpdate(other.job_id, "staged", 0)]
    )
    assert changed == 2
    assert rig.record(other.local_id).status == "staged"
