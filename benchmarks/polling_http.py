"""The tracker's schedule over real HTTP: a time-scaled sandbox, the real client, store and tracker thread.

Submits ``--jobs`` jobs (videos and images alternating) to a sandbox running ``--time-scale`` times
faster than demo speed, lets the tracker's own thread follow them on real time, and prints one JSON
line: GETs per job (counted by the sandbox) and the detection lag (from the sandbox's recorded end of
each job to the tracker's poll that saw it), in sandbox seconds and converted to live seconds. A second
line does the same with callbacks delivered to a webhook route, so the tracker's GETs are confirmations.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

from benchmarks.polling import percentile
from legnext_core.client import LegnextClient
from legnext_core.models import JobKind, JobRequest
from legnext_core.sandbox import SandboxConfig, SandboxServer
from legnext_core.settings import load_settings
from legnext_core.store import JobStore
from legnext_core.submit import new_callback_token
from legnext_core.tracker import Tracker
from tests.loopback_server import RouteServer

KEY = "benchmark-key"


def run(jobs: int, time_scale: float, *, webhooks: bool, seed: int = 3, active_list: bool = False) -> dict:
    duration_scale = 0.1 / time_scale
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch)
        sandbox = SandboxServer(
            SandboxConfig(
                time_scale=time_scale,
                max_unfinished=jobs + 1,
                seed=seed,
                failure_rate=0.0,
                # Callbacks leave within 10 ms of a finish, as a live service would send them.
                tick_interval=0.01,
            )
        ).start()
        store = JobStore(data / "jobs.json")
        client = LegnextClient(KEY, sandbox.base_url, timeout=10, max_retries=0)
        tracker = Tracker(
            store,
            lambda record: client,
            duration_scale=duration_scale,
            clock=time.time,
            webhooks_expected=webhooks,
            rng=random.Random(seed),
            account_client=client if active_list else None,
        )
        route_server = None
        callback = None
        if webhooks:
            env = {"LEGNEXT_SANDBOX_URL": sandbox.base_url, "LEGNEXT_DATA_DIR": scratch}
            settings = load_settings(env, {})
            studio = SimpleNamespace(settings=settings, store=store, tracker=tracker)
            route_server = RouteServer(lambda: studio)
            callback = route_server.url + "/webhooks/legnext"
        try:
            # One warm-up job shows the tracker that deliveries arrive (it starts untrusting).
            warmup = [_submit(store, client, sandbox, JobKind.IMAGE, callback)] if webhooks else []
            tracker.start()
            _wait_done(store, warmup, timeout=60)
            before = sandbox.request_count("GET", "/api/v1/job/")
            kinds = (JobKind.TEXT_VIDEO, JobKind.IMAGE)
            ids = [_submit(store, client, sandbox, kinds[i % 2], callback) for i in range(jobs)]
            tracker.refresh()
            ends = _watch_ends(sandbox, [store.get(i).job_id for i in ids])
            _wait_done(store, ids, timeout=300 / time_scale * 10 + 60)
            gets = sandbox.request_count("GET", "/api/v1/job/") - before
            list_reads = sandbox.request_count("GET", "/api/account/active_tasks")
            lags = []
            for local_id in ids:
                record = store.get(local_id)
                deadline = time.monotonic() + 5
                while record.last_poll_at is None and time.monotonic() < deadline:
                    # The poll writes the status first and its own time just after.
                    time.sleep(0.01)
                    record = store.get(local_id)
                lags.append(max(record.last_poll_at - ends[record.job_id], 0.0))
        finally:
            tracker.stop()
            if route_server is not None:
                route_server.stop()
            client.close()
            store.close()
            sandbox.stop()
    return {
        "policy": ("tracker_http_active_list" if active_list else "tracker_http")
        + ("_webhooks" if webhooks else ""),
        "jobs": jobs,
        "time_scale": time_scale,
        "gets_per_job": round(gets / jobs, 2),
        "list_reads": list_reads,
        "lag_p50_s": round(percentile(lags, 0.5), 3),
        "lag_p95_s": round(percentile(lags, 0.95), 3),
        "lag_p50_live_s": round(percentile(lags, 0.5) / duration_scale, 1),
        "lag_p95_live_s": round(percentile(lags, 0.95) / duration_scale, 1),
    }


def _submit(store: JobStore, client: LegnextClient, sandbox: SandboxServer, kind: JobKind, callback):
    # Each submission has its own callback URL, as the dashboard sends them.
    token = new_callback_token() if callback else None
    request = JobRequest(
        kind=kind, prompt="a lighthouse at dusk", callback=callback and f"{callback}/{token}"
    )
    record = store.add_intent(
        request,
        api_mode="sandbox",
        api_base_url=sandbox.base_url,
        estimated_points=None,
        callback_token=token,
    )
    store.record_accepted(record.local_id, client.submit(request))
    return record.local_id


def _wait_done(store: JobStore, ids: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(store.get(i).status in ("pending", "staged", "processing") for i in ids):
        if time.monotonic() > deadline:
            raise RuntimeError("jobs did not finish in time")
        time.sleep(0.05)


def _watch_ends(sandbox: SandboxServer, job_ids: list[str]) -> dict[str, float]:
    """When each job turned terminal, read from the sandbox in-process every few milliseconds.

    The wire's ``ended_at`` has whole seconds, too coarse for jobs that last one second here; the
    in-process reads are not HTTP requests and are not counted.
    """
    ends: dict[str, float] = {}

    def watch() -> None:
        while len(ends) < len(job_ids):
            for job_id in job_ids:
                if job_id not in ends and sandbox.state.job_status(job_id) in ("completed", "failed"):
                    ends[job_id] = time.time()
            time.sleep(0.005)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    thread.join(600)
    return ends


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20)
    # At 5x a live second is 10 ms of real time; much faster and the harness's own threads and the
    # job log's fsyncs (a few ms per write) become a visible share of the measured lag.
    parser.add_argument("--time-scale", type=float, default=5.0)
    args = parser.parse_args(argv)
    for webhooks in (False, True):
        print(json.dumps(run(args.jobs, args.time_scale, webhooks=webhooks)), flush=True)
    # All jobs at once (the sandbox's limit is raised): one list read per tick covers them all.
    print(json.dumps(run(args.jobs, args.time_scale, webhooks=False, active_list=True)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
