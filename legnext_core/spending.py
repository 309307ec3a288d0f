"""Spending caps: a per-person daily cap and a team monthly cap, in points, checked before any POST.

What counts against a cap is what a job has cost or may still cost: points consumed by finished jobs,
points frozen by running ones, and the estimate of anything sent or about to be sent whose price is not
known yet (queued, submitting, outcome unknown). Rejected jobs cost nothing. Days and months are UTC,
so everyone's cap resets at the same moment. Running jobs are never stopped by a cap: it only decides
whether a new submission is sent.

The caps come from the settings (``LEGNEXT_DAILY_CAP_POINTS``, ``LEGNEXT_MONTHLY_CAP_POINTS``); an admin
may change them in the dashboard, which writes ``limits.json`` in the data folder, and that file then
wins over the settings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from legnext_core.errors import LegnextError
from legnext_core.files import write_atomically
from legnext_core.records import NO_SIGN_IN, JobRecord
from legnext_core.settings import Settings

LIMITS_FILE = "limits.json"

#: Statuses whose cost is not known yet: their estimate counts.
_ESTIMATED_STATUSES = frozenset({"queued", "submitting", "unknown"})
_ACTIVE_STATUSES = frozenset({"pending", "staged", "processing"})


@dataclass(frozen=True)
class Caps:
    """The caps in force; None means no cap."""

    daily_per_person: int | None = None
    monthly_team: int | None = None


def _limits_path(settings: Settings) -> Path:
    return settings.data_dir / LIMITS_FILE


def load_caps(settings: Settings) -> Caps:
    """The caps: the admins' saved ones where set, else the settings'."""
    caps = Caps(settings.daily_cap_points, settings.monthly_cap_points)
    try:
        saved = json.loads(_limits_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return caps
    if not isinstance(saved, dict):
        return caps

    def value(name: str, fallback: int | None) -> int | None:
        if name not in saved:
            return fallback
        raw = saved[name]
        return raw if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0 else None

    return Caps(value("daily_per_person", caps.daily_per_person), value("monthly_team", caps.monthly_team))


def save_caps(settings: Settings, caps: Caps) -> None:
    """Persist the caps an admin set (atomically: a crash leaves the old file or the new one)."""
    for cap in (caps.daily_per_person, caps.monthly_team):
        if cap is not None and (not isinstance(cap, int) or cap <= 0):
            raise ValueError("a cap is a whole number of points above 0, or None for no cap")
    path = _limits_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps({"daily_per_person": caps.daily_per_person, "monthly_team": caps.monthly_team})
    write_atomically(path, body.encode("utf-8"))


def committed_points(record: JobRecord) -> int:
    """What a record has cost, or may still cost, in points."""
    status = record.status
    if status == "rejected":
        return 0
    if status in _ACTIVE_STATUSES:
        return int(record.credits_frozen or record.estimated_points or 0)
    if status in _ESTIMATED_STATUSES:
        return int(record.estimated_points or 0)
    consumed = record.credits_consumed
    if consumed is not None:
        return int(consumed)
    # A finished job Legnext reported no usage for: what it froze, else what it was estimated at.
    if status == "completed":
        return int(record.credits_frozen or record.estimated_points or 0)
    return int(record.credits_frozen or 0)


def submitter(record: JobRecord) -> str:
    return str(record.submitted_by or NO_SIGN_IN)


def day_start(now: float) -> datetime:
    moment = datetime.fromtimestamp(now, UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def month_start(now: float) -> datetime:
    return day_start(now).replace(day=1)


def next_month(start: datetime) -> datetime:
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


@dataclass(frozen=True)
class Usage:
    """Points counted against the caps at one moment."""

    person_today: int
    team_month: int


def usage(records: Iterable[JobRecord], person: str, now: float) -> Usage:
    """The person's points today and the team's this month, over the records of this month (or more)."""
    today = day_start(now).timestamp()
    month = month_start(now).timestamp()
    person_today = team_month = 0
    for record in records:
        when = record.submitted_at or record.created_at or 0
        if when < month:
            continue
        points = committed_points(record)
        team_month += points
        if when >= today and submitter(record) == person:
            person_today += points
    return Usage(person_today, team_month)


class SpendingCapError(LegnextError):
    """A submission would go over a cap; nothing was recorded or sent."""

    def __init__(self, *, scope: str, cap: int, used: int, needed: int, resets_at: datetime) -> None:
        super().__init__(f"{scope} cap {cap} points: {used} used, {needed} needed")
        self.scope = scope  # "daily" or "monthly"
        self.cap = cap
        self.used = used
        self.needed = needed
        self.resets_at = resets_at

    _headline = "Not sent: over a spending limit."

    @property
    def advice(self) -> str:
        whose = "Your daily" if self.scope == "daily" else "The team's monthly"
        period = "today" if self.scope == "daily" else "this month"
        when = self.resets_at.strftime("%Y-%m-%d %H:%M UTC")
        return (
            f"{whose} limit is {self.cap:,} points; {self.used:,} "
            f"are used or reserved {period} and this needs about {self.needed:,} more. "
            f"The limit resets at {when}. Running jobs are not affected."
        )


def check(
    records: Iterable[JobRecord], *, person: str, needed: int, caps: Caps, now: float
) -> SpendingCapError | None:
    """The refusal for a submission of ``needed`` points, or None when it fits both caps."""
    used = usage(records, person, now)
    return _over(used, needed, caps, now)


def _over(used: Usage, needed: int, caps: Caps, now: float) -> SpendingCapError | None:
    # A person over both caps hears of the daily one: it is their own, and it resets first.
    limits = (
        ("daily", caps.daily_per_person, used.person_today, day_start(now) + timedelta(days=1)),
        ("monthly", caps.monthly_team, used.team_month, next_month(month_start(now))),
    )
    for scope, cap, spent, resets_at in limits:
        if cap is not None and spent + needed > cap:
            return SpendingCapError(scope=scope, cap=cap, used=spent, needed=needed, resets_at=resets_at)
    return None


def fit_batch(
    records: Iterable[JobRecord],
    *,
    person: str,
    estimates: Sequence[int],
    caps: Caps,
    now: float,
) -> tuple[int, SpendingCapError | None]:
    """How many lines of a batch fit under the caps, in order; and the refusal for the first that does not."""
    used = usage(records, person, now)
    for position, needed in enumerate(estimates):
        refusal = _over(used, needed, caps, now)
        if refusal is not None:
            return position, refusal
        used = Usage(used.person_today + needed, used.team_month + needed)
    return len(estimates), None
