"""Job log records -> the history table: a pandas DataFrame, counts and a CSV export.

Pure functions over the plain dict records :class:`legnext_core.store.JobStore` returns, so the
history page stays thin and the table can be tested without a browser. Columns are built as whole
lists and handed to pandas once: 10,000 records take a few tens of milliseconds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import pandas as pd

from legnext_core.store import STATUS_RANK, record_filter, submitted_at

#: A marker and a word for each status, for the table's status column.
STATUS_LABELS: dict[str, str] = {
    "queued": "Queued",
    "submitting": "Submitting",
    "unknown": "Outcome unknown",
    "pending": "Pending",
    "staged": "Staged",
    "processing": "Processing",
    "completed": "Completed",
    "failed": "Failed",
    "rejected": "Rejected",
    "lost": "Lost",
}

KIND_LABELS: dict[str, str] = {
    "text_video": "Text → video",
    "image_url_video": "Image URL → video",
    "animate": "Animate image",
    "extend": "Extend",
    "upscale": "Upscale",
    "image": "Image",
}

RESOLUTION_LABELS: dict[int, str] = {0: "480p", 1: "720p"}

#: Kinds whose record's ``video_type`` is what was made (an extend or upscale follows its parent).
_KINDS_WITH_OWN_RESOLUTION = frozenset({"text_video", "image_url_video", "animate"})

PROMPT_CHARS = 80
SHORT_ID_CHARS = 8

#: The table's columns, in order.
COLUMNS: tuple[str, ...] = (
    "status_label",
    "status",
    "progress",
    "kind",
    "submitted_by",
    "prompt",
    "resolution",
    "variant",
    "parent",
    "submitted",
    "finished",
    "queue_wait_s",
    "run_time_s",
    "credits_frozen",
    "credits_consumed",
    "job_id",
    "local_id",
)

#: What a CSV export holds: the table's named columns, so a field added to records later is never
#: exported by accident. Records hold no secrets; the callback URL is left out all the same.
CSV_COLUMNS: tuple[str, ...] = tuple(column for column in COLUMNS if column != "status_label")


def shorten(text: str | None, limit: int = PROMPT_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    if not text:
        return ""
    # Collapsing whitespace is the slow part at 10,000 rows; most prompts need none.
    flat = text if "  " not in text and "\n" not in text and "\t" not in text else " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def records_to_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """The history table: one row per record, newest first, the columns of :data:`COLUMNS`.

    ``progress`` is 0-100 (completed jobs 100); ``submitted``/``finished`` are UTC-aware datetimes;
    ``queue_wait_s`` is Legnext's created -> started, ``run_time_s`` started -> ended; ``variant`` is
    the 1-4 output of the parent the job was made from.
    """
    rows = sorted(records, key=submitted_at, reverse=True)
    # pandas reads the numeric fields out of the dicts in one pass; the rest is column-wise.
    if not rows:
        return pd.DataFrame({name: pd.Series(dtype=_EMPTY_DTYPES.get(name, "object")) for name in COLUMNS})
    raw = pd.DataFrame.from_records(rows, columns=list(_NUMERIC_FIELDS), coerce_float=True).astype("float64")
    status = pd.Series([r.get("status") or "" for r in rows], dtype=object)
    kind = pd.Series([r.get("kind") or "" for r in rows], dtype=object)
    progress = raw["progress"].where(status != "completed", 100.0)
    own_resolution = kind.isin(_KINDS_WITH_OWN_RESOLUTION)
    resolution = raw["video_type"].fillna(0).map(RESOLUTION_LABELS).where(own_resolution)
    started = raw["started_at"]
    ended = raw["ended_at"]
    submitted = raw["submitted_at"].fillna(raw["created_at"])
    frame = pd.DataFrame(
        {
            "status_label": status.map(lambda s: STATUS_LABELS.get(s, s)),
            "status": status,
            "progress": progress,
            "kind": kind.map(lambda k: KIND_LABELS.get(k, k)),
            # Records made before people signed in were made by the one local user.
            "submitted_by": [r.get("submitted_by") or "local" for r in rows],
            "prompt": [shorten(r.get("prompt")) for r in rows],
            "resolution": resolution,
            "variant": (raw["parent_index"] + 1).astype("Int64"),
            "parent": [(r.get("parent_job_id") or "")[:SHORT_ID_CHARS] or None for r in rows],
            "submitted": pd.to_datetime(submitted, unit="s", utc=True),
            "finished": pd.to_datetime(ended, unit="s", utc=True),
            "queue_wait_s": _non_negative(started - raw["created_at"]),
            "run_time_s": _non_negative(ended - started),
            "credits_frozen": raw["credits_frozen"].astype("Int64"),
            "credits_consumed": raw["credits_consumed"].astype("Int64"),
            "job_id": [r.get("job_id") for r in rows],
            "local_id": [r.get("local_id") for r in rows],
        },
        columns=list(COLUMNS),
    )
    return frame


_NUMERIC_FIELDS = (
    "progress",
    "video_type",
    "parent_index",
    "submitted_at",
    "created_at",
    "started_at",
    "ended_at",
    "credits_frozen",
    "credits_consumed",
)
_EMPTY_DTYPES = {
    "progress": "float64",
    "variant": "Int64",
    "submitted": "datetime64[ns, UTC]",
    "finished": "datetime64[ns, UTC]",
    "queue_wait_s": "float64",
    "run_time_s": "float64",
    "credits_frozen": "Int64",
    "credits_consumed": "Int64",
}


def _non_negative(seconds: pd.Series) -> pd.Series:
    # A clock step between two Legnext timestamps must not show as a negative duration.
    return seconds.where(seconds >= 0)


def status_counts(records: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many records have each status, in the order a job moves through them (absent ones left out)."""
    counts = Counter(record.get("status") or "" for record in records)
    return dict(sorted(counts.items(), key=lambda item: (STATUS_RANK.get(item[0], 99), item[0])))


def filter_records(
    records: Iterable[Mapping[str, Any]],
    *,
    statuses: Iterable[str] | None = None,
    kinds: Iterable[str] | None = None,
    text: str | None = None,
    since: float | datetime | None = None,
    until: float | datetime | None = None,
) -> list[Mapping[str, Any]]:
    """The records that pass the same filters as :meth:`JobStore.recent`, in their given order."""
    keep = record_filter(statuses=statuses, kinds=kinds, text=text, since=since, until=until)
    return [record for record in records if keep(record)]


def made_by(records: Iterable[Mapping[str, Any]], email: str | None) -> list[Mapping[str, Any]]:
    """The records ``email`` submitted ("Mine"), or all of them when ``email`` is None ("Everyone")."""
    if email is None:
        return list(records)
    return [record for record in records if (record.get("submitted_by") or "local") == email]


def to_csv(frame: pd.DataFrame) -> bytes:
    """The table as UTF-8 CSV with exactly the columns of :data:`CSV_COLUMNS` (times in ISO 8601 UTC)."""
    exported = frame.loc[:, list(CSV_COLUMNS)]
    return exported.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%SZ").encode("utf-8")
