"""How fast the History page's data path is on a 10,000-job log, and how much table data each refresh sends.

Prints JSON lines: the time of one refresh's data path (read the log, filter, count, build the frame of
one page, serialise it as st.dataframe does) for a few filter sets, the Arrow bytes of the frame given
to st.dataframe, and the run time of the whole page script (the dashboard with the History page open, run
by Streamlit's AppTest against a local sandbox). Targets: <= 300 ms and <= 300 KB per refresh.

    python -m benchmarks.history [--jobs 10000] [--repeat 7]
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
from types import SimpleNamespace

from streamlit.dataframe_util import convert_anything_to_arrow_bytes

from legnext_core.store import JobStore
from ui import history_view as hv

KINDS = ("text_video", "image_url_video", "animate", "extend", "upscale", "image")
STATUSES = ("completed",) * 8 + ("failed", "pending", "processing", "rejected", "unknown", "lost")
WORDS = tuple(
    [
        "a",
        "red",
        "fox",
        "running",
        "through",
        "deep",
        "snow",
        "at",
        "dusk",
        "under",
        "a",
        "violet",
        "sky",
        "with",
        "lanterns",
    ]
)


def synthetic_record(rng: random.Random, now: float, i: int) -> dict:
    submitted = now - i * 37.0
    status = rng.choice(STATUSES)
    kind = rng.choice(KINDS)
    done = status in ("completed", "failed")
    job_id = str(uuid.UUID(int=rng.getrandbits(128)))
    record = {
        "local_id": uuid.uuid4().hex,
        "job_id": job_id if status not in ("rejected", "unknown") else None,
        "kind": kind,
        "api_mode": "sandbox",
        "api_base_url": "http://127.0.0.1:8501/sandbox/api",
        "prompt": " ".join(rng.choices(WORDS, k=rng.randint(8, 200))),
        "video_type": rng.choice((0, 1)),
        "status": status,
        "progress": 100 if status == "completed" else rng.choice((None, 10, 55)),
        "credits_frozen": 480,
        "credits_consumed": 480 if status == "completed" else 0,
        "submitted_at": submitted,
        "created_at": submitted + 1,
        "started_at": submitted + 20 if done else None,
        "ended_at": submitted + 180 if done else None,
        "updated_at": submitted + 180,
    }
    if kind in ("extend", "upscale", "animate"):
        record["parent_job_id"] = str(uuid.UUID(int=rng.getrandbits(128)))
        record["parent_index"] = rng.randint(0, 3)
    if done:
        record["video_urls"] = [f"https://cdn.legnext.ai/video/{job_id}/{n}.mp4" for n in range(4)]
    return record


def build_log(path: Path, jobs: int) -> JobStore:
    rng = random.Random(7)
    now = time.time()
    records = {}
    for i in range(jobs):
        record = synthetic_record(rng, now, i)
        records[record["local_id"]] = {k: v for k, v in record.items() if v is not None}
    path.write_text(json.dumps({"jobs": records}))
    return JobStore(path)


def refresh(studio, filters: hv.HistoryFilters) -> tuple[float, int, int]:
    """One refresh of the table: what the page's fragment does, plus st.dataframe's serialisation."""
    start = time.perf_counter()
    view = hv.load_view(studio, filters)
    arrow = convert_anything_to_arrow_bytes(view.frame)
    return (time.perf_counter() - start) * 1000, len(arrow), len(view.rows)


def page_script_runs(folder: Path, repeat: int) -> list[float]:
    """Run times of the whole dashboard script with History open, on the log in ``folder``."""
    import os

    from streamlit.testing.v1 import AppTest

    from legnext_core.sandbox import SandboxConfig, SandboxServer
    from legnext_core.studio import shutdown_studio

    app = str(Path(__file__).resolve().parent.parent / "app.py")
    with SandboxServer(SandboxConfig()) as sandbox:
        os.environ.pop("LEGNEXT_API_KEY", None)
        os.environ["LEGNEXT_SANDBOX_URL"] = sandbox.base_url
        os.environ["LEGNEXT_DATA_DIR"] = str(folder)
        try:
            at = AppTest.from_file(app, default_timeout=60)
            at.secrets["LEGNEXT_BENCHMARK"] = "1"  # keeps AppTest off the real secrets file
            at.run()
            at.switch_page("pages/history.py")
            at.run()  # the first run of the page reads and parses the whole log
            assert not at.exception, at.exception
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                at.run()
                times.append((time.perf_counter() - started) * 1000)
            assert not at.exception, at.exception
            return times
        finally:
            shutdown_studio()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = build_log(Path(folder) / "jobs.json", args.jobs)
        try:
            started = time.perf_counter()
            assert store.count() == args.jobs
            first_read_ms = (time.perf_counter() - started) * 1000
            studio = SimpleNamespace(store=store)
            line = {"metric": "history.first_read_ms", "jobs": args.jobs, "value": round(first_read_ms, 1)}
            print(json.dumps(line))
            cases = {
                "no_filter": hv.HistoryFilters(),
                "status_completed": hv.HistoryFilters(statuses=("completed",)),
                "text_search": hv.HistoryFilters(text="lanterns"),
                "largest_page_500": hv.HistoryFilters(page_size=500),
            }
            for name, filters in cases.items():
                refresh(studio, filters)  # warm: the first read parses the file
                times, sizes, rows = [], 0, 0
                for _ in range(args.repeat):
                    ms, sizes, rows = refresh(studio, filters)
                    times.append(ms)
                print(
                    json.dumps(
                        {
                            "metric": "history.refresh",
                            "case": name,
                            "jobs": args.jobs,
                            "rows_sent": rows,
                            "median_ms": round(statistics.median(times), 1),
                            "max_ms": round(max(times), 1),
                            "arrow_bytes": sizes,
                            "target_ms": 300,
                            "target_bytes": 300_000,
                        }
                    )
                )
        finally:
            store.close()
        times = page_script_runs(Path(folder), args.repeat)
        line = {
            "metric": "history.page_script_run",
            "jobs": args.jobs,
            "median_ms": round(statistics.median(times), 1),
            "max_ms": round(max(times), 1),
            "target_ms": 300,
        }
        print(json.dumps(line))


if __name__ == "__main__":
    main()
