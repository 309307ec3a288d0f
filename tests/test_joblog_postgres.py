"""Contract tests of the PostgreSQL record storage, against a real throw-away cluster.

Races run in separate processes (``tests.pg_worker``), each with its own connections, as replicas would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from legnext_core.joblog import pg_schema
from legnext_core.joblog.pg_log import PostgresLog
from legnext_core.joblog.pg_schema import SCHEMA_VERSION, SchemaTooNewError, ensure_schema, schema_version
from legnext_core.joblog.postgres import (
    DuplicateRecordError,
    InvalidRecordError,
    PostgresRecordStorage,
    StatusRegressionError,
    UnknownRecordError,
)
from legnext_core.store import JobStore

REPO = Path(__file__).resolve().parent.parent


def _record(local_id: str, status: str = "submitting", **fields: Any) -> dict[str, Any]:
    return {
        "local_id": local_id,
        "kind": "text_video",
        "api_mode": "sandbox",
        "prompt": "A lighthouse at dusk, «slow» dolly — 夜の海",
        "status": status,
        "submitted_at": 1795000000.123456,
        "updated_at": 1795000000.123456,
        **fields,
    }


@pytest.fixture
def storage(postgres_url: str):
    with PostgresRecordStorage(postgres_url) as opened:
        yield opened


def _race(url: str, commands: list[list[str]], *, timeout: float = 60) -> list[dict[str, Any]]:
    """Run one worker process per command, all starting at the same moment; their results."""
    start_at = str(time.time() + 1.5)
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.pg_worker", url, start_at, *command],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=timeout)
        assert process.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


# -- one process ------------------------------------------------------------------------------------------


def test_a_record_comes_back_as_it_went_in(storage: PostgresRecordStorage) -> None:
    record = _record(
        "a1",
        job_id="job-1",
        callback_token="0123456789abcdef0123456789abcdef",
        submitted_by="ana@example.com",
        video_urls=["https://cdn.example/v/1.mp4?Signature=x&Expires=1"] * 4,
        progress=0,
        seed=2**40,
        reconciliation={"how": "found by prompt", "checked_at": 1795000100.5},
    )
    assert storage.insert(record) == record
    assert storage.get("a1") == record
    assert storage.by_job_id("job-1") == record
    assert storage.by_callback_token("0123456789abcdef0123456789abcdef") == record
    assert storage.get("missing") is None
    assert storage.by_job_id("missing") is None
    assert storage.count() == 1
    assert storage.all().records == [record]


def test_ids_and_tokens_are_unique(storage: PostgresRecordStorage) -> None:
    storage.insert(_record("a1", "pending", job_id="job-1", callback_token="t" * 32))
    with pytest.raises(DuplicateRecordError):
        storage.insert(_record("a1"))
    with pytest.raises(DuplicateRecordError):
        storage.insert(_record("a2", "pending", job_id="job-1"))
    with pytest.raises(DuplicateRecordError):
        storage.insert(_record("a3", callback_token="t" * 32))
    with pytest.raises(InvalidRecordError):
        storage.insert(_record("a4", "half-done"))
    with pytest.raises(InvalidRecordError):
        storage.insert({"status": "queued"})
    assert storage.count() == 1


def test_change_writes_only_what_changed(storage: PostgresRecordStorage) -> None:
    storage.insert(_record("a1"))
    before = storage.last_seq()
    assert storage.change("a1", lambda r: None) == storage.get("a1")
    assert storage.change("a1", lambda r: dict(r)) == storage.get("a1")
    assert storage.last_seq() == before

    seen: list[dict[str, Any]] = []

    def accept(record: dict[str, Any]) -> dict[str, Any]:
        seen.append(dict(record))
        record.update(status="pending", job_id="job-1")
        return record

    changed = storage.change("a1", accept)
    assert seen[0]["status"] == "submitting"
    assert changed["status"] == "pending"
    assert storage.by_job_id("job-1") == changed
    assert storage.last_seq() > before
    assert storage.change_by_job_id("job-1", lambda r: {**r, "progress": 40})["progress"] == 40
    assert storage.change_by_job_id("no-such-job", lambda r: {**r, "progress": 40}) is None
    with pytest.raises(UnknownRecordError):
        storage.change("no-such-record", lambda r: r)


def test_a_transform_editing_lists_in_place_still_writes(storage: PostgresRecordStorage) -> None:
    storage.insert(_record("a1", "pending", job_id="job-1", tags=["a"]))

    def tag(record: dict[str, Any]) -> dict[str, Any]:
        record["tags"].append("b")
        return record

    assert storage.change("a1", tag)["tags"] == ["a", "b"]
    assert storage.get("a1")["tags"] == ["a", "b"]


def test_status_never_goes_backwards(storage: PostgresRecordStorage) -> None:
    storage.insert(_record("a1", "processing", job_id="job-1"))
    with pytest.raises(StatusRegressionError):
        storage.change("a1", lambda r: {**r, "status": "pending"})
    storage.change("a1", lambda r: {**r, "status": "completed"})
    for status in ("failed", "processing", "queued"):
        with pytest.raises(StatusRegressionError):
            storage.change("a1", lambda r, s=status: {**r, "status": s})
    with pytest.raises(StatusRegressionError):
        storage.change("a1", lambda r: {**r, "job_id": "job-2"})
    assert storage.get("a1")["status"] == "completed"
    assert storage.get("a1")["job_id"] == "job-1"


def test_the_database_itself_refuses_a_backwards_write(
    storage: PostgresRecordStorage, postgres_url: str
) -> None:
    # Whoever writes the table (another release, a person with psql) meets the same rule.
    storage.insert(_record("a1", "completed", job_id="job-1"))
    with psycopg.connect(postgres_url) as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            "UPDATE legnext_jobs SET record = jsonb_set(record, '{status}', '\"processing\"')"
            " WHERE local_id = 'a1'"
        )
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute("SELECT status, status_rank FROM legnext_jobs WHERE local_id = 'a1'").fetchone()
    assert row == ("completed", 6)


def test_only_a_line_legnext_did_not_create_goes_back_to_the_queue(storage: PostgresRecordStorage) -> None:
    storage.insert(_record("sent", "submitting"))
    storage.insert(_record("refused", "rejected", error_code=429))
    storage.insert(_record("maybe", "unknown"))
    assert storage.change("sent", lambda r: {**r, "status": "queued"})["status"] == "queued"
    assert storage.change("refused", lambda r: {**r, "status": "queued"})["status"] == "queued"
    with pytest.raises(StatusRegressionError):  # it may exist at Legnext, and be paid for
        storage.change("maybe", lambda r: {**r, "status": "queued"})


def test_changes_since_returns_each_changed_record_once(storage: PostgresRecordStorage) -> None:
    for n in range(3):
        storage.insert(_record(f"a{n}", "queued"))
    everything = storage.all()
    assert [r["local_id"] for r in everything.records] == ["a0", "a1", "a2"]
    assert storage.changes_since(everything.last_seq).records == []

    storage.claim_queued("a1", {"submitter_pid": 1})
    storage.change("a1", lambda r: {**r, "status": "unknown"})
    storage.insert(_record("a3", "queued"))
    later = storage.changes_since(everything.last_seq)
    assert [(r["local_id"], r["status"]) for r in later.records] == [("a1", "unknown"), ("a3", "queued")]
    assert later.last_seq == storage.last_seq()
    assert storage.changes_since(later.last_seq) == ([], later.last_seq)


def test_claim_takes_a_queued_line_once(storage: PostgresRecordStorage) -> None:
    storage.insert(_record("line", "queued"))
    claimed = storage.claim_queued("line", {"submitter_pid": 42, "submitting_since": 5.0})
    assert claimed is not None
    assert (claimed["status"], claimed["submitter_pid"]) == ("submitting", 42)
    assert storage.claim_queued("line", {"submitter_pid": 43}) is None
    assert storage.claim_queued("no-such-line", {}) is None
    assert storage.get("line")["submitter_pid"] == 42


# -- schema ---------------------------------------------------------------------------------------------


def test_migration_is_idempotent(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        assert schema_version(conn) == 0
        assert ensure_schema(conn) == SCHEMA_VERSION
        assert ensure_schema(conn) == SCHEMA_VERSION
        assert conn.execute("SELECT count(*) FROM legnext_schema_version").fetchone()[0] == SCHEMA_VERSION
    with PostgresRecordStorage(postgres_url) as storage:
        storage.insert(_record("a1"))
    with PostgresRecordStorage(postgres_url) as storage:  # a restart keeps the data
        assert storage.get("a1") is not None


def test_a_database_of_the_first_version_is_upgraded_with_its_records_in_place(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A database as the first release left it: version 1 only, with records written and changed there.
    with monkeypatch.context() as first_release:
        first_release.setattr(pg_schema, "_MIGRATIONS", pg_schema._MIGRATIONS[:1])
        first_release.setattr(pg_schema, "SCHEMA_VERSION", 1)
        with psycopg.connect(postgres_url) as conn:
            assert ensure_schema(conn) == 1
            for local_id in ("a0", "a1", "a2"):
                conn.execute(
                    "INSERT INTO legnext_jobs (record) VALUES (%s)", [Jsonb(_record(local_id, "pending"))]
                )
            conn.execute(
                "UPDATE legnext_jobs SET record = jsonb_set(record, '{status}', '\"processing\"')"
                " WHERE local_id = 'a0'"
            )
            conn.commit()
            listed_by_v1 = [r for (r,) in conn.execute("SELECT local_id FROM legnext_jobs ORDER BY seq")]
    assert listed_by_v1 == ["a1", "a2", "a0"]

    # This release's start upgrades it: each record keeps the place the first release listed it at,
    # new records come after, a change keeps a record's place, and the rules still hold.
    with psycopg.connect(postgres_url) as conn:
        assert schema_version(conn) == 1
        assert ensure_schema(conn) == SCHEMA_VERSION
        assert ensure_schema(conn) == SCHEMA_VERSION
        versions = conn.execute("SELECT version FROM legnext_schema_version ORDER BY version").fetchall()
        assert versions == [(v,) for v in range(1, SCHEMA_VERSION + 1)]
    with PostgresRecordStorage(postgres_url) as storage:
        assert [r["local_id"] for r in storage.all().records] == listed_by_v1
        assert storage.get("a0")["status"] == "processing"
        storage.insert(_record("a3", "pending"))
        storage.change("a1", lambda r: {**r, "status": "completed"})
        with pytest.raises(StatusRegressionError):
            storage.change("a0", lambda r: {**r, "status": "pending"})
    with psycopg.connect(postgres_url) as conn:
        placed = conn.execute("SELECT local_id FROM legnext_jobs ORDER BY position").fetchall()
        assert [r for (r,) in placed] == ["a1", "a2", "a0", "a3"]
        assert conn.execute("SELECT count(*) FROM legnext_jobs WHERE position IS NULL").fetchone()[0] == 0
    with JobStore(storage=PostgresLog(postgres_url)) as store:  # the Gallery's newest-first walk
        newest, _ = store.newest_page(lambda record: True, limit=10)
        assert [r.local_id for r in newest] == ["a3", "a0", "a2", "a1"]


def test_a_newer_schema_is_refused(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        ensure_schema(conn)
        conn.execute("INSERT INTO legnext_schema_version (version) VALUES (%s)", [SCHEMA_VERSION + 1])
        conn.commit()
        with pytest.raises(SchemaTooNewError):
            ensure_schema(conn)


@pytest.mark.slow
def test_replicas_starting_together_migrate_once(postgres_url: str) -> None:
    results = _race(postgres_url, [["migrate"]] * 4)
    assert results == [{"version": SCHEMA_VERSION}] * 4
    with psycopg.connect(postgres_url) as conn:
        versions = conn.execute("SELECT version FROM legnext_schema_version ORDER BY version").fetchall()
    assert versions == [(v,) for v in range(1, SCHEMA_VERSION + 1)]


# -- races between processes ----------------------------------------------------------------------------


@pytest.mark.slow
def test_two_processes_claiming_the_same_lines_each_line_goes_to_one(
    storage: PostgresRecordStorage, postgres_url: str
) -> None:
    ids = [f"line-{n}" for n in range(200)]
    storage.insert_many(_record(i, "queued") for i in ids)
    first, second = _race(postgres_url, [["claim", *ids], ["claim", *ids]])
    assert not set(first["won"]) & set(second["won"])
    assert sorted(first["won"] + second["won"]) == sorted(ids)
    assert all(r["status"] == "submitting" for r in storage.all().records)


@pytest.mark.slow
def test_a_stale_writer_cannot_race_a_status_backwards(
    storage: PostgresRecordStorage, postgres_url: str, tmp_path: Path
) -> None:
    ids = [f"job-{n}" for n in range(50)]
    storage.insert_many(_record(i, "submitting") for i in ids)
    done = tmp_path / "forward-done"
    start_at = str(time.time() + 1.5)
    stale = subprocess.Popen(
        [sys.executable, "-m", "tests.pg_worker", postgres_url, start_at, "backwards", str(done), *ids],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    forward = subprocess.run(
        [sys.executable, "-m", "tests.pg_worker", postgres_url, start_at, "forward", *ids],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    done.touch()
    out, err = stale.communicate(timeout=120)
    assert stale.returncode == 0, err
    assert json.loads(forward.stdout)["done"] == len(ids)
    # After the forward writer finished, every stale write was refused, and none got through before.
    assert json.loads(out)["refused_last_pass"] == len(ids)
    assert {r["status"] for r in storage.all().records} == {"completed"}


@pytest.mark.slow
def test_a_replica_following_changes_misses_no_write_of_concurrent_writers(
    storage: PostgresRecordStorage, postgres_url: str
) -> None:
    # Writers commit in an order other than the one they drew sequence numbers in, unless the storage
    # makes them wait; a reader that skipped a write would end with a stale or missing record.
    start_at = str(time.time() + 1.5)
    writers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.pg_worker", postgres_url, start_at, "churn", name, "150"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("w1", "w2", "w3")
    ]
    view: dict[str, dict[str, Any]] = {}
    last = 0
    reads = 0
    while any(writer.poll() is None for writer in writers):
        changes = storage.changes_since(last)
        assert changes.last_seq >= last
        view.update((r["local_id"], r) for r in changes.records)
        last = changes.last_seq
        reads += 1
    for writer in writers:
        assert writer.wait(timeout=60) == 0, writer.stderr.read()
    changes = storage.changes_since(last)
    view.update((r["local_id"], r) for r in changes.records)
    final = {r["local_id"]: r for r in storage.all().records}
    assert len(final) == 450
    assert reads > 10  # the reader really followed along while they wrote
    assert view == final
