"""How soon the tracker polls an overdue job after a restart on a large log, and what its start writes.

    python -m benchmarks.tracker_startup [--sizes 1000 30000 100000]

For each size, a job log of realistic records (``benchmarks.store.make_record``: 70 % completed, 12 %
still active, prompts of 50-600 characters, signed URLs), all made on the live API, is opened by a
dashboard that runs on the sandbox (a demo without the key): the live jobs it cannot poll get the
"not polled" note, while one sandbox job, submitted before the restart and overdue, must be polled at
once. A real sandbox answers over HTTP; the job log is the real journaled file. Prints one JSON line per
size with, measured from ``Tracker.start()`` on the real clock:

* ``first_poll_s``: until the overdue sandbox job has been polled (its poll is in the log);
* ``notes_s``: until every unpollable active job carries the note;
* ``startup_s``: until the tracker's start-up work is done (the notes, and the look through the
  finished jobs for media still to archive);
* ``writes`` / ``fsyncs``: job-log commits and fsyncs (of any file) from the start to ``startup_s``;
* ``unpollable_active``: the jobs that get the note.

Run before and after a change on the same machine and compare the ratios: the figures depend on the
disk and on the other work the machine does.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.job_records import make_record
from legnext_core.client import LegnextClient
from legnext_core.media import MediaArchiver
from legnext_core.models import JobKind, JobRequest
from legnext_core.sandbox import SandboxConfig, SandboxServer
from legnext_core.store import JobStore
from legnext_core.tracker import NOT_POLLED_NOTE, Tracker

KEY = "benchmark-tracker-startup"
#: Give up waiting for any one figure after this long.
LIMIT = 300.0


class _Counter:
    """Counts calls of a function it stands in for (os.fsync, the storage's commit)."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.calls += 1
        return self.function(*args, **kwargs)


def _wait_for(condition: Callable[[], bool], started: float) -> float | None:
    while not condition():
        if time.perf_counter() - started > LIMIT:
            return None
        time.sleep(0.01)
    return round(time.perf_counter() - started, 3)


def _startup_done(tracker: Tracker) -> bool:
    health = tracker.health()
    # Before the scan ran in slices, it was done once the first sweep was.
    scanned = getattr(health, "media_scan_done", None)
    return health.last_sweep_at is not None and scanned is not False


def bench_size(size: int, root: Path, sandbox: SandboxServer) -> dict[str, Any]:
    folder = root / f"size-{size}"
    folder.mkdir()
    rng = random.Random(size)
    now = time.time()
    records = [make_record(rng, now) for _ in range(size)]
    log_path = folder / "jobs.json"
    log_path.write_bytes(json.dumps({"jobs": {r["local_id"]: r for r in records}}).encode())
    unpollable = [r["local_id"] for r in records if r["status"] in ("pending", "staged", "processing")]

    started = time.perf_counter()
    store = JobStore(log_path)
    store.count()
    load_s = round(time.perf_counter() - started, 3)
    # As the dashboard does once the log is loaded (``Studio.start``).
    gc.freeze()
    client = LegnextClient(KEY, sandbox.base_url, timeout=10, max_retries=0)
    request = JobRequest(kind=JobKind.TEXT_VIDEO, prompt="a lighthouse on a cliff at dusk, slow dolly")
    intent = store.add_intent(
        request, api_mode="sandbox", api_base_url=sandbox.base_url, estimated_points=None
    )
    fresh = store.record_accepted(intent.local_id, client.submit(request))
    # It was due while the server was down.
    store.update_tracking(fresh.local_id, next_poll_at=time.time() - 5, poll_count=0)

    tracker = Tracker(
        store,
        lambda record: client if record.api_mode == "sandbox" else None,
        archiver=MediaArchiver(folder / "media", ("*.legnext.ai",), allow_loopback=True),
        webhooks_expected=False,
        rng=random.Random(1),
        account_client=client,
        duration_scale=0.1,
    )
    fsyncs = _Counter(os.fsync)
    commits = _Counter(store.storage.commit)
    os.fsync = fsyncs  # type: ignore[assignment]
    store.storage.commit = commits  # type: ignore[method-assign]
    try:
        started = time.perf_counter()
        tracker.start()
        # The checks read the stored objects, building nothing, so they take little from the tracker.
        first_poll = _wait_for(lambda: (store.stored()[fresh.local_id].get("poll_count") or 0) > 0, started)
        notes = _wait_for(
            lambda: all(store.stored()[i].get("note") == NOT_POLLED_NOTE for i in unpollable), started
        )
        startup = _wait_for(lambda: _startup_done(tracker), started)
        writes, fsync_count = commits.calls, fsyncs.calls
    finally:
        tracker.stop()
        os.fsync = fsyncs.function
        client.close()
        store.close()
        gc.unfreeze()
    return {
        "jobs": size,
        "unpollable_active": len(unpollable),
        "load_s": load_s,
        "first_poll_s": first_poll,
        "notes_s": notes,
        "startup_s": startup,
        "writes": writes,
        "fsyncs": fsync_count,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 30000, 100000])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="tracker-startup-", dir=os.environ.get("BENCH_DIR")) as folder:
        sandbox = SandboxServer(SandboxConfig(seed=1)).start()
        try:
            for size in args.sizes:
                print(json.dumps(bench_size(size, Path(folder), sandbox)), flush=True)
        finally:
            sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
