"""What checking the spending limits adds to a submission, at 10,000 and 100,000 jobs, as JSON lines.

    python -m benchmarks.spending [--sizes 10000 100000] [--samples 30]

Every submission reads this month's records and sums what they cost before it is sent
(``submit._month_records`` + ``spending.check``; the month is picked by the server's History table).
Side by side in the same run: the month picked by scanning the stored log (``store.recent(since=)``,
the previous version), the same check over the whole log (no month filter), and a batch of 50 lines
fitted to the caps.
Records are the store benchmark's realistic ones (prompts of 100-300 characters, signed URLs), spread
over 90 days and 12 people.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from benchmarks.job_records import make_record
from legnext_core import spending
from legnext_core.history import HistoryTable
from legnext_core.models import JobKind, JobRequest
from legnext_core.settings import load_settings
from legnext_core.store import JobStore
from legnext_core.submit import _month_records, _same_api

PEOPLE = [f"person{n}@studio.example" for n in range(12)]
CAPS = spending.Caps(daily_per_person=50_000, monthly_team=10_000_000)


def build(path: Path, size: int) -> None:
    rng = random.Random(11)
    now = time.time()
    records = {}
    for _ in range(size):
        record = make_record(rng, now)
        record["submitted_by"] = rng.choice(PEOPLE)
        records[record["local_id"]] = record
    path.write_text(json.dumps({"jobs": records}))


def timed(fn, samples: int) -> dict[str, float]:
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p95 = times[int(0.95 * (len(times) - 1))]
    return {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(p95, 2)}


def bench_size(size: int, samples: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "jobs.json"
        build(path, size)
        settings = load_settings({"LEGNEXT_API_KEY": "k", "LEGNEXT_DATA_DIR": folder}, {})
        store = JobStore(path)
        history = HistoryTable(store)
        studio = SimpleNamespace(store=store, settings=settings, history=history)
        # One write through the store gives the file its generation token, as on a running server
        # (a file written by hand is parsed again on every read).
        store.add_intent(JobRequest(kind=JobKind.TEXT_VIDEO, prompt="warm-up"), api_mode="live",
                         api_base_url=settings.base_url, estimated_points=480)  # fmt: skip
        store.recent(1)
        history.sync()  # built once when the server starts
        person = PEOPLE[0]

        def month_check() -> None:
            now = time.time()
            spending.check(_month_records(studio, now), person=person, needed=480, caps=CAPS, now=now)

        def scanned_month_check() -> None:
            now = time.time()
            since = spending.month_start(now).timestamp()
            month_records = [r for r in store.recent(None, since=since) if _same_api(studio, r)]
            spending.check(month_records, person=person, needed=480, caps=CAPS, now=now)

        def whole_log_check() -> None:
            now = time.time()
            spending.check(store.recent(None), person=person, needed=480, caps=CAPS, now=now)

        def batch_fit() -> None:
            now = time.time()
            spending.fit_batch(_month_records(studio, now), person=person, estimates=[480] * 50,
                               caps=CAPS, now=now)  # fmt: skip

        try:
            month = timed(month_check, samples)
            scanned = timed(scanned_month_check, samples)
            whole = timed(whole_log_check, samples)
            batch = timed(batch_fit, samples)
            month_records = len(_month_records(studio, time.time()))
        finally:
            store.close()
    return {
        "bench": "spending_check", "jobs": size, "records_this_month": month_records,
        "check_this_month": month, "check_this_month_by_scan": scanned, "check_whole_log": whole,
        "batch_of_50_fit": batch,
        "scan_over_table_p50": round(scanned["p50_ms"] / max(month["p50_ms"], 1e-6), 2),
        "whole_log_over_month_p50": round(whole["p50_ms"] / max(month["p50_ms"], 1e-6), 2),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args(argv)
    for size in args.sizes:
        print(json.dumps(bench_size(size, args.samples)))


if __name__ == "__main__":
    main()
