"""The PostgreSQL job log beside today's TinyDB file, at 1,000 to 100,000 jobs, printed as JSON lines.

    python -m benchmarks.store_pg [--sizes 1000 10000 100000] [--samples 100] [--seconds 5]

It starts its own throw-away PostgreSQL (Debian's server, durable commits as in production: fsync on)
and, for each size, fills a fresh database and a fresh TinyDB log with the same realistic records
(~2.1 KB: prompts of 50-600 characters, four ~250-character signed URLs on finished jobs, the fields
sign-in and webhooks add) and measures, side by side:

* ``add``: recording a new intent (p50, p95 ms);
* ``update``: applying a poll snapshot to a random existing job (p50, p95 ms);
* ``changes_since``: a replica catching up after one write; ``read_all``: reading every record;
* ``concurrent``: writes per second from one process alone, then from two processes at once, each
  updating random jobs for ``--seconds`` seconds;
* ``ratio`` lines: TinyDB's figure divided by PostgreSQL's (above 1: PostgreSQL is faster).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Jsonb

from legnext_core.joblog import JournalStorage
from legnext_core.joblog.postgres import PostgresRecordStorage
from legnext_core.models import Job, JobKind, JobRequest
from legnext_core.store import JobStore
from scripts.throwaway_postgres import ThrowawayCluster

PROMPT_TEXT = (
    "a lighthouse on a cliff at dusk waves rolling slow dolly shot volumetric light neon city rain "
    "reflections cinematic drone over forest fog morning golden hour portrait close up film grain "
    "handheld tracking shot anamorphic lens flare soft focus macro dew on a leaf time lapse clouds"
)
WORDS = PROMPT_TEXT.split()
STATUSES = (
    ["completed"] * 70
    + ["failed"] * 8
    + ["processing"] * 6
    + ["pending"] * 4
    + ["staged"] * 2
    + ["rejected"] * 4
    + ["unknown"] * 2
    + ["queued"] * 2
    + ["lost"] * 2
)
PEOPLE = [f"{name}@studio.example.com" for name in ("ana", "bo", "chen", "dara", "eli", "fumi", "gus")]


def _prompt(rng: random.Random) -> str:
    target = rng.randint(50, 600)
    text = ""
    while len(text) < target:
        text += rng.choice(WORDS) + " "
    return text[:target].strip()


def _signed_url(rng: random.Random, job_id: str, index: int) -> str:
    # ~250 characters, like the CDN's signed links.
    signature = "".join(
        rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") for _ in range(120)
    )
    return (
        f"https://cdn.legnext.ai/video/{job_id}/{index}.mp4?Expires=1795000000"
        f"&Key-Pair-Id=K2JCJMDEHXQW5F&Signature={signature}"
    )


def make_record(rng: random.Random, now: float) -> dict[str, Any]:
    """A job record as the log holds it after the job's life."""
    status = rng.choice(STATUSES)
    job_id = str(uuid.UUID(int=rng.getrandbits(128)))
    submitted = now - rng.uniform(0, 730 * 86400)
    record: dict[str, Any] = {
        "local_id": uuid.UUID(int=rng.getrandbits(128)).hex,
        "kind": rng.choice(["text_video"] * 5 + ["extend", "upscale", "animate", "image_url_video"]),
        "api_mode": "live",
        "api_base_url": "https://api.legnext.ai/api",
        "prompt": _prompt(rng),
        "video_type": rng.choice([0, 0, 1]),
        "status": status,
        "estimated_points": 480,
        "submitted_at": submitted,
        "updated_at": submitted + 200,
        "submitted_by": rng.choice(PEOPLE),
        "callback_token": uuid.UUID(int=rng.getrandbits(128)).hex,
        "batch_size": rng.choice([1, 1, 2, 4]),
        "speed": rng.choice(["fast", "turbo"]),
    }
    if status in ("queued", "rejected", "unknown"):
        if status == "rejected":
            record.update(error_code=400, error_message="Invalid request parameters")
        return record
    record.update(job_id=job_id, created_at=submitted + 1, credits_frozen=480, poll_count=rng.randint(3, 20))
    if status in ("processing", "completed", "failed", "lost"):
        record.update(started_at=submitted + 5, progress=rng.randint(0, 99), last_log="Generating 55%")
    if status in ("completed", "failed"):
        record.update(ended_at=submitted + rng.uniform(120, 300))
    if status == "completed":
        record.update(
            progress=100,
            credits_consumed=480,
            video_urls=[_signed_url(rng, job_id, i) for i in range(4)],
            seed=str(rng.getrandbits(32)),
            available_actions={"extend": [0, 1, 2, 3], "upscale": [0, 1, 2, 3]},
            tags=rng.sample(["client", "draft", "final", "sea", "city"], rng.randint(0, 2)),
            media_paths=[f"data/media/{job_id}/{i}.mp4" for i in range(4)],
            thumbnails=[f"data/media/{job_id}/{i}.thumb.jpg" for i in range(4)],
        )
    if status == "failed":
        record.update(error_code=500, error_message="Generation failed", credits_consumed=0)
    return record


def _poll(record: dict[str, Any], now: float) -> dict[str, Any]:
    """What applying a poll snapshot does to a record: progress, poll time and count."""
    return {
        **record,
        "progress": min(99, (record.get("progress") or 0) + 1),
        "last_poll_at": now,
        "poll_count": (record.get("poll_count") or 0) + 1,
        "updated_at": now,
    }


def _intent(rng: random.Random, now: float) -> dict[str, Any]:
    return {
        "local_id": uuid.uuid4().hex,
        "kind": "text_video",
        "api_mode": "live",
        "api_base_url": "https://api.legnext.ai/api",
        "prompt": _prompt(rng),
        "video_type": 0,
        "status": "submitting",
        "estimated_points": 480,
        "submitted_at": now,
        "updated_at": now,
        "submitted_by": rng.choice(PEOPLE),
        "callback_token": uuid.uuid4().hex,
    }


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000, 3),
    }


def _timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


# -- filling ------------------------------------------------------------------------------------------------


def _fill_database(url: str, records: list[dict[str, Any]]) -> float:
    """COPY every record in one transaction (the trigger still stamps each row); seconds taken."""
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        with conn.cursor().copy("COPY legnext_jobs (record) FROM STDIN") as copy:
            for record in records:
                copy.write_row((Jsonb(record, dumps=orjson.dumps),))
        conn.commit()
        conn.execute("ANALYZE legnext_jobs")
    return time.perf_counter() - started


def _fill_file(path: Path, records: list[dict[str, Any]]) -> float:
    started = time.perf_counter()
    storage = JournalStorage(path, background_compaction=False)
    storage.write({"jobs": {r["local_id"]: r for r in records}})
    storage.compact()
    storage.close()
    return time.perf_counter() - started


# -- concurrent writers ------------------------------------------------------------------------------------


def _worker(backend: str, target: str, ids_file: str, seconds: float, start_at: float) -> None:
    """One writer process: updates random jobs until ``seconds`` have passed; prints how many."""
    ids = Path(ids_file).read_text().split()
    rng = random.Random()
    if backend == "postgresql":
        storage = PostgresRecordStorage(target, max_connections=1)

        def write(local_id: str) -> None:
            storage.change(local_id, lambda r: _poll(r, time.time()))

        close = storage.close
    else:
        store = JobStore(target)

        def write(local_id: str) -> None:
            record = store.get(local_id)
            polls = record.poll_count if record is not None else None
            store.update_tracking(local_id, poll_count=(polls or 0) + 1, last_poll_at=time.time())

        close = store.close
    time.sleep(max(0.0, start_at - time.time()))
    writes = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        write(rng.choice(ids))
        writes += 1
    close()
    print(json.dumps({"writes": writes}), flush=True)


def _concurrent(backend: str, target: str, ids_file: Path, processes: int, seconds: float) -> float:
    """Total writes per second from ``processes`` writer processes running at once."""
    start_at = (
        time.time() + 3.0 + (5.0 if backend == "tinydb" else 0.0)
    )  # TinyDB parses the whole log on open
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.store_pg",
                "--worker",
                backend,
                target,
                str(ids_file),
                str(seconds),
                str(start_at),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    writes = 0
    for worker in workers:
        out, _ = worker.communicate(timeout=seconds + 600)
        if worker.returncode != 0:
            raise RuntimeError(f"a {backend} writer failed")
        writes += json.loads(out.strip().splitlines()[-1])["writes"]
    return writes / seconds


# -- one size -----------------------------------------------------------------------------------------------


def bench_size(
    cluster: ThrowawayCluster, size: int, samples: int, seconds: float, folder: Path
) -> list[dict[str, Any]]:
    rng = random.Random(size)
    now = time.time()
    records = [make_record(rng, now) for _ in range(size)]
    mean_bytes = statistics.fmean(len(orjson.dumps(r)) for r in records)
    database = f"bench_{size}"
    with psycopg.connect(cluster.url(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}"')
        admin.execute(f'CREATE DATABASE "{database}"')
    url = cluster.url(database)
    log = folder / f"jobs-{size}.json"
    common = {"bench": "store_pg", "size": size, "record_bytes": round(mean_bytes)}
    lines: list[dict[str, Any]] = []

    storage = PostgresRecordStorage(url)
    fill = {"postgresql": _fill_database(url, records), "tinydb": _fill_file(log, records)}
    for backend, seconds_taken in fill.items():
        lines.append({**common, "backend": backend, "metric": "fill", "seconds": round(seconds_taken, 2)})
    store = JobStore(log)

    figures: dict[tuple[str, str], dict[str, float]] = {}
    chosen = rng.sample(records, min(samples, len(records)))

    # add: a new intent
    pg_adds = [_timed(lambda: storage.insert(_intent(rng, time.time()))) for _ in range(samples)]
    tiny_adds = [
        _timed(
            lambda: store.add_intent(
                JobRequest(kind=JobKind.TEXT_VIDEO, prompt=_prompt(rng)),
                api_mode="live",
                api_base_url="https://api.legnext.ai/api",
                estimated_points=480,
            )
        )
        for _ in range(samples)
    ]
    figures["postgresql", "add"] = _percentiles(pg_adds)
    figures["tinydb", "add"] = _percentiles(tiny_adds)

    # update: a poll snapshot applied to a job
    pg_updates = [
        _timed(lambda r=r: storage.change(r["local_id"], lambda old: _poll(old, time.time()))) for r in chosen
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
            tiny_updates.append(_timed(lambda s=snapshot: store.apply_job(s, polled_at=time.time())))
        else:
            tiny_updates.append(_timed(lambda r=record: store.update_tracking(r["local_id"], poll_count=1)))
    figures["postgresql", "update"] = _percentiles(pg_updates)
    figures["tinydb", "update"] = _percentiles(tiny_updates)

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
    storage.change(chosen[0]["local_id"], lambda old: _poll(old, time.time()))
    catch_up = [_timed(lambda: storage.changes_since(last)) for _ in range(20)]
    lines.append(
        {**common, "backend": "postgresql", "metric": "changes_since_one_write", **_percentiles(catch_up)}
    )
    lines.append(
        {**common, "backend": "postgresql", "metric": "read_all", "seconds": round(_timed(storage.all), 3)}
    )
    store.close()
    lines.append(
        {
            **common,
            "backend": "tinydb",
            "metric": "read_all",
            "seconds": round(_timed(lambda: JobStore(log).recent(None)), 3),
        }
    )
    storage.close()

    # concurrent writers
    ids_file = folder / f"ids-{size}.txt"
    ids_file.write_text("\n".join(r["local_id"] for r in rng.sample(records, min(2000, size))))
    rates: dict[tuple[str, int], float] = {}
    for backend, target in (("postgresql", url), ("tinydb", str(log))):
        for processes in (1, 2):
            rates[backend, processes] = _concurrent(backend, target, ids_file, processes, seconds)
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
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        backend, target, ids_file, seconds, start_at = argv[1:]
        _worker(backend, target, ids_file, float(seconds), float(start_at))
        return
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
