"""How a job's status is shown wherever jobs are listed or opened: its word, icon, colour and advice."""

from __future__ import annotations

from legnext_core import history, reconcile
from legnext_core.records import JobRecord
from legnext_core.studio import Studio
from ui.format import code_span

#: Every status a record can have, in the order a job moves through them.
STATUSES = (
    "queued",
    "submitting",
    "unknown",
    "pending",
    "staged",
    "processing",
    "completed",
    "failed",
    "rejected",
    "lost",
)
#: Pill colours in the status column: grey waiting, blue running, green done, red failed, orange unknown.
STATUS_COLORS = {
    "queued": "gray",
    "submitting": "gray",
    "unknown": "orange",
    "pending": "blue",
    "staged": "blue",
    "processing": "blue",
    "completed": "green",
    "failed": "red",
    "rejected": "red",
    "lost": "orange",
}
STATUS_ICONS = {
    "queued": ":material/schedule:",
    "submitting": ":material/upload:",
    "unknown": ":material/help:",
    "pending": ":material/hourglass_top:",
    "staged": ":material/hourglass_top:",
    "processing": ":material/autorenew:",
    "completed": ":material/check_circle:",
    "failed": ":material/error:",
    "rejected": ":material/block:",
    "lost": ":material/link_off:",
}
SANDBOX_REFRESH_SECONDS = 2
LIVE_REFRESH_SECONDS = 5


def status_label(status: str) -> str:
    """The one word for a record status (see ``history.STATUS_LABELS``)."""
    return history.STATUS_LABELS.get(status, status)


def refresh_seconds(studio: Studio) -> int:
    """How often a view of jobs that are still changing refreshes itself (it reads the log only)."""
    return SANDBOX_REFRESH_SECONDS if studio.settings.is_sandbox else LIVE_REFRESH_SECONDS


def status_guidance(studio: Studio, record: JobRecord) -> str | None:
    """What a person should know about a record's state beyond its status word."""
    status = record.status
    if status == "unknown":
        return f":material/help: The submission's outcome is unknown. {reconcile.describe(record)}"
    if status == "submitting" and record.note:
        return (
            ":material/help: The submission's outcome is unknown: Legnext may have created (and billed) "
            "this job. Check your Legnext dashboard; if you find it there, track it by its id. Resubmit it "
            "only deliberately, from its detail view."
        )
    if status == "lost":
        note = record.note
        return f":material/link_off: {code_span(note) if note else 'Legnext no longer knows this job.'}"
    reason = studio.unreachable_reason(record)
    if reason and status not in ("completed", "failed", "rejected", "lost"):
        return f":material/sync_disabled: Not followed here. {reason}"
    return None
