"""Moving a job log between a TinyDB file and PostgreSQL, and back, checked record for record."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from legnext_core.joblog.move import compare_logs
from legnext_core.joblog.postgres import PostgresRecordStorage
from legnext_core.models import JobKind, JobRequest
from legnext_core.store import JobStore

REPO = Path(__file__).resolve().parent.parent


def _move(source: str | Path, destination: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "legnext_core.joblog.move", "--from", str(source), "--to", str(destination)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _make_log(path: Path) -> list[dict]:
    """A log written by the job store itself, with a record carrying every field branches agreed on."""
    with JobStore(path) as store:
        for number in range(30):
            request = JobRequest(
                kind=JobKind.TEXT_VIDEO, prompt=f"Line {number}: a lighthouse at dusk — «夜»"
            )
            status = "queued" if number % 3 == 0 else "submitting"
            record = store.add_intent(
                request,
                api_mode="sandbox",
                api_base_url="http://127.0.0.1:1/api",
                estimated_points=480,
                status=status,
                batch_id="batch-1",
            )
            if status == "submitting":
                store.record_unknown(record.local_id, "The connection dropped after sending.")
            store.update_tracking(record.local_id, poll_count=number, note=f"note {number}")
        # As the log holds them on disk: the PostgreSQL storage works on these objects.
        return [r.to_dict() for r in store.recent(None)]


def test_a_log_moves_to_postgresql_and_back_unchanged(tmp_path: Path, postgres_url: str) -> None:
    log = tmp_path / "jobs.json"
    originals = _make_log(log)

    there = _move(log, postgres_url)
    assert there.returncode == 0, there.stderr
    assert "checked: 30 identical, 0 missing, 0 extra, 0 different" in there.stdout
    with PostgresRecordStorage(postgres_url) as storage:
        assert {r["local_id"]: r for r in storage.all().records} == {r["local_id"]: r for r in originals}

    back = tmp_path / "back" / "jobs.json"
    returned = _move(postgres_url, back)
    assert returned.returncode == 0, returned.stderr
    assert "checked: 30 identical" in returned.stdout
    with JobStore(back) as store:  # the dashboard's own store reads the file written back
        assert sorted((r.to_dict() for r in store.recent(None)), key=lambda r: r["local_id"]) == sorted(
            originals, key=lambda r: r["local_id"]
        )


def _log_bytes(log: Path) -> list[bytes | None]:
    """The log's snapshot and journal, as they are on disk (None for a file that is not there)."""
    files = (log, log.with_name(log.name + ".journal"))
    return [f.read_bytes() if f.exists() else None for f in files]


def test_a_move_never_merges_nor_overwrites(tmp_path: Path, postgres_url: str) -> None:
    log = tmp_path / "jobs.json"
    _make_log(log)
    assert _move(log, postgres_url).returncode == 0

    again = _move(log, postgres_url)
    assert again.returncode == 2
    assert "already holds job records" in again.stderr
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM legnext_jobs").fetchone()[0] == 30

    before = _log_bytes(log)
    onto_file = _move(postgres_url, log)
    assert onto_file.returncode == 2
    assert "never overwrites" in onto_file.stderr
    assert _log_bytes(log) == before

    assert _move(tmp_path / "missing.json", postgres_url).returncode == 2
    assert _move(log, tmp_path / "other.json").returncode == 2


def test_an_unreachable_database_is_a_message_without_the_password(tmp_path: Path) -> None:
    log = tmp_path / "jobs.json"
    _make_log(log)
    result = _move(log, "postgresql://user:s3cret-pw@127.0.0.1:1/db?connect_timeout=2")
    assert result.returncode == 2
    assert "nothing was copied" in result.stderr
    assert "Traceback" not in result.stderr
    assert "s3cret-pw" not in result.stdout + result.stderr


def test_the_check_reports_every_difference() -> None:
    source = {"a": {"local_id": "a", "status": "completed"}, "b": {"local_id": "b"}, "c": {"local_id": "c"}}
    copy = {"a": {"local_id": "a", "status": "failed", "note": "x"}, "c": {"local_id": "c"}, "d": {}}
    comparison = compare_logs(source, copy)
    assert not comparison.ok
    assert (comparison.identical, comparison.missing, comparison.extra) == (1, ["b"], ["d"])
    assert comparison.different == {"a": ["note", "status"]}
    assert compare_logs(source, dict(source)).ok


@pytest.mark.parametrize("bad", ["", "not json", '{"jobs": {"x": {"local_id": "y"}}}'])
def test_an_unreadable_or_misfiled_log_is_not_moved(tmp_path: Path, postgres_url: str, bad: str) -> None:
    log = tmp_path / "jobs.json"
    log.write_text(bad)
    result = _move(log, postgres_url)
    if bad == "":
        assert result.returncode == 0  # an empty log moves as zero records
        assert "read 0 records" in result.stdout
    else:
        assert result.returncode == 2
        assert "nothing was copied" in result.stderr
        assert "Traceback" not in result.stderr
