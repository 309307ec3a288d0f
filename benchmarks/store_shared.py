"""The job store on the shared PostgreSQL log, beside the store on the TinyDB journal: ``benchmarks.store``
runs this with ``--postgresql`` (it starts its own throw-away PostgreSQL, durable commits as in production).

For each size, the same records as the rest of ``benchmarks.store`` go into a fresh database and the
dashboard's own :class:`JobStore` opens it (``storage=PostgresLog``), as a replica does; measured:

* ``add`` and ``update`` (p50, p95): recording an intent, applying a poll snapshot;
* ``cold_load``: a replica starting (open, read every record into its cache);
* ``catch_up``: another replica's next read seeing one change;
* ``concurrent``: updates per second from one process, then from two processes at once, for the
  journal and for PostgreSQL (``benchmarks.concurrent_writers``).

``new_database`` and ``fill_database`` also serve ``benchmarks.store_pg``.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Jsonb

from benchmarks.job_records import add_intent, intent_request
from benchmarks.timing import percentiles, time_once
from legnext_core.joblog.pg_log import PostgresLog
from legnext_core.joblog.pg_schema import ensure_schema
from legnext_core.models import Job
from legnext_core.store import JobStore
from scripts.throwaway_postgres import ThrowawayCluster

__all__ = ["bench_postgres", "fill_database", "new_database"]


def new_database(cluster: ThrowawayCluster, name: str) -> str:
    """A fresh, empty database ``name`` on ``cluster`` (dropped first if it was there); its URL."""
    with psycopg.connect(cluster.url(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    return cluster.url(name)


def fill_database(url: str, records: list[dict[str, Any]]) -> float:
    """COPY every record in one transaction (the trigger still stamps each row); seconds taken."""
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        ensure_schema(conn)
        with conn.cursor().copy("COPY legnext_jobs (record) FROM STDIN") as copy:
            for record in records:
                copy.write_row((Jsonb(record, dumps=orjson.dumps),))
        conn.commit()
        conn.execute("ANALYZE legnext_jobs")
    return time.perf_counter() - started


def bench_postgres(cluster: ThrowawayCluster, records: list[dict[str, Any]], samples: int) -> dict[str, Any]:
    """The ``postgresql`` line of one size (the journal's shape) and, under ``url``, the database's URL."""
    url = new_database(cluster, f"bench_{len(records)}")
    fill_database(url, records)
    loads = []
    for _ in range(3):
        started = time.perf_counter()
        with JobStore(storage=PostgresLog(url)) as store:
            assert store.count() == len(records)
        loads.append(time.perf_counter() - started)
    store = JobStore(storage=PostgresLog(url))
    other = JobStore(storage=PostgresLog(url))
    adds = [
        time_once(lambda n=n: add_intent(store, intent_request(f"{records[n % len(records)]['prompt']} {n}")))
        for n in range(samples)
    ]
    processing = [r["job_id"] for r in records if r["status"] == "processing"]
    updates = []
    catch_ups = []
    for number in range(samples):
        job_id = processing[number % len(processing)]
        body = {"job_id": job_id, "task_type": "video_diffusion", "status": "processing"}
        snapshot = Job.from_api({**body, "progress": 1 + number % 99})
        updates.append(time_once(lambda s=snapshot: store.apply_job(s, polled_at=time.time())))
        if number < 40:
            catch_ups.append(time_once(lambda j=job_id: other.by_job_id(j)))
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
