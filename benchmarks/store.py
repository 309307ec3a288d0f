"""The job log's speed at 1,000 to 100,000 jobs, against what a user would otherwise pick. JSON lines.

    python -m benchmarks.store [--sizes 1000 10000 30000 100000] [--samples 200] [--postgresql]

For each size, in the same run and folder, with realistic records (``benchmarks.job_records``: prompts
of 50-600 characters, four signed URLs of ~250 characters on finished jobs: about 2.3 KB each):

* ``journal``: the dashboard's store (``JobStore`` over the journaled TinyDB storage): adding an intent
  and applying a poll snapshot (p50/p95), a full cold load (open the log and read every record),
  another process's catch-up after one change (the time its next read takes to see it), one
  compaction, and the files' size;
* ``tinydb_default``: TinyDB's own JSON storage, which rewrites the whole file per change;
* ``tinydb_caching``: TinyDB's CachingMiddleware over it (writes stay in memory until 1,000 of them
  or a close; a crash loses them, and another process never sees them);
* ``sqlite_wal``: stdlib sqlite3 in WAL mode with ``synchronous=FULL``, one row per record (the
  record as JSON beside the indexed columns);
* ``bare_fsync``: appending 2 KB to a file in the same folder and fsyncing it, the floor of any
  durable write.

With ``--postgresql`` it starts a throw-away PostgreSQL and adds the store on the shared log beside them
(``postgresql``: the same figures, see ``benchmarks/store_shared.py``) and updates per second from one and
from two processes writing at once, journal and PostgreSQL (``concurrent`` lines).

Cold loads are given in wall time and in CPU time (``cold_load_cpu``): on a machine shared with
other work the wall time says as much about the neighbours as about the log.
The journal's cold loads open the log as the dashboard keeps it (a snapshot of one record per
line); ``first_load_of_old_one_line_log_*`` is the one open of an older one-line log before its
first compaction rewrites it.

The slow baselines take fewer samples at large sizes so the run stays a few minutes. Targets at
100,000 jobs: add and update p50 <= 3 bare fsyncs, catch-up <= 5 ms, cold load <= 2.5 s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.middlewares import CachingMiddleware
from tinydb.storages import JSONStorage
from tinydb.table import Document, Table

from benchmarks.concurrent_writers import concurrent_writes
from benchmarks.job_records import add_intent, intent_request, make_record, prompt
from benchmarks.timing import percentiles
from legnext_core.models import Job
from legnext_core.store import JobStore

ROOT = Path(__file__).resolve().parent.parent


def timed(action: Callable[[], Any], count: int, fsyncs: list[float] | None = None) -> list[float]:
    """Times of ``action``; with ``fsyncs``, a bare fsync is timed before each sample (same moment)."""
    samples = []
    probe = _FsyncProbe(_PROBE_FOLDER[0]) if fsyncs is not None else None
    for _ in range(count):
        if probe is not None and fsyncs is not None:
            fsyncs.append(probe.once())
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    if probe is not None:
        probe.close()
    return samples


_PROBE_FOLDER: list[Path] = [Path(".")]


class _FsyncProbe:
    """Appends 2 KB to a file in the log's folder and fsyncs it: the floor of any durable write."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / f"fsync-probe-{uuid.uuid4().hex}.bin"
        self.handle = open(self.path, "ab")  # noqa: SIM115 - closed by close()
        self.block = os.urandom(2048)

    def once(self) -> float:
        started = time.perf_counter()
        self.handle.write(self.block)
        self.handle.flush()
        os.fsync(self.handle.fileno())
        return time.perf_counter() - started

    def close(self) -> None:
        self.handle.close()
        self.path.unlink()


def _snapshot(job_id: str, progress: int) -> Job:
    return Job.from_api(
        {"job_id": job_id, "task_type": "video_diffusion", "status": "processing", "progress": progress}
    )


# -- the dashboard's store -------------------------------------------------------------------------------


def bench_journal(
    folder: Path, records: list[dict[str, Any]], samples: int, fsyncs: list[float]
) -> dict[str, Any]:
    log = folder / "journal" / "jobs.json"
    log.parent.mkdir()
    # An old single-file log: the store reads it as its first snapshot (as a whole), and its first
    # compaction rewrites it one record per line, as the dashboard keeps its log from then on.
    log.write_bytes(json.dumps({"jobs": {r["local_id"]: r for r in records}}).encode())
    started, cpu = time.perf_counter(), time.process_time()
    with JobStore(log) as store:
        assert store.count() == len(records)
        old_format_load = (time.perf_counter() - started, time.process_time() - cpu)
        assert store.storage.compact()
    loads, load_cpu = [], []
    for _ in range(3):
        started, cpu = time.perf_counter(), time.process_time()
        with JobStore(log) as store:
            assert store.count() == len(records)
        loads.append(time.perf_counter() - started)
        load_cpu.append(time.process_time() - cpu)
    rng = random.Random(len(records))
    # Compaction would run on its own thread during the samples; it is timed separately below.
    store = JobStore(log, compact_min_bytes=1 << 40)
    requests = [intent_request(f"{prompt(rng)} #{n}") for n in range(samples)]
    _PROBE_FOLDER[0] = log.parent
    adds = timed(lambda: add_intent(store, requests.pop()), samples, fsyncs)
    processing = [r["job_id"] for r in records if r["status"] == "processing"]
    polls = iter(range(10**9))

    def poll() -> None:
        # A poll the tracker records: the snapshot and the poll time (so every sample writes).
        number = next(polls)
        job = _snapshot(processing[number % len(processing)], 1 + number % 99)
        store.apply_job(job, polled_at=time.time())

    updates = timed(poll, samples, fsyncs)
    catch_up = catch_up_in_another_process(store, log, processing, min(samples, 40))
    journal_bytes = store.storage.journal_bytes()
    started = time.perf_counter()
    assert store.storage.compact()
    compaction = time.perf_counter() - started
    file_bytes = store.storage.file_bytes()
    store.close()
    return {
        "store": "journal",
        "add": percentiles(adds),
        "update": percentiles(updates),
        "cold_load": percentiles(loads),
        "cold_load_cpu": percentiles(load_cpu),
        "first_load_of_old_one_line_log_s": round(old_format_load[0], 3),
        "first_load_of_old_one_line_log_cpu_s": round(old_format_load[1], 3),
        "catch_up": percentiles(catch_up),
        "compaction_ms": round(compaction * 1000, 1),
        "journal_bytes_before_compaction": journal_bytes,
        "file_bytes": file_bytes,
    }


def catch_up_in_another_process(store: JobStore, log: Path, job_ids: list[str], count: int) -> list[float]:
    """Another process holds the log open; after each change here, time its next read seeing it."""
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.store", "--catch-up-child", str(log)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    assert child.stdout.readline().strip() == "ready"
    record = store.by_job_id(job_ids[0])
    samples = []
    for number in range(count):
        store.update_tracking(record.local_id, poll_count=1000 + number)
        child.stdin.write(f"{record.local_id} {1000 + number}\n")
        child.stdin.flush()
        samples.append(float(child.stdout.readline()))
    child.stdin.close()
    child.wait(timeout=60)
    return samples


def catch_up_child(log: Path) -> None:
    store = JobStore(log)
    store.count()
    print("ready", flush=True)
    for line in sys.stdin:
        local_id, expected = line.split()
        started = time.perf_counter()
        record = store.get(local_id)
        elapsed = time.perf_counter() - started
        assert record.poll_count == int(expected), "the change was not seen"
        print(elapsed, flush=True)


# -- what a user would otherwise pick --------------------------------------------------------------------


class _StrIdTable(Table):
    document_id_class = str


class _StrIdDB(TinyDB):
    table_class = _StrIdTable


def bench_tinydb(folder: Path, records: list[dict[str, Any]], samples: int, caching: bool) -> dict[str, Any]:
    path = folder / ("caching.json" if caching else "default.json")
    path.write_bytes(json.dumps({"jobs": {r["local_id"]: r for r in records}}).encode())

    def open_db() -> TinyDB:
        return _StrIdDB(path, storage=CachingMiddleware(JSONStorage) if caching else JSONStorage)

    loads, load_cpu = [], []
    for _ in range(2):
        started, cpu = time.perf_counter(), time.process_time()
        db = open_db()
        assert len(db.table("jobs").all()) == len(records)
        db.close()
        loads.append(time.perf_counter() - started)
        load_cpu.append(time.process_time() - cpu)
    rng = random.Random(len(records))
    db = open_db()
    table = db.table("jobs")
    table.all()  # warm CachingMiddleware's cache
    adds = timed(
        lambda: table.insert(Document(make_record(rng, time.time()), doc_id=uuid.uuid4().hex)), samples
    )
    ids = [r["local_id"] for r in records if r["status"] == "processing"]
    counter = iter(range(10**9))
    updates = timed(lambda: table.update({"progress": next(counter) % 99}, doc_ids=[ids[0]]), samples)
    db.close()
    result = {
        "store": "tinydb_caching" if caching else "tinydb_default",
        "add": percentiles(adds),
        "update": percentiles(updates),
        "cold_load": percentiles(loads),
        "cold_load_cpu": percentiles(load_cpu),
        "file_bytes": path.stat().st_size,
    }
    if caching:
        result["note"] = (
            "writes stay in memory until 1,000 or close: lost on a crash, unseen by other processes"
        )
    else:
        result["catch_up"] = result["cold_load"]  # another process can only read the whole file again
    return result


def bench_sqlite(folder: Path, records: list[dict[str, Any]], samples: int) -> dict[str, Any]:
    path = folder / "jobs.sqlite"

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        return connection

    db = connect()
    db.execute(
        "CREATE TABLE jobs (local_id TEXT PRIMARY KEY, job_id TEXT, status TEXT, submitted_at REAL, doc TEXT)"
    )
    db.execute("CREATE INDEX jobs_job_id ON jobs(job_id)")
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO jobs VALUES (?, ?, ?, ?, ?)",
        [(r["local_id"], r.get("job_id"), r["status"], r["submitted_at"], json.dumps(r)) for r in records],
    )
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    loads, load_cpu = [], []
    for _ in range(3):
        started, cpu = time.perf_counter(), time.process_time()
        reader = connect()
        everything = [json.loads(doc) for (doc,) in reader.execute("SELECT doc FROM jobs")]
        reader.close()
        loads.append(time.perf_counter() - started)
        load_cpu.append(time.process_time() - cpu)
    assert len(everything) == len(records)
    rng = random.Random(len(records))
    db = connect()

    def add() -> None:
        r = make_record(rng, time.time())
        db.execute(
            "INSERT INTO jobs VALUES (?, ?, ?, ?, ?)",
            (uuid.uuid4().hex, r.get("job_id"), r["status"], r["submitted_at"], json.dumps(r)),
        )

    processing = [r for r in records if r["status"] == "processing"]
    counter = iter(range(10**9))

    def update() -> None:
        # A poll: read the record, merge, write it back, in one transaction.
        record = processing[next(counter) % len(processing)]
        db.execute("BEGIN IMMEDIATE")
        (doc,) = db.execute("SELECT doc FROM jobs WHERE job_id = ?", (record["job_id"],)).fetchone()
        merged = json.loads(doc)
        merged["progress"] = (merged.get("progress") or 0) % 99 + 1
        db.execute("UPDATE jobs SET doc = ? WHERE local_id = ?", (json.dumps(merged), merged["local_id"]))
        db.execute("COMMIT")

    adds = timed(add, samples)
    updates = timed(update, samples)
    reader = connect()
    target = processing[0]["local_id"]
    catch_up = []
    for _ in range(min(samples, 40)):
        update()
        started = time.perf_counter()
        reader.execute("SELECT doc FROM jobs WHERE local_id = ?", (target,)).fetchone()
        catch_up.append(time.perf_counter() - started)
    reader.close()
    db.close()
    size = sum(p.stat().st_size for p in folder.glob("jobs.sqlite*"))
    return {
        "store": "sqlite_wal",
        "add": percentiles(adds),
        "update": percentiles(updates),
        "cold_load": percentiles(loads),
        "cold_load_cpu": percentiles(load_cpu),
        "catch_up": percentiles(catch_up),
        "file_bytes": size,
        "note": "catch-up here is one indexed read of the changed row; queries always go to the file",
    }


def bench_size(size: int, samples: int, root: Path, cluster: Any = None) -> list[dict[str, Any]]:
    folder = root / f"size-{size}"
    folder.mkdir()
    rng = random.Random(size)
    now = time.time()
    records = [make_record(rng, now) for _ in range(size)]
    mean_bytes = round(sum(len(json.dumps(r)) for r in records[:2000]) / min(size, 2000))
    common = {"jobs": size, "mean_record_bytes": mean_bytes}
    fsyncs: list[float] = []
    # The slow baselines rewrite or copy everything per change: fewer samples as the log grows.
    slow = max(3, min(samples, 300_000 // size))
    results = [
        bench_journal(folder, records, samples, fsyncs),
        bench_tinydb(folder, records, min(slow, 40), caching=False),
        bench_tinydb(folder, records, min(slow * 3, samples), caching=True),
        bench_sqlite(folder, records, samples),
    ]
    if cluster is not None:
        from benchmarks.store_shared import bench_postgres

        shared = bench_postgres(cluster, records, samples)
        url = shared.pop("url")
        results.append(shared)
    # Bare fsyncs timed just before each of the journal's samples, so both meet the same disk.
    fsync = percentiles(fsyncs)
    lines = [{**common, "store": "bare_fsync", "append_2kb": fsync}]
    fsync_ms = fsync["p50_ms"]
    journal = results[0]
    for result in results:
        lines.append({**common, **result})
    ratios: dict[str, Any] = {
        "add_p50_in_bare_fsyncs": round(journal["add"]["p50_ms"] / fsync_ms, 2),
        "update_p50_in_bare_fsyncs": round(journal["update"]["p50_ms"] / fsync_ms, 2),
    }
    for other in results[1:]:
        name = other["store"]
        for metric in ("add", "update", "cold_load", "cold_load_cpu", "catch_up"):
            if metric in other:
                ratios[f"{name}_{metric}_p50_over_journal"] = round(
                    other[metric]["p50_ms"] / journal[metric]["p50_ms"], 2
                )
    lines.append({**common, "store": "ratios", **ratios})
    if cluster is not None:
        lines += concurrent_lines(common, folder, records, url)
    return lines


def concurrent_lines(
    common: dict[str, Any], folder: Path, records: list[dict[str, Any]], url: str, seconds: float = 5.0
) -> list[dict[str, Any]]:
    """Updates per second from one and from two processes at once, on the journal and on PostgreSQL."""
    ids_file = folder / "ids.txt"
    chosen = random.Random(1).sample(records, min(2000, len(records)))
    ids_file.write_text("\n".join(r["local_id"] for r in chosen))
    rates = {}
    lines = []
    for backend, target in (("journal", str(folder / "journal" / "jobs.json")), ("postgresql", url)):
        for processes in (1, 2):
            rate = concurrent_writes(backend, target, ids_file, processes, seconds)
            rates[backend, processes] = rate
            lines.append(
                {**common, "store": backend, "concurrent_processes": processes}
                | {"updates_per_second": round(rate)}
            )
    lines.append(
        {
            **common,
            "store": "ratios_concurrent",
            "postgresql_over_journal_2_processes": round(rates["postgresql", 2] / rates["journal", 2], 2),
            "journal_2_over_1_process": round(rates["journal", 2] / rates["journal", 1], 2),
            "postgresql_2_over_1_process": round(rates["postgresql", 2] / rates["postgresql", 1], 2),
        }
    )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 30000, 100000])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--catch-up-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--postgresql", action="store_true", help="add the shared PostgreSQL log (starts a throw-away server)"
    )
    args = parser.parse_args(argv)
    if args.catch_up_child:
        catch_up_child(args.catch_up_child)
        return
    with contextlib.ExitStack() as stack:
        folder = stack.enter_context(
            tempfile.TemporaryDirectory(prefix="store-bench-", dir=os.environ.get("BENCH_DIR"))
        )
        cluster = None
        if args.postgresql:
            from scripts.throwaway_postgres import ThrowawayCluster

            cluster = stack.enter_context(ThrowawayCluster(durable=True))
        for size in args.sizes:
            for line in bench_size(size, args.samples, Path(folder), cluster):
                print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
