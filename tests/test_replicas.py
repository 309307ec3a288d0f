"""Replicas on one PostgreSQL job log, in one process: one tracker among them, hints relayed to it,
spending caps held across them. (tests/e2e-free two-process runs are in test_replicas_processes.py.)"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from legnext_core.models import JobKind, JobRequest, estimate_points
from legnext_core.sandbox import FaultConfig
from legnext_core.settings import load_settings
from legnext_core.studio import Studio
from legnext_core.submit import submit_job
from tests.helpers import eventually

PROMPT = "a lighthouse in a storm, waves breaking over the rocks, slow dolly in"


@pytest.fixture
def start_replica(sandbox, postgres_url: str, tmp_path: Path) -> Iterator[Callable[..., Studio]]:
    started: list[Studio] = []

    def start(name: str, **env: str) -> Studio:
        settings = load_settings(
            {
                "LEGNEXT_SANDBOX_URL": sandbox.base_url,
                "LEGNEXT_DATA_DIR": str(tmp_path / name),
                "LEGNEXT_DATABASE_URL": postgres_url,
                # Live-length schedules: no poll of its own comes within these tests, only woken ones.
                "LEGNEXT_SANDBOX_TIME_SCALE": "0.01",
                **env,
            }
        )
        studio = Studio(settings)
        studio.start()
        started.append(studio)
        return studio

    yield start
    for studio in reversed(started):
        studio.stop()


def test_one_replica_tracks_and_another_takes_over_when_it_stops(start_replica):
    first = start_replica("a")
    second = start_replica("b")
    assert first.tracker.running and first.tracker.health().standby is False
    assert not second.tracker.running and second.tracker.health().standby is True
    first.stop()
    assert eventually(lambda: second.tracker.running, timeout=5)
    assert second.tracker.health().standby is False


def test_a_job_made_in_one_replica_is_in_the_others_history(start_replica):
    first = start_replica("a")
    second = start_replica("b")
    result = submit_job(second, JobRequest(kind=JobKind.TEXT_VIDEO, prompt=PROMPT))
    assert result.outcome == "accepted"
    page = first.history.page()
    assert page.local_ids == (result.local_id,)
    assert page.frame["prompt"].tolist() == [PROMPT]


def test_a_webhook_at_a_standby_replica_wakes_the_tracking_one(start_replica, sandbox):
    leader = start_replica("a", LEGNEXT_PUBLIC_URL="http://127.0.0.1:9")
    standby = start_replica("b", LEGNEXT_PUBLIC_URL="http://127.0.0.1:9")
    result = submit_job(standby, JobRequest(kind=JobKind.TEXT_VIDEO, prompt=PROMPT))
    job_path = f"/api/v1/job/{result.job_id}"
    record = standby.store.get(result.local_id)
    assert record.callback_token
    time.sleep(1.0)
    assert sandbox.request_count("GET", job_path) == 0  # its first poll is minutes away
    # The delivery came to the standby replica, on the submission's own callback token.
    assert standby.tracker.hint_delivery(record, result.job_id) is True
    assert eventually(lambda: sandbox.request_count("GET", job_path) == 1, timeout=5)
    # A delivery by job id (the signed legacy route) is relayed too; the leader allows one
    # confirming GET per job per interval, so this one is absorbed there.
    assert standby.tracker.wake(result.job_id) is True
    time.sleep(1.0)
    assert sandbox.request_count("GET", job_path) == 1
    assert leader.tracker.running


def test_the_monthly_cap_holds_across_replicas(start_replica):
    needed = estimate_points(JobRequest(kind=JobKind.TEXT_VIDEO, prompt=PROMPT), None)
    cap = {"LEGNEXT_MONTHLY_CAP_POINTS": str(needed * 3)}
    replicas = [start_replica("a", **cap), start_replica("b", **cap)]
    results = []
    barrier = threading.Barrier(6)

    def submit(studio: Studio) -> None:
        barrier.wait()
        results.append(submit_job(studio, JobRequest(kind=JobKind.TEXT_VIDEO, prompt=PROMPT)))

    threads = [threading.Thread(target=submit, args=(replicas[i % 2],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    outcomes = sorted(result.outcome for result in results)
    assert outcomes == ["accepted"] * 3 + ["refused"] * 3


def test_a_submission_left_by_a_replica_that_died_mid_post_becomes_unknown(start_replica, postgres_url):
    from legnext_core.joblog.pg_log import PostgresLog
    from legnext_core.store import JobStore

    replica = start_replica("a")
    # Written by a replica that is gone: its POST began longer ago than any POST may take.
    with JobStore(storage=PostgresLog(postgres_url), clock=lambda: time.time() - 700) as gone:
        left = gone.add_intent(
            JobRequest(kind=JobKind.TEXT_VIDEO, prompt=PROMPT),
            api_mode="sandbox",
            api_base_url=replica.settings.base_url,
            estimated_points=480,
        )
    assert eventually(lambda: replica.store.get(left.local_id).status == "unknown", timeout=15)


def test_an_unknown_outcome_on_a_standby_replica_sends_the_leader_looking_at_once(start_replica, sandbox):
    leader = start_replica("a")
    standby = start_replica("b")
    time.sleep(1.5)  # the leader's first sweeps: nothing to look for, its next list read is minutes away
    reads = sandbox.request_count("GET", "/api/account/active_tasks")
    sandbox.set_faults(FaultConfig.only("drop", methods={"POST"}))
    result = submit_job(standby, JobRequest(kind=JobKind.TEXT_VIDEO, prompt=PROMPT))
    sandbox.set_faults(FaultConfig())
    assert result.outcome == "unknown"
    assert eventually(lambda: sandbox.request_count("GET", "/api/account/active_tasks") > reads, timeout=5)
    # The leader counts its read once the answer is in, a moment after the sandbox counted the request.
    assert eventually(lambda: leader.tracker.health().active_list_reads >= 1, timeout=5)
    assert standby.tracker.health().active_list_reads == 0


def test_the_database_setting_takes_a_postgresql_url_and_never_repeats_it():
    from legnext_core.settings import SettingsError

    assert load_settings({}).database_url is None
    url = "postgresql://studio:s3cret@db.internal/legnext"
    settings = load_settings({"LEGNEXT_DATABASE_URL": url})
    assert settings.database_url == url and "s3cret" not in repr(settings)
    with pytest.raises(SettingsError) as refused:
        load_settings({"LEGNEXT_DATABASE_URL": "mysql://studio:s3cret@db.internal/legnext"})
    assert "LEGNEXT_DATABASE_URL" in str(refused.value) and "s3cret" not in str(refused.value)
