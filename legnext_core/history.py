"""Job log records -> the history table (a pandas DataFrame), counts, and the CSV export.

Pure functions over the plain dict records :class:`legnext_core.store.JobStore` returns, so the
history page stays thin and the table can be tested without a browser. Columns are built as whole
lists and handed to pandas once: 10,000 records take a few tens of milliseconds.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from legnext_core.models import JobKind
from legnext_core.store import STATUS_RANK, record_filter, submitted_at

#: The word for each record status, everywhere one is shown (table, filter, counts, tree, export).
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

#: Kind labels by record value (the wording lives on :class:`JobKind`).
KIND_LABELS: dict[str, str] = {kind.value: kind.label for kind in JobKind}

RESOLUTION_LABELS: dict[int, str] = {0: "480p", 1: "720p"}
#: Added to the status label of a job whose progress is estimated from elapsed time.
ESTIMATE_SUFFIX = " · progress estimated"

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
            "status_label": [
                STATUS_LABELS.get(s, s) + (ESTIMATE_SUFFIX if r.get("progress_estimated") else "")
                for s, r in zip(status, rows, strict=True)
            ],
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


#: Statuses whose frozen points are still held: the job may yet run (or is running) at Legnext.
RESERVING_STATUSES = frozenset({"submitting", "unknown", "pending", "staged", "processing"})


def reserved_points(records: Iterable[Mapping[str, Any]]) -> int:
    """Points Legnext holds for jobs still under way: frozen at submission, released when a job ends
    (charged as consumed, or given back). A finished job's frozen points are no longer reserved."""
    return sum(
        record.get("credits_frozen") or 0 for record in records if record.get("status") in RESERVING_STATUSES
    )


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


#: Cells a spreadsheet would read as a formula start with one of these (OWASP, "CSV Injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

#: Outputs per job: each gets a URL and an archived-file column in the export.
_EXPORT_OUTPUTS = 4

#: What the CSV export holds, in order: every field a person set, every outcome, full values. The
#: callback URL is left out on purpose: a webhook URL may carry a token. ``prompt`` and ``resolution``
#: are named as the batch form's CSV expects, so an export can be sent again as a batch.
EXPORT_COLUMNS: tuple[str, ...] = (
    "local_id", "job_id", "kind", "kind_label", "status", "status_label", "progress",
    "prompt", "image_url", "resolution", "motion", "raw", "speed", "batch_size", "end_url", "loop",
    "parent_job_id", "parent_variant", "batch_id", "resubmit_of", "submitted_by",
    "submitted", "created", "started", "finished", "queue_wait_s", "run_time_s",
    "estimated_points", "credits_frozen", "credits_consumed", "seed",
    "error_code", "error_message", "note",
    *(f"output_{n}_url" for n in range(1, _EXPORT_OUTPUTS + 1)),
    *(f"output_{n}_file" for n in range(1, _EXPORT_OUTPUTS + 1)),
)


def _iso(epoch: Any) -> str | None:
    if not isinstance(epoch, int | float):
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _span(start: Any, end: Any) -> float | None:
    if not isinstance(start, int | float) or not isinstance(end, int | float) or end < start:
        return None
    return round(end - start, 3)


def export_row(record: Mapping[str, Any]) -> dict[str, Any]:
    """One record as a row of :data:`EXPORT_COLUMNS`, values whole (never shortened)."""
    kind = record.get("kind") or ""
    status = record.get("status") or ""
    video_type = record.get("video_type")
    index = record.get("parent_index")
    outputs = list(record.get("video_urls") or record.get("image_urls") or [])
    files = list(record.get("media_paths") or [])
    row: dict[str, Any] = {
        "local_id": record.get("local_id"),
        "job_id": record.get("job_id"),
        "kind": kind,
        "kind_label": KIND_LABELS.get(kind, kind),
        "status": status,
        "status_label": STATUS_LABELS.get(status, status),
        "progress": 100 if status == "completed" else record.get("progress"),
        "prompt": record.get("prompt"),
        "image_url": record.get("image_url") if kind == "image_url_video" else None,
        "resolution": RESOLUTION_LABELS.get(video_type) if kind in _KINDS_WITH_OWN_RESOLUTION else None,
        "motion": record.get("motion"),
        "raw": bool(record.get("raw")) if kind != "image" else None,
        "speed": record.get("speed"),
        "batch_size": record.get("batch_size"),
        "end_url": record.get("end_url"),
        "loop": record.get("loop"),
        "parent_job_id": record.get("parent_job_id"),
        "parent_variant": index + 1 if isinstance(index, int) else None,
        "batch_id": record.get("batch_id"),
        "resubmit_of": record.get("resubmit_of"),
        "submitted_by": record.get("submitted_by") or "local",
        "submitted": _iso(record.get("submitted_at") or record.get("created_at")),
        "created": _iso(record.get("created_at")),
        "started": _iso(record.get("started_at")),
        "finished": _iso(record.get("ended_at")),
        "queue_wait_s": _span(record.get("created_at"), record.get("started_at")),
        "run_time_s": _span(record.get("started_at"), record.get("ended_at")),
        "estimated_points": record.get("estimated_points"),
        "credits_frozen": record.get("credits_frozen"),
        "credits_consumed": record.get("credits_consumed"),
        "seed": record.get("seed"),
        "error_code": record.get("error_code"),
        "error_message": record.get("error_message"),
        "note": record.get("note"),
    }
    for n in range(_EXPORT_OUTPUTS):
        row[f"output_{n + 1}_url"] = outputs[n] if n < len(outputs) else None
        row[f"output_{n + 1}_file"] = files[n] if n < len(files) else None
    return row


def neutralise_formula(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula, made inert with a leading apostrophe.

    OWASP's advice for CSV injection: prefix cells starting with ``= + - @``, tab or carriage return
    with ``'``; the csv writer quotes the rest. Numbers are left alone (they are ours, not typed).
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def to_csv(records: Iterable[Mapping[str, Any]]) -> bytes:
    """The export of ``records`` (newest first): :data:`EXPORT_COLUMNS`, full values, formulas made inert,
    times in ISO 8601 UTC, UTF-8 with a byte-order mark so spreadsheets read accents and arrows right."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(EXPORT_COLUMNS), lineterminator="\r\n")
    writer.writeheader()
    for record in sorted(records, key=submitted_at, reverse=True):
        writer.writerow({name: neutralise_formula(value) for name, value in export_row(record).items()})
    return buffer.getvalue().encode("utf-8-sig")
