"""The history table built from job log records."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pandas as pd

from legnext_core.history import (
    COLUMNS,
    EXPORT_COLUMNS,
    filter_records,
    records_to_frame,
    shorten,
    status_counts,
    to_csv,
)
from legnext_core.records import JobRecord

T0 = 1_790_000_000.0

RAW = [
    {
        "local_id": "a" * 32,
        "job_id": "11111111-aaaa-bbbb-cccc-000000000001",
        "kind": "text_video",
        "prompt": "A lighthouse on a cliff at dusk, " * 5,
        "video_type": 1,
        "status": "completed",
        "progress": 90,
        "submitted_at": T0,
        "created_at": T0 + 1,
        "started_at": T0 + 11,
        "ended_at": T0 + 131,
        "credits_frozen": 1536,
        "credits_consumed": 1536,
        "callback": "https://hooks.example.com/legnext?token=abc",
    },
    {
        "local_id": "b" * 32,
        "job_id": "22222222-aaaa-bbbb-cccc-000000000002",
        "kind": "extend",
        "prompt": "keep  going\nforward",
        "video_type": 0,
        "parent_job_id": "11111111-aaaa-bbbb-cccc-000000000001",
        "parent_index": 2,
        "status": "processing",
        "progress": 40,
        "submitted_at": T0 + 100,
        "created_at": T0 + 100,
        "credits_frozen": 1536,
    },
    {"local_id": "c" * 32, "kind": "image", "prompt": "an owl", "status": "queued", "submitted_at": T0 + 50},
]
RECORDS = [JobRecord.from_dict(raw) for raw in RAW]


def test_frame_is_newest_first_with_labels_and_durations():
    frame = records_to_frame(RECORDS)
    assert list(frame.columns) == list(COLUMNS)
    assert list(frame["local_id"]) == ["b" * 32, "c" * 32, "a" * 32]
    done = frame.iloc[2]
    assert done["status_label"] == "Completed"
    assert done["progress"] == 100.0  # a completed job is done, whatever the last poll said
    assert done["kind"] == "Text to video"
    assert done["resolution"] == "720p"
    assert done["queue_wait_s"] == 10.0
    assert done["run_time_s"] == 120.0
    assert done["submitted"] == datetime.fromtimestamp(T0, UTC)
    assert done["finished"] == datetime.fromtimestamp(T0 + 131, UTC)
    assert done["credits_consumed"] == 1536


def test_extension_row_shows_parent_variant_and_no_resolution_of_its_own():
    row = records_to_frame(RECORDS).iloc[0]
    assert row["parent"] == "11111111"
    assert row["variant"] == 3
    assert pd.isna(row["resolution"])
    assert row["prompt"] == "keep going forward"
    assert pd.isna(row["finished"]) and pd.isna(row["run_time_s"])
    assert pd.isna(row["credits_consumed"])


def test_times_are_utc_aware():
    frame = records_to_frame(RECORDS)
    assert str(frame["submitted"].dt.tz) == "UTC"
    assert str(frame["finished"].dt.tz) == "UTC"


def test_queued_line_without_a_job_has_empty_cells():
    row = records_to_frame(RECORDS).iloc[1]
    assert row["status_label"] == "Queued"
    assert row["job_id"] is None or pd.isna(row["job_id"])
    assert pd.isna(row["progress"])
    assert pd.isna(row["variant"])


def test_empty_log_gives_an_empty_table_with_every_column():
    frame = records_to_frame([])
    assert list(frame.columns) == list(COLUMNS)
    assert len(frame) == 0
    assert to_csv([]).decode("utf-8-sig").strip() == ",".join(EXPORT_COLUMNS)


def test_long_prompt_is_shortened_to_eighty_characters():
    assert len(shorten("word " * 100)) == 80
    assert shorten("word " * 100).endswith("…")
    assert shorten("short") == "short"
    assert shorten(None) == ""


def test_status_counts_follow_a_jobs_progress():
    records = RECORDS + [JobRecord("x", status="completed"), JobRecord("y", status="failed")]
    assert list(status_counts(records).items()) == [
        ("queued", 1),
        ("processing", 1),
        ("completed", 2),
        ("failed", 1),
    ]


def test_filter_records_matches_text_in_prompt_or_job_id():
    assert [r.local_id for r in filter_records(RECORDS, text="LIGHTHOUSE")] == ["a" * 32]
    assert [r.local_id for r in filter_records(RECORDS, text="22222222")] == ["b" * 32]
    assert [r.local_id for r in filter_records(RECORDS, statuses=["queued"], kinds=["image"])] == ["c" * 32]
    assert [r.local_id for r in filter_records(RECORDS, since=T0 + 50)] == ["b" * 32, "c" * 32]


def _exported(records) -> list[dict[str, str]]:
    data = to_csv(records)
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte-order mark, so spreadsheets read accents"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_csv_holds_exactly_the_export_columns():
    exported = to_csv(RECORDS)
    rows = _exported(RECORDS)
    assert list(rows[0].keys()) == list(EXPORT_COLUMNS)
    assert b"hooks.example.com" not in exported  # the callback URL is never exported
    assert rows[2]["submitted"] == "2026-09-21T14:13:20Z"
    assert rows[2]["job_id"] == "11111111-aaaa-bbbb-cccc-000000000001"


def test_csv_keeps_full_values_and_every_field_a_person_set():
    prompt = "Ünïcode → arrows, " + "a long prompt that goes on " * 20
    parent = "11111111-aaaa-bbbb-cccc-000000000001"
    record = {
        "local_id": "d" * 32,
        "job_id": "44444444-aaaa-bbbb-cccc-000000000004",
        "kind": "image_url_video",
        "prompt": prompt,
        "image_url": "https://img.example.com/a.png?sig=" + "x" * 200,
        "video_type": 1,
        "motion": "high",
        "raw": True,
        "speed": "turbo",
        "batch_size": 2,
        "parent_job_id": parent,
        "parent_index": 3,
        "status": "completed",
        "submitted_at": T0,
        "video_urls": [f"https://cdn.legnext.ai/v/{n}.mp4" for n in range(4)],
        "media_paths": ["/data/media/x/0.mp4", None, "/data/media/x/2.mp4", None],
        "estimated_points": 1536,
        "batch_id": "batch-1",
    }
    [row] = _exported([JobRecord.from_dict(record)])
    assert row["prompt"] == prompt
    assert row["image_url"] == record["image_url"]
    assert row["parent_job_id"] == parent and row["parent_variant"] == "4"
    assert (row["resolution"], row["motion"], row["raw"], row["speed"], row["batch_size"]) == (
        "720p",
        "high",
        "True",
        "turbo",
        "2",
    )
    assert [row[f"output_{n}_url"] for n in range(1, 5)] == record["video_urls"]
    files = [row[f"output_{n}_file"] for n in range(1, 5)]
    assert files == ["/data/media/x/0.mp4", "", "/data/media/x/2.mp4", ""]
    assert row["kind_label"] == "Image URL to video" and row["status_label"] == "Completed"


def test_csv_cells_that_a_spreadsheet_would_run_are_made_inert():
    dangerous = [
        '=HYPERLINK("https://evil.example")',
        "=cmd|' /C calc'!A0",
        "+1+1",
        "-2+3",
        "@SUM(A1)",
        "\tTAB",
        "\rCR",
    ]
    records = [
        JobRecord(
            local_id=f"{n:032x}",
            kind="text_video",
            status="failed",
            prompt=prompt,
            error_message=prompt,
            submitted_at=T0 + n,
        )
        for n, prompt in enumerate(dangerous)
    ]
    rows = list(reversed(_exported(records)))
    assert [row["prompt"] for row in rows] == ["'" + prompt for prompt in dangerous]
    assert [row["error_message"] for row in rows] == ["'" + prompt for prompt in dangerous]
    assert _exported([records[0].replace(prompt="a = b")])[0]["prompt"] == "a = b"
