"""The job store on the shared PostgreSQL log, beside the store on the TinyDB journal: ``benchmarks.store``
runs this with ``--postgresql`` (it starts its own throw-away PostgreSQL, durable commits as in production).

For each size, the same records as the rest of ``benchmarks.store`` go into a fresh database and the
dashboard's own :class:`JobStore` opens it (``storage=PostgresLog``), as a replica does; measured:

* ``add`` and ``update`` (p50, p95): recording an intent, applying a poll snapshot;
* ``cold_load``: a replica starting (open, read every record into its cache);
* ``catch_up``: another replica's next read seeing one change;
* ``concurrent``: updates per second from one process, then from two processes at once, for the
  journal and for PostgreSQL, each process a ``JobStore`` updating random jobs.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Jsonb

from legnext_core.joblog.pg_log import PostgresLog
from legnext_core.joblog.pg_schema import ensure_schema
from legnext_core.models import Job, JobKind, JobRequest
from legnext_core.store import JobStore

__all__ = ["bench_postgres", "concurrent_writes"]


def _timed(action: Any) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _fill(url: str, records: list[dict[str, Any]]) -> None:
    with psycopg.connect(url) as conn:
        ensure_schema(conn)
        with conn.cursor().copy("COPY legnext_jobs (record) FROM STDIN") as copy:
            for record in records:
                copy.write_row((Jsonb(record, dumps=orjson.dumps),))
        conn.commit()
        conn.execute("ANALYZE legnext_jobs")


def _new_database(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


def bench_postgres(
    cluster: Any, records: list[dict[str, Any]], samples: int, percentiles: Any
) -> dict[str, Any]:
    """The ``postgresql`` line of one size (the journal's shape) and, under ``url``, the database's URL."""
    url = _new_database(cluster.url(), f"bench_{len(records)}")
    _fill(url, records)
    loads = []
    for _ in range(3):
        started = time.perf_counter()
        with JobStore(storage=PostgresLog(url)) as store:
            assert store.count() == len(records)
        loads.append(time.perf_counter() - started)
    store = JobStore(storage=PostgresLog(url))
    other = JobStore(storage=PostgresLog(url))
    adds = [
        _timed(
            lambda n=n: store.add_intent(
                JobRequest(kind=JobKind.TEXT_VIDEO, prompt=f"{records[n % len(records)].get('prompt')} {n}"),
                api_mode="live",
                api_base_url="https://api.legnext.ai/api",
                estimated_points=480,
            )
        )
        for n in range(samples)
    ]
    processing = [r["job_id"] for r in records if r["status"] == "processing"]
    updates = []
    catch_ups = []
    for number in range(samples):
        job_id = processing[number % len(processing)]
        body = {"job_id": job_id, "task_type": "video_diffusion", "status": "processing"}
        snapshot = Job.from_api({**body, "progress": 1 + number % 99})
        updates.append(_timed(lambda s=snapshot: store.apply_job(s, polled_at=time.time())))
        if number < 40:
            catch_ups.append(_timed(lambda j=job_id: other.by_job_id(j)))
    store.close()
    other.close()
    return {
        "store": "postgresql",
        "add": percentiles(adds),
        "update": percentiles(updates),
        "cold_load": percentiles(loads),
        "catch_up": percentiles(catch_ups),
        "url": url,  # for the concurrent writers; not printed
    }


def _open(backend: str, target: str) -> JobStore:
    return JobStore(storage=PostgresLog(target)) if backend == "postgresql" else JobStore(target)


def worker(backend: str, target: str, ids_file: str, seconds: float, start_at: float) -> None:
    """One writer process: the tracker's write (poll count and time) on random jobs; prints how many."""
    ids = Path(ids_file).read_text().split()
    rng = random.Random()
    store = _open(backend, target)
    time.sleep(max(0.0, start_at - time.time()))
    writes = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        store.update_tracking(rng.choice(ids), poll_count=writes + 1, last_poll_at=time.time())
        writes += 1
    store.close()
    print(json.dumps({"writes": writes}), flush=True)


def concurrent_writes(backend: str, target: str, ids_file: Path, processes: int, seconds: float) -> float:
    """Updates per second from ``processes`` writer processes at once (each opens the log first)."""
    start_at = time.time() + 10.0
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks.store_shared", backend, target, str(ids_file), str(seconds)]
            + [str(start_at)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    writes = 0
    for process in workers:
        out, _ = process.communicate(timeout=seconds + 600)
        if process.returncode != 0:
            raise RuntimeError(f"a {backend} writer failed")
        writes += json.loads(out.strip().splitlines()[-1])["writes"]
    return writes / seconds


if __name__ == "__main__":
    backend_, target_, ids_, seconds_, start_ = sys.argv[1:]
    worker(backend_, target_, ids_, float(seconds_), float(start_))
