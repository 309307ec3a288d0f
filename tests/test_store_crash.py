"""Crash and concurrency harnesses for the job log: SIGKILL mid-write, many threads, several processes."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from legnext_core.models import JobKind, JobRequest
from legnext_core.store import JobStore
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


def _run_and_kill(log: Path, delay: float) -> str:
    """Fork a writer, SIGKILL it after ``delay`` seconds, return what it acknowledged."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the writer: never returns into pytest
        try:
            os.close(read_fd)
            write_forever(log, write_fd, "crash", 100_000)
        finally:
            os._exit(0)
    os.close(write_fd)
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    chunks = []
    while chunk := os.read(read_fd, 65536):
        chunks.append(chunk)
    os.close(read_fd)
    return b"".join(chunks).decode()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the harness forks writers")
def test_sigkilled_writers_never_lose_an_acknowledged_write_or_leave_an_unreadable_file(tmp_path):
    log = tmp_path / "jobs.json"
    _seed(log, 300)
    rng = random.Random(20261121)
    acked_adds: set[str] = set()
    acked_polls: dict[str, int] = {}
    kills_with_temp_file_left = 0
    kills = 60
    for _ in range(kills):
        acks = _run_and_kill(log, rng.uniform(0.02, 0.12))
        added, polls = parse_acks(acks)
        acked_adds |= added
        for local_id, count in polls.items():
            acked_polls[local_id] = max(acked_polls.get(local_id, 0), count)
        # The file parses after every kill, whatever the writer was doing.
        on_disk = json.loads(log.read_bytes())["jobs"]
        assert acked_adds <= on_disk.keys()
        kills_with_temp_file_left += bool(list(tmp_path.glob(".jobs.json.*.tmp")))

    # The harness must actually have hit writes in progress, or it proves nothing.
    assert kills_with_temp_file_left > 0
    with JobStore(log) as store:
        assert list(tmp_path.glob(".jobs.json.*.tmp")) == []
        assert store.recovered_from is None
        assert len(acked_adds) > kills  # the writers got real work done between kills
        for local_id in acked_adds:
            assert store.get(local_id) is not None
        for local_id, count in acked_polls.items():
            assert store.get(local_id)["poll_count"] >= count
        # Writers killed between the intent and its answer left records resolved as interrupted.
        assert store.in_flight_submissions() == []


def test_eight_threads_and_two_processes_writing_at_once_lose_nothing(tmp_path):
    log = tmp_path / "jobs.json"
    _seed(log, 50)
    per_process = 60
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.store_writer", str(log), f"process{n}", str(per_process)],
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
                ids.append(record["local_id"])
                store.update_tracking(record["local_id"], poll_count=item + 1)
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
    on_disk = json.loads(log.read_bytes())["jobs"]
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
    # The first store's cache followed the other writers too.
    assert store.count() == reopened.count()
    store.close()
    reopened.close()
