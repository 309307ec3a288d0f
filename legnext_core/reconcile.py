"""Finding the job an "outcome unknown" submission made: the rules, as pure functions.

A POST whose answer was lost may or may not have created (and billed) a job. The tracker gathers the
honest signals and these functions judge them; nothing here sends a request or writes the log.

- **A token.** Each submission's callback URL ends in its own 128-bit ``callback_token``, and a job
  object names its callback (``config.webhook_config.endpoint``). A job whose callback carries an
  unknown submission's token was made by that submission: the link is exact.
- **Likely matches.** Without a token (live mode with no public URL, or a callback the person set),
  a job of the same task type created inside the POST's window is only a likely match: it is offered
  for the person to confirm, never linked by itself.
- **Nothing appeared.** A job stays in ``GET /account/active_tasks`` for at least a share of its kind's
  shortest expected run (:data:`VISIBLE_SHARE`). When the list was read with no gap longer than that
  through the POST's window and for that long after it, and no job of it appeared, the verdict is
  "most likely not created" (the evidence is kept in the record's ``reconciliation``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from legnext_core import schedule
from legnext_core.models import ActiveTask, task_type_of
from legnext_core.records import JobRecord

#: A job is taken to stay in the active list for at least this share of its kind's shortest
#: expected duration (the fastest captured video took 87 % of the documented minimum).
VISIBLE_SHARE = 0.5
#: Slack for Legnext's whole-second ``created_at`` and clock differences, seconds.
CLOCK_SLACK = 2.0

NOT_CREATED_MESSAGE = "No job appeared: most likely not created."
CANDIDATES_MESSAGE = "Legnext has a job that may be this one: confirm it on the job page."
UNVERIFIABLE_MESSAGE = (
    "The active-jobs list was not read through the whole time this job could have appeared, so the "
    "dashboard cannot tell whether Legnext created it. Check your Legnext account before resubmitting."
)


@dataclass(frozen=True)
class Coverage:
    """How well the list reads cover the time a job of the POST would have been listed."""

    covered: bool
    reads: int
    max_gap: float | None
    visible_for: float


def visible_for(kind: str, duration_scale: float = 1.0) -> float:
    """The least time a job of ``kind`` is expected to stay in the active list (seconds)."""
    return VISIBLE_SHARE * schedule.expected_duration(kind, duration_scale).low


def coverage(window: Sequence[float], reads: Iterable[float], visible: float) -> Coverage:
    """Whether every moment a job could have been created in ``window`` was followed by a read soon enough.

    A job created at ``c`` in ``[start, end]`` is listed during ``[c, c + visible]``; it is seen if a
    read falls in that span. That holds for every ``c`` when the reads inside
    ``[start, end + visible]`` start within ``visible`` of ``start``, end at or after ``end``, and are
    never more than ``visible`` apart.
    """
    # Both the window and the reads are on this machine's clock: no slack is needed here.
    start, end = float(window[0]), float(window[1])
    inside = sorted(t for t in reads if start <= t <= end + visible)
    if not inside:
        return Coverage(False, 0, None, visible)
    gaps = [inside[0] - start] + [b - a for a, b in zip(inside, inside[1:], strict=False)]
    max_gap = max(gaps)
    covered = max_gap <= visible and inside[-1] >= end
    return Coverage(covered, len(inside), round(max_gap, 3), visible)


def likely_matches(record: JobRecord, seen: Iterable[ActiveTask]) -> list[ActiveTask]:
    """Jobs not in the log, of the record's task type, created inside its POST's window."""
    evidence = record.reconciliation or {}
    window = evidence.get("window") or [record.submitted_at or 0.0, record.updated_at or 0.0]
    task_type = task_type_of(record.kind)
    low, high = float(window[0]) - CLOCK_SLACK, float(window[1]) + CLOCK_SLACK
    matches = []
    for task in seen:
        created = task.created_at.timestamp() if task.created_at is not None else None
        if task.task_type == task_type and created is not None and low <= created <= high:
            matches.append(task)
    return sorted(matches, key=lambda t: t.created_at.timestamp() if t.created_at else 0.0)


def candidate_entry(task: ActiveTask) -> dict[str, Any]:
    """How a likely match is kept in ``reconciliation["candidates"]``."""
    return {
        "job_id": task.job_id,
        "task_type": task.task_type,
        "created_at": task.created_at.timestamp() if task.created_at is not None else None,
    }


def judge(
    record: JobRecord,
    *,
    reads: Sequence[float],
    seen: Iterable[ActiveTask],
    unresolved_jobs: int,
    now: float,
    duration_scale: float = 1.0,
) -> dict[str, Any] | None:
    """The record's new ``reconciliation`` evidence, or None while there is nothing to say yet.

    ``seen`` are the listed jobs that are not in the log and whose callback carries no token of
    ours; ``unresolved_jobs`` counts listed jobs not yet looked at (their GET is still to come or
    failed), which keeps a "not created" verdict back.
    """
    evidence = dict(record.reconciliation or {})
    if evidence.get("state") in ("linked", "not_created"):
        return None
    window = evidence.get("window") or [record.submitted_at or now, record.updated_at or now]
    evidence["window"] = list(window)
    tokenless = not record.callback_token
    matches = likely_matches(record.replace(reconciliation=evidence), seen) if tokenless else []
    if matches:
        evidence.update(state="candidates", candidates=[candidate_entry(t) for t in matches])
        return evidence
    evidence.pop("candidates", None)
    visible = visible_for(record.kind or "", duration_scale)
    if now < float(window[1]) + visible:
        evidence["state"] = "searching"
        return evidence
    seen_coverage = coverage(window, reads, visible)
    evidence.update(
        list_reads=seen_coverage.reads,
        max_gap=seen_coverage.max_gap,
        visible_for=round(visible, 3),
        by_token=not tokenless,
    )
    if not seen_coverage.covered:
        evidence["state"] = "unverifiable"
    elif unresolved_jobs:
        evidence["state"] = "searching"
    else:
        evidence.update(state="not_created", decided_at=now)
    return evidence


SEARCHING_MESSAGE = (
    "The tracker is looking for this job in Legnext's list of running jobs; if Legnext made it, it "
    "appears here by itself. Check your Legnext dashboard if in doubt; resubmit it only deliberately, "
    "from its detail view."
)


def describe(record: JobRecord) -> str | None:
    """One sentence for the page about where the search for an unknown submission's job stands."""
    if record.status != "unknown":
        return None
    state = (record.reconciliation or {}).get("state")
    if state == "not_created":
        return NOT_CREATED_MESSAGE + " You may submit it again from its detail view."
    if state == "candidates":
        return CANDIDATES_MESSAGE
    if state == "unverifiable":
        return UNVERIFIABLE_MESSAGE
    return SEARCHING_MESSAGE


def progress_label(record: JobRecord) -> str:
    """``"45%"``, or ``"about 45% (estimate)"`` when the figure was estimated from elapsed time."""
    progress = int(record.progress or 0)
    return f"about {progress}% (estimate)" if record.progress_estimated else f"{progress}%"


def confirm_match(store: Any, client: Any, local_id: str, job_id: str) -> str | None:
    """Link an unknown submission to the job a person confirmed was it; None, or why it was not linked.

    Only a job offered as a likely match can be confirmed, and it is fetched again first: it must
    still be unknown to the log and be of the submission's task type.
    """
    record = store.get(local_id)
    evidence = (record.reconciliation if record is not None else None) or {}
    offered = {c.get("job_id") for c in evidence.get("candidates") or []}
    if record is None or record.status != "unknown" or job_id not in offered:
        return "This job is no longer offered as a match for this submission."
    if store.by_job_id(job_id) is not None:
        return "That job already belongs to another submission in the log."
    try:
        job = client.get_job(job_id)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a sentence beside the button
        return getattr(exc, "user_message", None) or "Legnext could not be asked about that job."
    if job.task_type != task_type_of(record.kind):
        return "That job is of another kind than this submission."
    if store.link_unknown(local_id, job, how="confirmed_by_person") is None:
        return "The submission could not be linked (it may have been linked meanwhile)."
    return None
