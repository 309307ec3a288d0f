"""Who made what, in the history table and its CSV export."""

from __future__ import annotations

import csv
import io

from legnext_core import history
from legnext_core.records import JobRecord

RAW = [
    {"local_id": "a1", "job_id": "j-a1", "kind": "text_video", "status": "completed", "prompt": "a heron",
     "submitted_by": "ana@team.test", "submitted_at": 1_790_000_300.0},
    {"local_id": "b1", "job_id": "j-b1", "kind": "upscale", "status": "processing", "prompt": None,
     "submitted_by": "bo@team.test", "submitted_at": 1_790_000_200.0},
    # Made before anyone signed in: the one local user's.
    {"local_id": "old", "job_id": "j-old", "kind": "extend", "status": "failed", "prompt": "a boat",
     "submitted_at": 1_790_000_100.0},
]  # fmt: skip
RECORDS = [JobRecord.from_dict(raw) for raw in RAW]


def test_the_table_has_a_by_column() -> None:
    frame = history.records_to_frame(RECORDS)
    assert list(frame["submitted_by"]) == ["ana@team.test", "bo@team.test", "local"]


def test_the_csv_export_says_who_submitted_each_job() -> None:
    rows = list(csv.DictReader(io.StringIO(history.to_csv(RECORDS).decode("utf-8-sig"))))
    assert [(r["job_id"], r["submitted_by"]) for r in rows] == [
        ("j-a1", "ana@team.test"), ("j-b1", "bo@team.test"), ("j-old", "local"),
    ]  # fmt: skip


def test_mine_keeps_only_the_person_s_jobs() -> None:
    assert [r.local_id for r in history.made_by(RECORDS, "ana@team.test")] == ["a1"]
    assert [r.local_id for r in history.made_by(RECORDS, "local")] == ["old"]
    assert len(history.made_by(RECORDS, None)) == 3
