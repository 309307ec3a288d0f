"""The PostgreSQL job log beside today's TinyDB file, at 1,000 to 100,000 jobs, printed as JSON lines.

    python -m benchmarks.store_pg [--sizes 1000 10000 100000] [--samples 100] [--seconds 5]

It starts its own throw-away PostgreSQL (Debian's server, durable commits as in production: fsync on)
and, for each size, fills a fresh database and a fresh TinyDB log with the same realistic records
(``benchmarks.job_records``, ~2.3 KB) and measures, side by side, PostgreSQL's record storage
(``PostgresRecordStorage``, no cache) and the dashboard's store on the TinyDB journal (the dashboard's
store on PostgreSQL is ``benchmarks.store --postgresql``):

* ``add``: recording a new intent (p50, p95 ms);
* ``update``: applying a poll snapshot to a random existing job (p50, p95 ms);
* ``changes_since``: a replica catching up after one write; ``read_all``: reading every record;
* ``concurrent``: writes per second from one process alone, then from two processes at once, each
  updating random jobs for ``--seconds`` seconds (``benchmarks.concurrent_writers``);
* ``ratio`` lines: TinyDB's figure divided by PostgreSQL's (above 1: PostgreSQL is faster).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import psycopg

from benchmarks.concurrent_writers import concurrent_writes
from benchmarks.job_records import (
    API_BASE_URL,
    PEOPLE,
    add_intent,
    intent_request,
    make_record,
    poll_record,
    prompt,
)
from benchmarks.store_shared import fill_database, new_database
from benchmarks.timing import percentiles, time_once
from legnext_core.joblog import JournalStorage
from legnext_core.joblog.postgres import PostgresRecordStorage
from legnext_core.models import Job
from legnext_core.store import JobStore
from scripts.throwaway_postgres import ThrowawayCluster

#: The writer each side of the comparison runs in ``benchmarks.concurrent_writers``.
WRITER_BACKENDS = {"postgresql": "postgresql_records", "tinydb": "journal"}


def _intent(rng: random.Random, now: float) -> dict[str, Any]:
    """A new intent as the record storage receives it."""
    return {
        "local_id": uuid.uuid4().hex,
        "kind": "text_video",
        "api_mode": "live",
        "api_base_url": API_BASE_URL,
        "prompt": prompt(rng),
        "video_type": 0,
        "status": "submitting",
        "estimated_points": 480,
        "submitted_at": now,
        "updated_at": now,
        "submitted_by": rng.choice(PEOPLE),
        "callback_token": uuid.uuid4().hex,
    }


# -- filling ------------------------------------------------------------------------------------------------


def _fill_file(path: Path, records: list[dict[str, Any]]) -> float:
    started = time.perf_counter()
    storage = JournalStorage(path, background_compaction=False)
    storage.write({"jobs": {r["local_id"]: r for r in records}})
    storage.compact()
    storage.close()
    return time.perf_counter() - started


# -- one size -----------------------------------------------------------------------------------------------


def bench_size(
    cluster: ThrowawayCluster, size: int, samples: int, seconds: float, folder: Path
) -> list[dict[str, Any]]:
    rng = random.Random(size)
    now = time.time()
    records = [make_record(rng, now) for _ in range(size)]
    mean_bytes = statistics.fmean(len(orjson.dumps(r)) for r in records)
    url = new_database(cluster, f"bench_{size}")
    log = folder / f"jobs-{size}.json"
    common = {"bench": "store_pg", "size": size, "record_bytes": round(mean_bytes)}
    lines: list[dict[str, Any]] = []

    storage = PostgresRecordStorage(url)
    fill = {"postgresql": fill_database(url, records), "tinydb": _fill_file(log, records)}
    for backend, seconds_taken in fill.items():
        lines.append({**common, "backend": backend, "metric": "fill", "seconds": round(seconds_taken, 2)})
    store = JobStore(log)

    figures: dict[tuple[str, str], dict[str, float]] = {}
    chosen = rng.sample(records, min(samples, len(records)))

    # add: a new intent
    pg_adds = [time_once(lambda: storage.insert(_intent(rng, time.time()))) for _ in range(samples)]
    tiny_adds = [time_once(lambda: add_intent(store, intent_request(prompt(rng)))) for _ in range(samples)]
    figures["postgresql", "add"] = percentiles(pg_adds)
    figures["tinydb", "add"] = percentiles(tiny_adds)

    # update: a poll snapshot applied to a job
    pg_updates = [
        time_once(lambda r=r: storage.change(r["local_id"], lambda old: poll_record(old, time.time())))
        for r in chosen
    ]
    tiny_updates = []
    for record in chosen:
        if not record.get("job_id"):
            record = dict(record, job_id=None)
        job_id = record.get("job_id")
        if job_id:
            snapshot = Job.from_api(
                {"job_id": job_id, "task_type": "video_diffusion", "status": "processing", "progress": 42}
            )
            tiny_updates.append(time_once(lambda s=snapshot: store.apply_job(s, polled_at=time.time())))
        else:
            tiny_updates.append(
                time_once(lambda r=record: store.update_tracking(r["local_id"], poll_count=1))
            )
    figures["postgresql", "update"] = percentiles(pg_updates)
    figures["tinydb", "update"] = percentiles(tiny_updates)

    for (backend, metric), values in figures.items():
        lines.append({**common, "backend": backend, "metric": metric, **values})
    for metric in ("add", "update"):
        lines.append(
            {
                **common,
                "metric": f"ratio_{metric}_p50",
                "tinydb_over_postgresql": round(
                    figures["tinydb", metric]["p50_ms"] / figures["postgresql", metric]["p50_ms"], 1
                ),
            }
        )

    # a replica catching up after one write, and reading everything
    last = storage.last_seq()
    storage.change(chosen[0]["local_id"], lambda old: poll_record(old, time.time()))
    catch_up = [time_once(lambda: storage.changes_since(last)) for _ in range(20)]
    lines.append(
        {**common, "backend": "postgresql", "metric": "changes_since_one_write", **percentiles(catch_up)}
    )
    lines.append(
        {**common, "backend": "postgresql", "metric": "read_all", "seconds": round(time_once(storage.all), 3)}
    )
    store.close()
    lines.append(
        {
            **common,
            "backend": "tinydb",
            "metric": "read_all",
            "seconds": round(time_once(lambda: JobStore(log).recent(None)), 3),
        }
    )
    storage.close()

    # concurrent writers
    ids_file = folder / f"ids-{size}.txt"
    ids_file.write_text("\n".join(r["local_id"] for r in rng.sample(records, min(2000, size))))
    rates: dict[tuple[str, int], float] = {}
    for backend, target in (("postgresql", url), ("tinydb", str(log))):
        for processes in (1, 2):
            writer = WRITER_BACKENDS[backend]
            rates[backend, processes] = concurrent_writes(writer, target, ids_file, processes, seconds)
            lines.append(
                {
                    **common,
                    "backend": backend,
                    "metric": "concurrent",
                    "processes": processes,
                    "writes_per_second": round(rates[backend, processes], 1),
                }
            )
    lines.append(
        {
            **common,
            "metric": "ratio_concurrent_2_processes",
            "postgresql_over_tinydb": round(rates["postgresql", 2] / rates["tinydb", 2], 1),
        }
    )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=5.0, help="how long each concurrent run writes")
    args = parser.parse_args(argv)
    with (
        ThrowawayCluster(durable=True) as cluster,
        tempfile.TemporaryDirectory(prefix="store-pg-bench-") as folder,
    ):
        with psycopg.connect(cluster.url()) as conn:
            server = conn.execute("SHOW server_version").fetchone()[0]
        print(json.dumps({"bench": "store_pg", "postgresql": server, "fsync": "on"}), flush=True)
        for size in args.sizes:
            for line in bench_size(cluster, size, args.samples, args.seconds, Path(folder)):
                print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
