"""Crash and concurrency harnesses for the job log: SIGKILL mid-write, many threads, several processes."""

from __future__ import annotations

import json
import os
import random
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from legnext_core.models import JobKind, JobRequest
from legnext_core.store import JobStore
from tests.joblog_files import journal_lines, read_log
from tests.store_writer import parse_acks, write_forever

REPO_ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def _seed(log: Path, count: int) -> None:
    """Give the log some bulk, so each write takes long enough for a kill to land inside it."""
    with JobStore(log) as store:
        for number in range(count):
            store.add_intent(
                JobRequest(kind=JobKind.TEXT_VIDEO, prompt=f"seed {number} " + "x" * 200),
                api_mode="sandbox",
                api_base_url="http://127.0.0.1:1/api",
                estimated_points=480,
                status="queued",
            )


def _run_and_kill(log: Path, delay: float, compact_min_bytes: int, *, in_compaction: bool = False) -> str:
    """Fork a writer, SIGKILL it ``delay`` seconds after its first acknowledged add; return its acks.

    The clock starts at the writer's first acknowledgement, not at the fork: on a loaded machine opening
    the log can outlast any fixed delay, and a kill there would test nothing. So every run kills a writer
    that has done real work, whatever the machine's load. ``in_compaction``: the delay starts once a
    compaction has begun as well (its temporary file exists).
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the writer: never returns into pytest
        try:
            os.close(read_fd)
            write_forever(log, write_fd, "crash", 100_000, compact_min_bytes=compact_min_bytes)
        finally:
            os._exit(0)
    os.close(write_fd)
    acks = bytearray()
    try:
        # The first line a writer acknowledges is an add.
        _read_acks_until(read_fd, acks, lambda: b"\n" in acks, "its first acknowledged add")
        if in_compaction:
            _read_acks_until(read_fd, acks, lambda: bool(_compaction_files(log.parent)), "a compaction")
        time.sleep(delay)
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    while chunk := os.read(read_fd, 65536):
        acks += chunk
    os.close(read_fd)
    return acks.decode()


def _read_acks_until(read_fd: int, acks: bytearray, reached: Callable[[], bool], what: str) -> None:
    """Collect the writer's acknowledgements (so it never blocks on a full pipe) until ``reached()``."""
    deadline = time.monotonic() + 120
    while not reached():
        assert time.monotonic() < deadline, f"the writer never reached {what}"
        if select.select([read_fd], [], [], 0.0005)[0]:
            chunk = os.read(read_fd, 65536)
            assert chunk, f"the writer exited before {what}"
            acks += chunk


def _compaction_files(folder: Path) -> list[Path]:
    """A compaction's temporary snapshot or journal (a writer's appends leave none)."""
    return list(folder.glob(".jobs.json.*.tmp"))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the harness forks writers")
def test_sigkilled_writers_never_lose_an_acknowledged_write_or_leave_an_unreadable_file(tmp_path):
    log = tmp_path / "jobs.json"
    _seed(log, 1500)  # about 1 MB, so a compaction takes long enough for kills to land inside it
    with JobStore(log) as store:
        store.storage.compact()
    seeded_seq = json.loads(log.read_bytes())["_journal_seq"]
    rng = random.Random(20261121)
    acked_adds: set[str] = set()
    acked_polls: dict[str, int] = {}
    seen_unacknowledged: set[str] = set()
    kills_inside_compaction = 0
    kills_between_append_and_ack = 0
    kills = 60
    for number in range(kills):
        # Every third kill waits for a compaction to start, then lands somewhere inside it.
        in_compaction = number % 3 == 2
        delay = rng.uniform(0, 0.05) if in_compaction else rng.uniform(0, 0.35)
        acks = _run_and_kill(log, delay, compact_min_bytes=48_000, in_compaction=in_compaction)
        added, polls = parse_acks(acks)
        assert added, "every run kills a writer after its first acknowledged add"
        # The files read back whole after every kill, whatever the writer was doing.
        on_disk = read_log(log)
        assert acked_adds | added <= on_disk.keys()
        for local_id, count in polls.items():
            assert on_disk[local_id]["poll_count"] >= count
        # A record on disk the writer never acknowledged: the kill landed between append and answer.
        crash_records = {k for k, r in on_disk.items() if r.get("prompt", "").startswith("crash ")}
        unacknowledged = crash_records - acked_adds - added - seen_unacknowledged
        kills_between_append_and_ack += bool(unacknowledged)
        seen_unacknowledged |= unacknowledged
        acked_adds |= added
        for local_id, count in polls.items():
            acked_polls[local_id] = max(acked_polls.get(local_id, 0), count)
        kills_inside_compaction += bool(_compaction_files(tmp_path))

    # The harness must actually have hit appends and compactions in progress, or it proves nothing.
    assert kills_between_append_and_ack > 0
    assert kills_inside_compaction > 0
    with JobStore(log) as store:
        assert _compaction_files(tmp_path) == []
        assert store.recovered_from is None
        assert json.loads(log.read_bytes())["_journal_seq"] > seeded_seq  # writers compacted too
        assert len(acked_adds) >= kills  # each killed writer had committed an add first (counted above)
        for local_id in acked_adds:
            assert store.get(local_id) is not None
        for local_id, count in acked_polls.items():
            assert store.get(local_id).poll_count >= count
        # Writers killed between the intent and its answer left records resolved as interrupted.
        assert store.in_flight_submissions() == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks a process that dies mid-compaction")
def test_death_between_the_new_snapshot_and_the_new_journal_loses_nothing(tmp_path):
    log = tmp_path / "jobs.json"
    _seed(log, 40)
    expected = read_log(log)
    pid = os.fork()
    if pid == 0:  # dies right after the new snapshot is in place, before the journal is replaced
        try:
            store = JobStore(log, compact_min_bytes=1 << 30)
            store.update_tracking(next(iter(expected)), poll_count=7)
            store.storage._create_journal = lambda *args: os._exit(0)
            store.storage.compact()
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    snapshot = json.loads(log.read_bytes())
    header = journal_lines(tmp_path / "jobs.json.journal")[0][0]
    assert snapshot["_journal_seq"] > header[0]  # the new snapshot, the old journal
    expected[next(iter(expected))]["poll_count"] = 7
    assert read_log(log) == expected
    with JobStore(log) as store:
        assert {r.local_id: r.to_dict() for r in store.recent(None)} == expected
        store.update_tracking(next(iter(expected)), poll_count=8)
    with JobStore(log) as store:
        assert store.get(next(iter(expected))).poll_count == 8
        assert store.count() == 40


def test_eight_threads_and_two_processes_writing_at_once_lose_nothing(tmp_path):
    log = tmp_path / "jobs.json"
    _seed(log, 50)
    per_process = 60
    processes = [
        subprocess.Popen(
            # Small compaction thresholds: the processes also compact while the others write.
            [sys.executable, "-m", "tests.store_writer", str(log), f"process{n}", str(per_process), "40000"],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
        )
        for n in range(2)
    ]
    store = JobStore(log)
    per_thread = 25
    thread_ids: dict[int, list[str]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def thread_writer(number: int) -> None:
        try:
            start.wait()
            ids = thread_ids.setdefault(number, [])
            for item in range(per_thread):
                record = store.add_intent(
                    JobRequest(kind=JobKind.IMAGE, prompt=f"thread {number} item {item}"),
                    api_mode="sandbox",
                    api_base_url="http://127.0.0.1:1/api",
                    estimated_points=80,
                )
                ids.append(record.local_id)
                store.update_tracking(record.local_id, poll_count=item + 1)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=thread_writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    outputs = [process.communicate(timeout=120)[0].decode() for process in processes]
    assert errors == []
    assert [process.returncode for process in processes] == [0, 0]

    reopened = JobStore(log)
    on_disk = read_log(log)
    assert len(on_disk) == reopened.count() == 50 + 8 * per_thread + 2 * per_process
    assert len(thread_ids) == 8
    for ids in thread_ids.values():
        assert len(ids) == per_thread
        for item, local_id in enumerate(ids):
            assert on_disk[local_id]["poll_count"] == item + 1
    for output in outputs:
        added, polls = parse_acks(output)
        assert len(added) == per_process
        for local_id in added:
            assert on_disk[local_id]["poll_count"] == polls[local_id] == 2
    # The first store's cache followed the other writers (and their compactions) too.
    assert store.count() == reopened.count()
    assert {r.local_id: r.to_dict() for r in store.recent(None)} == on_disk
    assert json.loads(log.read_bytes())["_journal_seq"] > 0
    store.close()
    reopened.close()
