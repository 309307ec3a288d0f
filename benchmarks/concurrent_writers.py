"""Updates per second from several processes writing to one job log at once.

Each writer process opens the log, says it is ready, waits for the word to start (so every process is
writing before any stops, whatever opening took), then applies the tracker's write to random jobs for
a fixed time and prints how many it made. The parent runs them as
``python -m benchmarks.concurrent_writers BACKEND TARGET IDS_FILE SECONDS``; backends:

* ``journal``: the dashboard's ``JobStore`` on the TinyDB journal file ``TARGET``;
* ``postgresql``: the same ``JobStore`` on the shared PostgreSQL log at URL ``TARGET``;
* ``postgresql_records``: the PostgreSQL record storage under it, one connection, no cache.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.job_records import poll_record
from legnext_core.joblog.pg_log import PostgresLog
from legnext_core.joblog.postgres import PostgresRecordStorage
from legnext_core.store import JobStore

BACKENDS = ("journal", "postgresql", "postgresql_records")


def _writer(backend: str, target: str) -> tuple[Callable[[str, int], None], Callable[[], None]]:
    """How ``backend`` records one poll of a job, and how it closes."""
    if backend == "postgresql_records":
        storage = PostgresRecordStorage(target, max_connections=1)
        return (
            lambda local_id, _: storage.change(local_id, lambda r: poll_record(r, time.time()))
        ), storage.close
    store = JobStore(storage=PostgresLog(target)) if backend == "postgresql" else JobStore(target)
    store.count()  # read the whole log now, not inside the timed writes

    def write(local_id: str, number: int) -> None:
        store.update_tracking(local_id, poll_count=number, last_poll_at=time.time())

    return write, store.close


def worker(backend: str, target: str, ids_file: str, seconds: float) -> None:
    """One writer process (see the module docstring); prints ``{"writes": n}``."""
    ids = Path(ids_file).read_text().split()
    rng = random.Random()
    write, close = _writer(backend, target)
    print("ready", flush=True)
    sys.stdin.readline()
    writes = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        writes += 1
        write(rng.choice(ids), writes)
    close()
    print(json.dumps({"writes": writes}), flush=True)


def concurrent_writes(backend: str, target: str, ids_file: Path, processes: int, seconds: float) -> float:
    """Updates per second from ``processes`` writer processes at once, all started together."""
    command = [sys.executable, "-m", "benchmarks.concurrent_writers", backend, target, str(ids_file)]
    workers = [
        subprocess.Popen(command + [str(seconds)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    for process in workers:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"a {backend} writer failed to open the log")
    for process in workers:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    writes = 0
    for process in workers:
        out, _ = process.communicate(timeout=seconds + 600)
        if process.returncode != 0:
            raise RuntimeError(f"a {backend} writer failed")
        writes += json.loads(out.strip().splitlines()[-1])["writes"]
    return writes / seconds


if __name__ == "__main__":
    backend_, target_, ids_, seconds_ = sys.argv[1:]
    if backend_ not in BACKENDS:
        raise SystemExit(f"backend must be one of {', '.join(BACKENDS)}")
    worker(backend_, target_, ids_, float(seconds_))
