"""Job log speed at 1,000 and 10,000 jobs, printed as JSON lines.

    python -m benchmarks.store [--sizes 1000 10000] [--samples 100]

For each size: the latency of adding an intent and of applying a poll snapshot (p50, p95, ms), a full
load (open the log in a new store and read every record), the history DataFrame build, and for
comparison one write of the same data through TinyDB's default JSON storage and the encode/parse time
of the serialisers available. ``--serializer json`` runs the store on the standard library's json.
Records are realistic: prompts of 100-300 characters, four ~150-character
video URLs on finished jobs, a mix of statuses.
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

from tinydb import TinyDB

from legnext_core import store as store_module
from legnext_core.history import records_to_frame
from legnext_core.models import Job, JobKind, JobRequest
from legnext_core.store import JobLogStorage, JobStore

PROMPT_WORDS = (
    "a lighthouse on a cliff at dusk waves rolling slow dolly shot volumetric light neon city rain "
    "reflections cinematic drone over forest fog morning golden hour portrait close up film grain"
)
WORDS = PROMPT_WORDS.split(" ")
STATUSES = ["completed"] * 70 + ["failed"] * 8 + ["processing"] * 6 + ["pending"] * 4 + ["staged"] * 2 + [
    "rejected"
] * 4 + ["unknown"] * 2 + ["queued"] * 2 + ["lost"] * 2


def _prompt(rng: random.Random) -> str:
    text = ""
    target = rng.randint(100, 300)
    while len(text) < target:
        text += rng.choice(WORDS) + " "
    return text[:target].strip()


def _url(rng: random.Random, job_id: str, index: int) -> str:
    token = "".join(rng.choice("abcdef0123456789") for _ in range(64))
    return f"https://cdn.legnext.ai/video/{job_id}/{index}.mp4?Expires=1795000000&Signature={token}"


def make_record(rng: random.Random, now: float) -> dict[str, Any]:
    """A record as the store would hold it after a job's life."""
    status = rng.choice(STATUSES)
    job_id = str(uuid.UUID(int=rng.getrandbits(128)))
    submitted = now - rng.uniform(0, 90 * 86400)
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
            video_urls=[_url(rng, job_id, i) for i in range(4)],
            seed=str(rng.getrandbits(32)),
            available_actions={"extend": [0, 1, 2, 3], "upscale": [0, 1, 2, 3]},
        )
    if status == "failed":
        record.update(error_code=500, error_message="Generation failed", credits_consumed=0)
    return record


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 2),
    }


def _snapshot(job_id: str, progress: int) -> Job:
    return Job.from_api(
        {"job_id": job_id, "task_type": "video_diffusion", "status": "processing", "progress": progress}
    )


def bench_size(size: int, samples: int, folder: Path) -> list[dict[str, Any]]:
    rng = random.Random(size)
    now = time.time()
    log = folder / f"jobs-{size}.json"
    records = [make_record(rng, now) for _ in range(size)]
    JobLogStorage(log).write({"jobs": {r["local_id"]: r for r in records}})
    size_bytes = log.stat().st_size
    lines: list[dict[str, Any]] = []

    loads = []
    for _ in range(3):
        started = time.perf_counter()
        store = JobStore(log)
        everything = store.recent(None)
        loads.append(time.perf_counter() - started)
        store.close()
    assert len(everything) == size
    store = JobStore(log)

    adds = []
    for number in range(samples):
        request = JobRequest(kind=JobKind.TEXT_VIDEO, prompt=_prompt(rng) + f" #{number}")
        t0 = time.perf_counter()
        store.add_intent(
            request, api_mode="live", api_base_url="https://api.legnext.ai/api", estimated_points=480
        )
        adds.append(time.perf_counter() - t0)

    processing = [r["job_id"] for r in everything if r["status"] == "processing"]
    updates = []
    for number in range(samples):
        job = _snapshot(processing[number % len(processing)], 1 + number % 99)
        t0 = time.perf_counter()
        store.apply_job(job, polled_at=time.time())
        updates.append(time.perf_counter() - t0)

    everything = store.recent(None)
    builds = []
    for _ in range(5):
        t0 = time.perf_counter()
        frame = records_to_frame(everything)
        builds.append(time.perf_counter() - t0)
    assert len(frame) == len(everything)
    store.close()

    common = {"jobs": size, "file_bytes": size_bytes, "serializer": store_module.SERIALIZER}
    lines.append({**common, "metric": "add_intent", **_percentiles(adds)})
    lines.append({**common, "metric": "apply_job", **_percentiles(updates)})
    lines.append({**common, "metric": "full_load", **_percentiles(loads)})
    lines.append({**common, "metric": "dataframe_build", **_percentiles(builds)})

    # The same data through TinyDB's default storage: one insert rewrites the whole file in place.
    plain = folder / f"plain-{size}.json"
    with TinyDB(plain) as db:
        db.table("jobs").insert_multiple(records)
        plain_writes = []
        for number in range(min(samples, 10)):
            t0 = time.perf_counter()
            db.table("jobs").insert({"prompt": f"extra {number}"})
            plain_writes.append(time.perf_counter() - t0)
    lines.append({**common, "metric": "tinydb_default_insert", **_percentiles(plain_writes)})

    data = {"jobs": {r["local_id"]: r for r in everything}}
    for name, dumps, parse in _serializers():
        encodes, parses = [], []
        for _ in range(3):
            t0 = time.perf_counter()
            encoded = dumps(data)
            t1 = time.perf_counter()
            parse(encoded)
            encodes.append(t1 - t0)
            parses.append(time.perf_counter() - t1)
        lines.append(
            {
                **common,
                "metric": "serializer",
                "name": name,
                "encode_p50_ms": round(statistics.median(encodes) * 1000, 1),
                "parse_p50_ms": round(statistics.median(parses) * 1000, 1),
            }
        )
    return lines


def _json_dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _serializers() -> list[tuple[str, Any, Any]]:
    found: list[tuple[str, Any, Any]] = [
        ("json", _json_dumps, json.loads)
    ]
    try:
        import orjson
    except ImportError:
        return found
    found.append(("orjson", orjson.dumps, orjson.loads))
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument(
        "--serializer", choices=["auto", "json"], default="auto", help="json: run the store without orjson"
    )
    args = parser.parse_args(argv)
    if args.serializer == "json":
        store_module._dumps = _json_dumps
        store_module._loads = json.loads
        store_module.SERIALIZER = "json"
    with tempfile.TemporaryDirectory(prefix="store-bench-") as folder:
        for size in args.sizes:
            for line in bench_size(size, args.samples, Path(folder)):
                print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
