"""What the job detail view (``/job?job=<ref>``) knows about one record, free of any page drawing.

Which record a link names, what may be offered for it (follow again, pick a candidate, resubmit),
its timings, its link and its raw forms (Legnext's full answer with secrets removed; the log record
as stored). The page and :mod:`ui.job_view` only lay these out.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from legnext_core.errors import LegnextError
from legnext_core.records import JobRecord
from legnext_core.store import JobStore
from legnext_core.studio import Studio

#: Statuses that can still change on their own: the detail view refreshes itself while a job has one.
CHANGING_STATUSES = frozenset({"queued", "submitting", "pending", "staged", "processing"})
REDACTED = "[redacted]"


def find_record(store: JobStore, ref: str) -> JobRecord | None:
    """The record a ``/job?job=`` link names: a Legnext job id, or our local id before there is one."""
    ref = (ref or "").strip()
    if not ref:
        return None
    return store.by_job_id(ref) or store.get(ref)


def is_changing(record: JobRecord) -> bool:
    return (record.status or "?") in CHANGING_STATUSES


def span(start: float | None, end: float | None) -> float | None:
    """Seconds from ``start`` to ``end``, or None when either is missing."""
    return None if not start or not end else max(0.0, end - start)


def queue_wait(record: JobRecord) -> float | None:
    """How long Legnext kept the job waiting before it started."""
    return span(record.created_at, record.started_at)


def run_time(record: JobRecord, now: float) -> float | None:
    """How long it ran: until it ended, or until ``now`` while it is processing."""
    running_until = now if record.status == "processing" else None
    return span(record.started_at, record.ended_at or running_until)


def time_rows(record: JobRecord) -> list[tuple[str, float | None]]:
    """The moments of a job's life, labelled, in order."""
    return [
        ("Submitted", record.submitted_at),
        ("Created at Legnext", record.created_at),
        ("Started", record.started_at),
        ("Ended", record.ended_at),
        ("Last checked", record.last_poll_at),
    ]


def link_to(record: JobRecord, page_url: str | None) -> str:
    """The address of the record's detail view, on the host the page was reached by (if known)."""
    base = ""
    if page_url:
        parts = urlsplit(page_url)
        base = f"{parts.scheme}://{parts.netloc}"
    return f"{base}/job?job={record.job_id or record.local_id}"


def animate_again_query(record: JobRecord) -> dict[str, str] | None:
    """The Create page's query for animating the same image again, or None when not an animation."""
    if record.kind != "animate" or not record.parent_job_id or record.parent_index is None:
        return None
    return {"mode": "animate", "image_job": record.parent_job_id, "image": str(record.parent_index)}


def is_unresolved(record: JobRecord) -> bool:
    """A submission whose outcome is unknown: Legnext may or may not have created the job."""
    return record.status == "unknown" or (record.status == "submitting" and bool(record.note))


def match_candidates(record: JobRecord) -> list[dict[str, Any]]:
    """Legnext jobs that may be the one an unknown submission made (the reconciler's evidence)."""
    if record.status != "unknown":
        return []
    return list((record.reconciliation or {}).get("candidates") or [])


def scrub_secrets(value: Any, secrets: list[str]) -> Any:
    """A copy of a JSON value with every secret replaced, and every webhook secret field blanked."""
    if isinstance(value, dict):
        return {k: (REDACTED if k == "secret" and v else scrub_secrets(v, secrets)) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_secrets(v, secrets) for v in value]
    if isinstance(value, str):
        for secret in secrets:
            if secret and secret in value:
                value = value.replace(secret, REDACTED)
        return value
    return value


def fetch_raw_job(studio: Studio, job_id: str) -> tuple[dict[str, Any] | None, str | None]:
    """Legnext's current answer for a job, secrets removed, or the message saying why it failed."""
    try:
        job = studio.client.get_job(job_id)
    except LegnextError as exc:
        return None, exc.user_message
    secrets = [s for s in (studio.settings.api_key, studio.settings.webhook_secret) if s]
    return scrub_secrets(job.raw, secrets), None


def record_json(record: JobRecord) -> str:
    """The record as the job log holds it on disk."""
    return json.dumps(record.to_dict(), indent=2, sort_keys=True, default=str)
