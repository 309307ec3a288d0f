"""The Usage page's figures: points per day by person and by kind, jobs and failures per person.

Pure functions over job log records (no streamlit), so the figures are tested without a browser. Points
are what each job has cost or may still cost (:func:`legnext_core.spending.committed_points`); days are
UTC, like the caps.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import pandas as pd

from legnext_core.history import KIND_LABELS
from legnext_core.records import JobRecord
from legnext_core.spending import committed_points, submitter

#: Statuses that count as a failure in the failure rate (rejected: Legnext refused it; lost: never found).
FAILED_STATUSES = frozenset({"failed", "rejected", "lost"})
FINISHED_STATUSES = FAILED_STATUSES | {"completed"}


def _when(record: JobRecord) -> float:
    return float(record.submitted_at or record.created_at or 0)


def points_per_day(records: Iterable[JobRecord], *, by: Literal["person", "kind"]) -> pd.DataFrame:
    """One row per UTC day, one column per person (or kind), points summed; days with nothing left out."""
    rows = [
        {
            "day": pd.Timestamp(_when(r), unit="s", tz="UTC").normalize().tz_localize(None),
            "group": submitter(r) if by == "person" else KIND_LABELS.get(r.kind or "", r.kind),
            "points": committed_points(r),
        }
        for r in records
    ]
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows)
    table = frame.pivot_table(index="day", columns="group", values="points", aggfunc="sum", fill_value=0)
    table.columns.name = None
    return table.sort_index()


def per_person(records: Iterable[JobRecord]) -> pd.DataFrame:
    """Jobs, points and failure rate (failed among finished jobs) per person, most points first."""
    people: dict[str, dict[str, float]] = {}
    for record in records:
        row = people.setdefault(submitter(record), {"jobs": 0, "finished": 0, "failed": 0, "points": 0})
        row["jobs"] += 1
        row["points"] += committed_points(record)
        status = record.status
        if status in FINISHED_STATUSES:
            row["finished"] += 1
            row["failed"] += status in FAILED_STATUSES
    frame = pd.DataFrame(
        [
            {
                "person": person,
                "jobs": int(row["jobs"]),
                "points": int(row["points"]),
                "failed": int(row["failed"]),
                "failure_rate": (row["failed"] / row["finished"]) if row["finished"] else None,
            }
            for person, row in people.items()
        ],
        columns=["person", "jobs", "points", "failed", "failure_rate"],
    )
    return frame.sort_values(["points", "person"], ascending=[False, True], ignore_index=True)
