"""Submissions against the sandbox with faults injected, and what became of them; prints JSON lines.

Each submission has a prompt of its own, so the sandbox's list of created jobs shows whether any
submission created a job twice. Every submission must end as one of: a job id ("accepted"), a clear
rejection (an HTTP error or a connection never made: then no job may exist), or "outcome unknown"
(a job may exist, at most one).

Two runs per fault rate, side by side on the same seed:

- ``client_only``: the client alone (what a script would do): how many answers are unknown, and how
  many of those had made a job nobody will ever look at;
- ``dashboard``: the real submit path and Studio (job log, tracker thread, webhook routes) against a
  real-time sandbox at twice demo speed, with faults on the POSTs: after the tracker's reconciliation,
  how many outcomes are still unknown, how many of those had made a job (target 0), any job linked
  to the wrong submission (must be 0), and how long reconciliation took (also in live seconds).

    python -m benchmarks.faults                       # 300 submissions at 30 % and at 60 %
    python -m benchmarks.faults --submissions 200 --rates 0.3 --seed 1
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections import Counter
from typing import Any

from legnext_core.client import LegnextClient
from legnext_core.errors import APIConnectionError, APIStatusError, SubmissionOutcomeUnknownError
from legnext_core.sandbox import FaultConfig, ManualClock, SandboxConfig, SandboxServer

TRIAL_KEY = "fault-trial-key"


def run_trial(
    submissions: int = 200,
    rate: float = 0.3,
    *,
    seed: int | None = 1,
    timeout: float = 0.2,
    slow_seconds: float = 0.5,
    max_retries: int = 3,
) -> dict[str, Any]:
    """Run one trial and return what happened, including every violation found (lists, empty when none)."""
    config = SandboxConfig(
        clock=ManualClock(),
        max_unfinished=submissions + 1,
        initial_points=2_000 * submissions,
        seed=seed,
        faults=FaultConfig(rate=rate, slow_seconds=slow_seconds, retry_after=1),
    )
    outcomes: list[tuple[str, str, str | None]] = []  # (outcome, prompt, job id or error name)
    started = time.perf_counter()
    with SandboxServer(config) as server:
        client = LegnextClient(
            TRIAL_KEY, server.base_url, timeout=timeout, max_retries=max_retries, sleep=lambda _s: None
        )
        for n in range(submissions):
            prompt = f"fault trial submission {n}"
            try:
                job = client.create_image(prompt) if n % 2 else client.create_video(prompt)
            except SubmissionOutcomeUnknownError:
                outcomes.append(("unknown", prompt, None))
            except (APIStatusError, APIConnectionError) as exc:
                outcomes.append(("rejected", prompt, type(exc).__name__))
            else:
                outcomes.append(("accepted", prompt, job.job_id))
        elapsed = time.perf_counter() - started
        server.set_faults(FaultConfig())
        fired = dict(server.state.faults.fired)
        posts = sum(n for k, n in server.request_counts().items() if k.startswith("POST "))
        jobs = server.jobs()
        client.close()

    made = Counter(job["prompt"] for job in jobs)
    job_prompt = {job["job_id"]: job["prompt"] for job in jobs}
    counts = Counter(outcome for outcome, _, _ in outcomes)
    return {
        "submissions": submissions,
        "fault_rate": rate,
        "seed": seed,
        "accepted": counts["accepted"],
        "rejected": counts["rejected"],
        "unknown": counts["unknown"],
        "rejections": dict(Counter(name for outcome, _, name in outcomes if outcome == "rejected")),
        "unknown_that_created_a_job": sum(1 for o, p, _ in outcomes if o == "unknown" and made[p]),
        "jobs_created": len(jobs),
        "posts_sent": posts,
        "faults_fired": fired,
        "seconds": round(elapsed, 3),
        # Violations: each must be empty.
        "created_twice": sorted(p for p, c in made.items() if c > 1),
        "rejected_but_created": sorted(p for o, p, _ in outcomes if o == "rejected" and made[p]),
        "accepted_but_missing": sorted(
            p for o, p, j in outcomes if o == "accepted" and job_prompt.get(j) != p
        ),
    }


DASHBOARD_TIME_SCALE = 2.0


def run_dashboard_trial(
    submissions: int = 300, rate: float = 0.3, *, seed: int | None = 1, settle_timeout: float = 120.0
) -> dict[str, Any]:
    """Submit through the dashboard's own path with faults on the POSTs; let the tracker reconcile."""
    import tempfile

    from legnext_core.models import JobKind, JobRequest
    from legnext_core.sandbox import RealClock
    from legnext_core.settings import load_settings
    from legnext_core.studio import Studio
    from legnext_core.submit import submit_job
    from tests.loopback_server import RouteServer

    holder: dict[str, Any] = {}
    routes = RouteServer(lambda: holder.get("studio"))
    config = SandboxConfig(
        clock=RealClock(),
        time_scale=DASHBOARD_TIME_SCALE,
        max_unfinished=submissions + 1,
        initial_points=2_000 * submissions,
        seed=seed,
        # Faults on the submissions only: the tracker's reads are not what is measured here.
        faults=FaultConfig(rate=rate, slow_seconds=1.5, retry_after=1, methods=frozenset({"POST"})),
    )
    with tempfile.TemporaryDirectory() as scratch, SandboxServer(config) as server:
        env = {
            "LEGNEXT_SANDBOX_URL": server.base_url,
            "LEGNEXT_DATA_DIR": scratch,
            "LEGNEXT_PUBLIC_URL": routes.url,
            "LEGNEXT_SANDBOX_TIME_SCALE": str(DASHBOARD_TIME_SCALE),
            "LEGNEXT_TIMEOUT": "1",  # a "slow" answer (1.5 s) is then an outcome unknown
        }
        studio = Studio(load_settings(env, {}))
        studio.start()
        holder["studio"] = studio
        try:
            started = time.perf_counter()
            results = []
            for n in range(submissions):
                kind = JobKind.IMAGE if n % 2 else JobKind.TEXT_VIDEO
                results.append(
                    submit_job(studio, JobRequest(kind=kind, prompt=f"fault trial submission {n}"))
                )
            submitted_in = time.perf_counter() - started
            unknown_ids = [r.local_id for r in results if r.outcome == "unknown"]

            def undecided() -> list[str]:
                return [
                    i
                    for i in unknown_ids
                    if (r := studio.store.get(i)).status == "unknown"
                    and (r.reconciliation or {}).get("state") in (None, "searching")
                ]

            settle_started = time.perf_counter()
            while undecided() and time.perf_counter() - settle_started < settle_timeout:
                time.sleep(0.1)
            reconciled_in = time.perf_counter() - settle_started
            # Let linked jobs finish, so their cost and media are in the log too.
            while studio.store.active() and time.perf_counter() - settle_started < settle_timeout:
                time.sleep(0.1)
            server.set_faults(FaultConfig())
            records = {i: studio.store.get(i) for i in unknown_ids}
            jobs = server.jobs()
        finally:
            holder.pop("studio", None)
            studio.stop()
            routes.stop()

    made = Counter(job["prompt"] for job in jobs)
    by_id = {job["job_id"]: job for job in jobs}
    delays = []
    verdicts: Counter[str] = Counter()
    linked_how: Counter[str] = Counter()
    wrong_links = []
    costed = 0
    for record in records.values():
        evidence = record.reconciliation or {}
        verdicts[evidence.get("state") or "none"] += 1
        if evidence.get("state") == "linked":
            linked_how[evidence.get("how")] += 1
            job = by_id.get(record.job_id)
            if job is None or job["prompt"] != record.prompt:
                wrong_links.append(record.local_id)
            elif record.credits_consumed == job["cost"] and record.media_paths:
                costed += 1
        decided = evidence.get("at") or evidence.get("decided_at")
        if decided:
            delays.append(decided - evidence["window"][1])
    still_unknown = [r for r in records.values() if r.status == "unknown"]
    counts = Counter(r.outcome for r in results)
    delays.sort()
    live_scale = 0.1 / DASHBOARD_TIME_SCALE
    return {
        "run": "dashboard",
        "submissions": submissions,
        "fault_rate": rate,
        "seed": seed,
        "accepted": counts["accepted"],
        "rejected": counts["rejected"],
        "unknown_answers": counts["unknown"],
        "unknown_that_created_a_job": sum(1 for r in records.values() if made[r.prompt]),
        "verdicts": dict(verdicts),
        "linked_by": dict(linked_how),
        "linked_completed_with_cost_and_media": costed,
        "unknown_at_end": len(still_unknown),
        "unknown_at_end_that_made_a_job": sum(1 for r in still_unknown if made[r.prompt]),
        "unknown_at_end_that_made_a_job_by_verdict": dict(
            Counter((r.reconciliation or {}).get("state") for r in still_unknown if made[r.prompt])
        ),
        "unverifiable_max_gaps_s": sorted(
            (r.reconciliation or {}).get("max_gap") or -1
            for r in still_unknown
            if (r.reconciliation or {}).get("state") == "unverifiable"
        )[-5:],
        "reconciliation_p50_s": round(delays[len(delays) // 2], 2) if delays else None,
        "reconciliation_max_s": round(delays[-1], 2) if delays else None,
        "reconciliation_wall_s_after_last_submission": round(reconciled_in, 2),
        # The sandbox runs at 0.1 / time scale of Legnext's durations; the tracker's timing follows.
        "reconciliation_p50_live_s": round(delays[len(delays) // 2] / live_scale, 1) if delays else None,
        "reconciliation_max_live_s": round(delays[-1] / live_scale, 1) if delays else None,
        "time_scale": DASHBOARD_TIME_SCALE,
        "submitting_s": round(submitted_in, 2),
        # Violations: each must be 0.
        "created_twice": sum(1 for c in made.values() if c > 1),
        "linked_to_wrong_job": len(wrong_links),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=300)
    parser.add_argument("--rates", type=float, nargs="+", default=[0.3, 0.6])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--client-only", action="store_true", help="skip the dashboard runs")
    args = parser.parse_args()
    # The client logs each outcome-unknown submission; here only the JSON lines matter.
    logging.basicConfig(level=logging.ERROR)
    for rate in args.rates:
        line = run_trial(args.submissions, rate, seed=args.seed)
        print(json.dumps({"run": "client_only", **line}), flush=True)
        if not args.client_only:
            print(json.dumps(run_dashboard_trial(args.submissions, rate, seed=args.seed)), flush=True)


if __name__ == "__main__":
    main()
