"""How many GETs a job costs and how late its finish is noticed, for several polling policies.

Runs on a simulated clock over 1,000 jobs (the six job kinds in equal shares) whose durations follow
Legnext's documented ranges: 90% inside the range, 5% up to 20% faster (the one captured live video
took 2 min 36 s against a documented 3-5 min) and 5% up to 50% slower. Policies compared:

- ``fixed_3s``: Legnext's Python SDK (polls every 3 s; it gives up at 300 s, reported separately);
- ``fixed_2s``: Legnext's web app (every 2 s; stops after 4 minutes, reported separately);
- ``fixed_15s``: a fixed poll in the middle of Legnext's 10-30 s advice;
- ``tracker``: ``legnext_core.schedule.next_poll_delay``, the function the tracker itself uses;
- ``tracker_webhooks``: the same with callbacks configured and trusted (each delivery arrives
  0.2-3 s after the finish and wakes one confirming GET; polls are only a safety net);
- ``tracker_webhooks_10pct_lost``: as above with one delivery in ten never arriving.
- ``active_list``: the tracker with ``GET /account/active_tasks``, jobs run at Legnext's concurrency
  of 6 (the next one starts when a finish is noticed): one list read per tick for the whole account
  (``schedule.active_list_interval``), one confirming GET when a job leaves the list; no webhooks.
  Also at concurrency 1 (one job at a time, the list's worst case) and with webhooks.

``--flood`` (on by default) adds the forged-delivery figures of ``benchmarks.webhook_flood``.

Prints one JSON line per policy and a final ``targets`` line. ``--http`` also runs the real-HTTP
check (``benchmarks.polling_http``) against a time-scaled sandbox.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from legnext_core.schedule import EXPECTED_DURATIONS, active_list_interval, next_poll_delay

JOB_COUNT = 1000
KINDS = tuple(EXPECTED_DURATIONS)
EARLY_SHARE = 0.05
LATE_SHARE = 0.05
WEBHOOK_DELAY = (0.2, 3.0)
SDK_GIVE_UP = 300.0
WEB_APP_GIVE_UP = 240.0


@dataclass(frozen=True)
class SimJob:
    kind: str
    duration: float


@dataclass(frozen=True)
class Outcome:
    """What one policy cost for one job: GETs sent and the lag from finish to notice."""

    gets: int
    lag: float


def sample_jobs(count: int, rng: random.Random) -> list[SimJob]:
    jobs = []
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        expected = EXPECTED_DURATIONS[kind]
        roll = rng.random()
        if roll < EARLY_SHARE:
            duration = rng.uniform(0.8 * expected.low, expected.low)
        elif roll < EARLY_SHARE + LATE_SHARE:
            duration = rng.uniform(expected.high, 1.5 * expected.high)
        else:
            duration = rng.uniform(expected.low, expected.high)
        jobs.append(SimJob(kind, duration))
    return jobs


def fixed_poller(interval: float) -> Callable[[SimJob, random.Random], Outcome]:
    def run(job: SimJob, rng: random.Random) -> Outcome:
        polls = math.ceil(job.duration / interval)
        return Outcome(gets=polls, lag=polls * interval - job.duration)

    return run


def tracker_poller(
    *, webhooks: bool, lost_share: float = 0.0, duration_scale: float = 1.0
) -> Callable[[SimJob, random.Random], Outcome]:
    def run(job: SimJob, rng: random.Random) -> Outcome:
        duration = job.duration * duration_scale
        webhook_at = math.inf
        if webhooks and rng.random() >= lost_share:
            webhook_at = duration + rng.uniform(*WEBHOOK_DELAY) * duration_scale
        now, polls = 0.0, 0
        while True:
            delay = next_poll_delay(
                job.kind, polls, now, duration_scale=duration_scale, rng=rng, webhooks_trusted=webhooks
            )
            next_poll = now + delay
            if webhook_at <= next_poll:
                # The delivery wakes the tracker, which confirms the finish with one GET at once.
                return Outcome(gets=polls + 1, lag=(webhook_at - duration) / duration_scale)
            now, polls = next_poll, polls + 1
            if now >= duration:
                return Outcome(gets=polls, lag=(now - duration) / duration_scale)

    return run


def active_list_run(
    jobs: list[SimJob], rng: random.Random, *, concurrency: int = 6, webhooks: bool = False
) -> tuple[list[Outcome], dict]:
    """Simulate the active-list policy over ``jobs`` run ``concurrency`` at a time.

    Every read of the list is one request whatever the number of running jobs; a job is noticed
    finished at the first read after its end (its one GET confirms it), or at its delivery when
    webhooks arrive first. The next queued job starts when a finish is noticed.
    """
    queue = list(range(len(jobs)))
    queue.reverse()
    running: dict[int, tuple[float, float, float]] = {}  # index -> (start, end, delivery)
    outcomes: dict[int, Outcome] = {}
    reads_by_active: Counter[int] = Counter()
    requests_by_active: defaultdict[int, list[int]] = defaultdict(list)
    now, next_read, reads = 0.0, 0.0, 0

    def start(at: float) -> None:
        while queue and len(running) < concurrency:
            index = queue.pop()
            end = at + jobs[index].duration
            delivery = end + rng.uniform(*WEBHOOK_DELAY) if webhooks else math.inf
            running[index] = (at, end, delivery)

    start(0.0)
    while running:
        delivered = min(running, key=lambda i: running[i][2])
        if running[delivered][2] < next_read:
            now = running[delivered][2]
            _, end, _ = running.pop(delivered)
            outcomes[delivered] = Outcome(gets=1, lag=now - end)
            start(now)
            continue
        now = next_read
        reads += 1
        listed = [i for i, (_, end, _) in running.items() if end > now]
        reads_by_active[len(listed)] += 1
        left = [i for i in running if i not in listed]
        requests_by_active[len(listed)].append(1 + len(left))
        for index in left:
            _, end, _ = running.pop(index)
            outcomes[index] = Outcome(gets=1, lag=now - end)
        start(now)
        ages = [(jobs[i].kind, now - running[i][0]) for i in running]
        next_read = now + active_list_interval(ages, searching=False)
    stats = {
        "concurrency": concurrency,
        "list_reads": reads,
        "list_reads_per_job": round(reads / len(jobs), 2),
        "simulated_hours": round(now / 3600, 1),
        "list_requests_per_tick": 1,
        "reads_by_listed_jobs": dict(sorted(reads_by_active.items())),
        "mean_requests_per_tick_by_listed_jobs": {
            n: round(statistics.fmean(v), 3) for n, v in sorted(requests_by_active.items())
        },
    }
    return [outcomes[i] for i in range(len(jobs))], stats


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))
    return ordered[index]


def summarise(name: str, jobs: list[SimJob], outcomes: list[Outcome], **extra: object) -> dict:
    lags = [o.lag for o in outcomes]
    by_kind = {}
    for kind in KINDS:
        gets = [o.gets for job, o in zip(jobs, outcomes, strict=True) if job.kind == kind]
        by_kind[kind] = round(statistics.fmean(gets), 2)
    return {
        "policy": name,
        "jobs": len(jobs),
        "gets_per_job": round(statistics.fmean(o.gets for o in outcomes), 2),
        "lag_p50_s": round(percentile(lags, 0.50), 1),
        "lag_p95_s": round(percentile(lags, 0.95), 1),
        "lag_max_s": round(max(lags), 1),
        "gets_per_job_by_kind": by_kind,
        **extra,
    }


def run_simulation(count: int = JOB_COUNT, seed: int = 20251021) -> list[dict]:
    jobs = sample_jobs(count, random.Random(seed))
    policies: dict[str, Callable[[SimJob, random.Random], Outcome]] = {
        "fixed_3s": fixed_poller(3.0),
        "fixed_2s": fixed_poller(2.0),
        "fixed_15s": fixed_poller(15.0),
        "tracker": tracker_poller(webhooks=False),
        "tracker_webhooks": tracker_poller(webhooks=True),
        "tracker_webhooks_10pct_lost": tracker_poller(webhooks=True, lost_share=0.1),
    }
    extras: dict[str, dict] = {
        "fixed_3s": {
            "share_given_up_at_300s": round(sum(j.duration > SDK_GIVE_UP for j in jobs) / len(jobs), 3)
        },
        "fixed_2s": {
            "share_given_up_at_240s": round(sum(j.duration > WEB_APP_GIVE_UP for j in jobs) / len(jobs), 3)
        },
    }
    lines = []
    for name, policy in policies.items():
        rng = random.Random(f"{seed}-{name}")
        outcomes = [policy(job, rng) for job in jobs]
        lines.append(summarise(name, jobs, outcomes, **extras.get(name, {})))
    for name, concurrency, webhooks in (
        ("active_list", 6, False),
        ("active_list_webhooks", 6, True),
        ("active_list_one_at_a_time", 1, False),
    ):
        outcomes, stats = active_list_run(
            jobs, random.Random(f"{seed}-{name}"), concurrency=concurrency, webhooks=webhooks
        )
        line = summarise(name, jobs, outcomes, **stats)
        total = line["gets_per_job"] + stats["list_reads_per_job"]
        line["requests_per_job_with_list_reads"] = round(total, 2)
        lines.append(line)
    return lines


def targets(lines: list[dict]) -> dict:
    by_name = {line["policy"]: line for line in lines}
    ratio = by_name["tracker"]["gets_per_job"] / by_name["fixed_3s"]["gets_per_job"]
    webhook_gets = by_name["tracker_webhooks"]["gets_per_job"]
    return {
        "policy": "targets",
        "tracker_gets_vs_fixed_3s": round(ratio, 3),
        "tracker_gets_at_most_one_eighth": ratio <= 1 / 8,
        "tracker_lag_p95_at_most_20s": by_name["tracker"]["lag_p95_s"] <= 20.0,
        "webhook_gets_per_job": webhook_gets,
        "webhook_gets_at_most_1_2": webhook_gets <= 1.2,
        "active_list_gets_per_job": by_name["active_list"]["gets_per_job"],
        "active_list_gets_at_most_1_5": by_name["active_list"]["gets_per_job"] <= 1.5,
        "active_list_lag_p95_s": by_name["active_list"]["lag_p95_s"],
        "active_list_lag_p95_at_most_15s": by_name["active_list"]["lag_p95_s"] <= 15.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=JOB_COUNT)
    parser.add_argument("--seed", type=int, default=20251021)
    parser.add_argument("--http", action="store_true", help="also run the real-HTTP sandbox check")
    parser.add_argument("--no-flood", action="store_true", help="skip the forged-delivery figures")
    parser.add_argument("--deliveries", type=int, default=2000)
    args = parser.parse_args(argv)
    lines = run_simulation(args.jobs, args.seed)
    for line in [*lines, targets(lines)]:
        print(json.dumps(line), flush=True)
    if not args.no_flood:
        from benchmarks import webhook_flood

        webhook_flood.main(["--deliveries", str(args.deliveries)])
    if args.http:
        from benchmarks import polling_http

        polling_http.main([])
    return 0


if __name__ == "__main__":
    sys.exit(main())
