"""When to poll a job next: one pure function shared by the tracker and the polling benchmark.

Legnext asks clients to poll every 10-30 s, and its jobs take minutes (video and extend 3-5 min,
upscale 4-6 min, image 30-90 s). Polling before a job can plausibly be finished only costs requests,
so the first poll waits until just before the earliest likely finish; after that the job is polled at
an interval inside Legnext's advice that is short enough to notice a finish quickly, growing once the
job runs past its expected time, and slow (but never stopped) once it looks stuck.

When the job was submitted with a callback URL and callbacks have been seen to arrive, the tracker
learns of a finish from the webhook; polls are then only a safety net for a lost delivery, so the
first one waits until past the slow end of the expected range and later ones are twice as far apart.

Every duration is multiplied by ``duration_scale`` (1.0 live; 0.1 / time scale for the sandbox, whose
demo jobs are a tenth of Legnext's and can be sped up further).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class ExpectedDuration:
    """Legnext's documented duration range of one kind of job, in live seconds."""

    low: float
    high: float


_VIDEO = ExpectedDuration(180.0, 300.0)
#: Documented durations per ``JobKind`` value (API notes, "Limits, timing, cost").
EXPECTED_DURATIONS: dict[str, ExpectedDuration] = {
    "text_video": _VIDEO,
    "image_url_video": _VIDEO,
    "animate": _VIDEO,
    "extend": _VIDEO,
    "upscale": ExpectedDuration(240.0, 360.0),
    "image": ExpectedDuration(30.0, 90.0),
}
#: A kind we do not know (a job tracked from elsewhere) is treated as the slowest video work.
_UNKNOWN_KIND = ExpectedDuration(180.0, 360.0)

#: Legnext's advice: poll every 10-30 s.
MIN_INTERVAL = 10.0
MAX_INTERVAL = 30.0
#: The first poll lands at this fraction of the earliest likely finish: the one captured live video
#: job took 2 min 36 s, a little under the documented 3 min.
FIRST_POLL_AT = 0.9
#: Inside the expected range, polls are this fraction of the range apart (clamped to the advice):
#: 15 s for video and upscale, 10 s for images.
INTERVALS_PER_RANGE = 8
#: Past the slow end, the interval grows linearly to MAX_INTERVAL over one more ``high``.
LATE_START_INTERVAL = 15.0
#: A job with no finish by this multiple of the slow end is flagged stuck and polled slowly.
STUCK_AFTER = 3.0
STUCK_INTERVAL = 2 * MAX_INTERVAL
#: With trusted webhooks the first safety-net poll waits until past the slow end by this factor.
SAFETY_FIRST_POLL_AT = 1.25
SAFETY_INTERVAL_FACTOR = 2.0
#: Every delay is spread by this much either way, so a batch submitted together does not poll together.
JITTER = 0.1


class Phase(StrEnum):
    """Where a job's age stands against its expected duration."""

    EARLY = "early"
    EXPECTED = "expected"
    LATE = "late"
    STUCK = "stuck"


def expected_duration(kind: str, duration_scale: float = 1.0) -> ExpectedDuration:
    """The (scaled) duration range for a kind (a ``JobKind`` or its value)."""
    base = EXPECTED_DURATIONS.get(_kind_value(kind), _UNKNOWN_KIND)
    return ExpectedDuration(base.low * duration_scale, base.high * duration_scale)


def phase(kind: str, elapsed: float, *, duration_scale: float = 1.0) -> Phase:
    """Classify a job's age; ``STUCK`` is what the tracker flags in the record."""
    expected = expected_duration(kind, duration_scale)
    if elapsed < expected.low:
        return Phase.EARLY
    if elapsed <= expected.high:
        return Phase.EXPECTED
    if elapsed < STUCK_AFTER * expected.high:
        return Phase.LATE
    return Phase.STUCK


def is_stuck(kind: str, elapsed: float, *, duration_scale: float = 1.0) -> bool:
    return phase(kind, elapsed, duration_scale=duration_scale) is Phase.STUCK


def next_poll_delay(
    kind: str,
    poll_count: int,
    elapsed: float,
    *,
    duration_scale: float = 1.0,
    rng: random.Random,
    webhooks_trusted: bool = False,
    slowdown: float = 1.0,
) -> float:
    """Seconds from now until the next poll of a job that is ``elapsed`` seconds old.

    ``poll_count`` is how many polls the job has had. A job that has not been polled yet waits for
    its first-poll age (an overdue one, e.g. after a restart, is due at once); a polled job waits one
    interval for its phase. ``webhooks_trusted`` switches to the safety-net schedule; ``slowdown``
    (>= 1, raised after a 429) stretches every interval.
    """
    expected = expected_duration(kind, duration_scale)
    first_poll_age = (
        SAFETY_FIRST_POLL_AT * expected.high if webhooks_trusted else FIRST_POLL_AT * expected.low
    )
    if poll_count <= 0 or elapsed < first_poll_age:
        wait = max(first_poll_age - elapsed, 0.0)
        if wait == 0.0:
            # Overdue (e.g. after a restart): due now; the tracker's few request slots spread a crowd.
            return 0.0
        return max(wait + rng.uniform(-wait * JITTER, wait * JITTER), 0.0) * max(slowdown, 1.0)

    interval = _interval(kind, elapsed, duration_scale)
    if webhooks_trusted:
        interval *= SAFETY_INTERVAL_FACTOR
    interval *= 1.0 + rng.uniform(-JITTER, JITTER)
    return interval * max(slowdown, 1.0)


def _interval(kind: str, elapsed: float, duration_scale: float) -> float:
    live = expected_duration(kind, 1.0)
    age = elapsed / duration_scale if duration_scale > 0 else elapsed
    current = phase(kind, age)
    if current in (Phase.EARLY, Phase.EXPECTED):
        interval = (live.high - live.low) / INTERVALS_PER_RANGE
        interval = min(max(interval, MIN_INTERVAL), MAX_INTERVAL)
    elif current is Phase.LATE:
        overrun = min((age - live.high) / live.high, 1.0)
        interval = LATE_START_INTERVAL + (MAX_INTERVAL - LATE_START_INTERVAL) * overrun
    else:
        interval = STUCK_INTERVAL
    return interval * duration_scale


def _kind_value(kind: object) -> str:
    return str(getattr(kind, "value", kind))


#: An estimate never claims more than this: only Legnext can say a job is done.
ESTIMATE_CAP = 95


def estimated_progress(kind: str, elapsed: float, *, duration_scale: float = 1.0) -> int:
    """Progress guessed from time alone (0-95): elapsed against the middle of the expected range.

    Only for a server that reports no progress of its own; the UI labels it as an estimate.
    """
    expected = expected_duration(kind, duration_scale)
    middle = (expected.low + expected.high) / 2
    if middle <= 0:
        return 0
    return max(0, min(ESTIMATE_CAP, int(100 * elapsed / middle)))


#: The account's active list (one request for every running job) is read at Legnext's shortest
#: advised interval while any job could be finishing or a lost submission is being looked for ...
LIST_INTERVAL = MIN_INTERVAL
#: ... and at its longest while every job is still early (the reads then only move progress on).
LIST_EARLY_INTERVAL = MAX_INTERVAL


def active_list_interval(
    jobs: Iterable[tuple[str, float]], *, searching: bool, duration_scale: float = 1.0
) -> float:
    """Seconds until the next read of the active list, for running ``(kind, elapsed)`` jobs.

    ``searching``: an "outcome unknown" submission is being looked for; its job would show up in the
    list for a limited time, so the list is read at the short interval.
    """
    if searching or any(
        elapsed >= FIRST_POLL_AT * expected_duration(kind, duration_scale).low for kind, elapsed in jobs
    ):
        return LIST_INTERVAL * duration_scale
    return LIST_EARLY_INTERVAL * duration_scale
