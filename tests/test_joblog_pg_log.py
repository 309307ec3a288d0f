"""The PostgreSQL job log as the job store's storage: its cache, its write step, its place order, its
recovery from a dropped connection. (The store's rules on it are tests/test_store.py, run on both logs.)"""

from __future__ import annotations

import psycopg
import pytest

from legnext_core.joblog.pg_log import PostgresLog
from legnext_core.joblog.postgres import StatusRegressionError
from legnext_core.models import Job, JobKind, JobRequest
from legnext_core.store import JobStore, StoreError, UnknownRecordError

SANDBOX = {"api_mode": "sandbox", "api_base_url": "http://127.0.0.1:9/api", "estimated_points": 480}


def intent(store: JobStore, prompt: str = "a red fox in the snow"):
    return store.add_intent(JobRequest(kind=JobKind.TEXT_VIDEO, prompt=prompt), **SANDBOX)


def snapshot(job_id: str, status: str = "pending") -> Job:
    return Job.from_api({"job_id": job_id, "task_type": "video_diffusion", "status": status})


@pytest.fixture
def store(postgres_url: str):
    with JobStore(storage=PostgresLog(postgres_url)) as opened:
        yield opened


def test_a_refused_change_keeps_the_cache_and_a_refused_write_reads_the_database_again(store, postgres_url):
    record = intent(store)
    store.record_accepted(record.local_id, snapshot("j-1", "completed"))
    log = store.storage
    with pytest.raises(UnknownRecordError):
        store.update_tracking("no-such-record", poll_count=1)
    with pytest.raises(StoreError):
        store.record_accepted(record.local_id, snapshot("j-other"))  # it already has its job
    assert log.reloads == 1
    # A write that goes around the store's transitions meets the database's own rule.
    backwards = {**store.stored()[record.local_id], "status": "processing"}
    with pytest.raises(StatusRegressionError), log.writing():
        log.commit({"jobs": {record.local_id: backwards}})
    assert store.get(record.local_id).status == "completed"
    assert log.reloads == 2


def test_records_keep_their_place_in_the_log_whoever_changes_them(store, postgres_url):
    first, second, third = (intent(store, f"prompt {n}").local_id for n in range(3))
    with JobStore(storage=PostgresLog(postgres_url)) as other:
        other.update_tracking(first, poll_count=3)
    store.update_tracking(second, poll_count=1)
    # A replica starting now reads the log in the order the records were added, as the Gallery pages it.
    with JobStore(storage=PostgresLog(postgres_url)) as starting:
        assert list(starting.stored()) == [first, second, third]
        page, older = starting.newest_page(lambda data: True, limit=2)
        assert [r.local_id for r in page] == [third, second]
        rest, _ = starting.newest_page(lambda data: True, limit=2, before=older)
        assert [r.local_id for r in rest] == [first]


def drop_other_connections(url: str) -> None:
    """What a server restart does to every connection the store holds."""
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def test_a_dropped_connection_is_replaced_on_the_next_read_or_write(store, postgres_url):
    record = intent(store)
    drop_other_connections(postgres_url)
    assert store.get(record.local_id).status == "submitting"
    drop_other_connections(postgres_url)
    assert store.record_accepted(record.local_id, snapshot("j-2")).status == "pending"
    assert store.storage.reloads == 1


def test_one_queued_line_is_claimed_by_exactly_one_of_several_replicas(postgres_url):
    import threading

    stores = [JobStore(storage=PostgresLog(postgres_url)) for _ in range(4)]
    try:
        line = stores[0].add_intent(
            JobRequest(kind=JobKind.TEXT_VIDEO, prompt="batch line"), status="queued", **SANDBOX
        )
        claims: list[bool] = []
        barrier = threading.Barrier(len(stores))

        def claim(store: JobStore) -> None:
            barrier.wait()
            claims.append(store.begin_submission(line.local_id))

        threads = [threading.Thread(target=claim, args=(s,)) for s in stores]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(claims) == [False, False, False, True]
    finally:
        for store in stores:
            store.close()


def test_a_nul_character_legnext_sends_is_kept_as_a_replacement_character_not_a_failed_write(store):
    # PostgreSQL's jsonb holds no U+0000; the write must not fail over one in a field Legnext sent.
    record = intent(store)
    failed = Job.from_api(
        {
            "job_id": "j-nul",
            "task_type": "video_diffusion",
            "status": "failed",
            "error": {"code": 10001, "message": "bad\x00input", "raw_message": "a \\u0000 literal"},
        }
    )
    store.record_accepted(record.local_id, failed)
    stored = store.get(record.local_id)
    assert stored.status == "failed" and stored.error_message == "bad\ufffdinput"
    assert stored.error_raw_message == "a \\u0000 literal"  # text that only looks like one is kept
    store.storage.close()
    with JobStore(storage=PostgresLog(store.storage.url)) as reopened:
        assert reopened.get(record.local_id).error_message == "bad\ufffdinput"
