"""Submissions through LegnextClient against the sandbox with faults injected; prints JSON lines.

Each submission has a prompt of its own, so the sandbox's list of created jobs shows whether any
submission created a job twice. Every submission must end as one of: a job id ("accepted"), a clear
rejection (an HTTP error or a connection never made: then no job may exist), or "outcome unknown"
(a job may exist, at most one).

    python -m benchmarks.faults --submissions 200 --rate 0.3 --seed 1
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--rate", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="trials, with seeds seed, seed+1, ...")
    args = parser.parse_args()
    # The client logs each outcome-unknown submission; here only the JSON lines matter.
    logging.basicConfig(level=logging.ERROR)
    for i in range(args.repeat):
        print(json.dumps(run_trial(args.submissions, args.rate, seed=args.seed + i)), flush=True)


if __name__ == "__main__":
    main()
