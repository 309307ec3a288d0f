"""The typed job record, its status, and the pure transitions that move a record along.

A record is what the job log holds about one submission: what was asked, what Legnext answered, how
the tracker follows it. :class:`JobRecord` is immutable; each transition takes a record (and the facts
of the moment: the time, a snapshot, an error) and returns the new record, or None when the transition
does not apply (a late answer that must not hide a job, a stale snapshot, a status that may not move).
Nothing here reads a clock, a file or the network, so every rule is testable by calling it.

On disk a record is a JSON object with the keys of :class:`JobRecord`'s fields (blank values left
out); :meth:`JobRecord.from_dict` and :meth:`JobRecord.to_dict` convert, and keys this version does
not know are kept in :attr:`JobRecord.extra` and written back unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from legnext_core.models import JobKind, kind_of_task_type

__all__ = [
    "INTERRUPTED_NOTE",
    "LIBRARY_FIELDS",
    "TRACKING_FIELDS",
    "JobRecord",
    "RecordStatus",
    "accept",
    "claim",
    "curate",
    "external",
    "interrupt",
    "intent",
    "link",
    "lose",
    "mark_unknown",
    "merge_snapshot",
    "progress",
    "reconcile",
    "reject",
    "requeue",
    "searching",
    "shared_text",
    "track",
]

INTERRUPTED_NOTE = (
    "The dashboard stopped while this job was being submitted, so it is not known whether Legnext "
    "created it. Check your Legnext account before submitting it again."
)


class RecordStatus(StrEnum):
    """Where a job stands; a status is only ever replaced by one of equal or higher rank."""

    QUEUED = "queued"
    SUBMITTING = "submitting"
    UNKNOWN = "unknown"
    PENDING = "pending"
    STAGED = "staged"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    REJECTED = "rejected"
    LOST = "lost"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    @property
    def is_active(self) -> bool:
        """Legnext is working on it: the tracker polls it."""
        return self in _ACTIVE

    @property
    def is_terminal(self) -> bool:
        """It never changes again."""
        return self in _TERMINAL

    @property
    def label(self) -> str:
        """The word a person reads for it."""
        return _LABELS[self]

    @classmethod
    def parse(cls, value: Any) -> RecordStatus | str | None:
        """The status for a stored value; a value this version does not know is kept as it is."""
        if value is None or isinstance(value, RecordStatus):
            return value
        return cls._value2member_map_.get(value, value)


_RANKS = {
    RecordStatus.QUEUED: 0,
    RecordStatus.SUBMITTING: 1,
    RecordStatus.UNKNOWN: 2,
    RecordStatus.PENDING: 3,
    RecordStatus.STAGED: 4,
    RecordStatus.PROCESSING: 5,
    RecordStatus.COMPLETED: 6,
    RecordStatus.FAILED: 6,
    RecordStatus.REJECTED: 6,
    RecordStatus.LOST: 6,
}
_ACTIVE = frozenset({RecordStatus.PENDING, RecordStatus.STAGED, RecordStatus.PROCESSING})
_TERMINAL = frozenset({RecordStatus.COMPLETED, RecordStatus.FAILED, RecordStatus.REJECTED, RecordStatus.LOST})
_LABELS = {
    RecordStatus.QUEUED: "Queued",
    RecordStatus.SUBMITTING: "Submitting",
    RecordStatus.UNKNOWN: "Outcome unknown",
    RecordStatus.PENDING: "Pending",
    RecordStatus.STAGED: "Staged",
    RecordStatus.PROCESSING: "Processing",
    RecordStatus.COMPLETED: "Completed",
    RecordStatus.FAILED: "Failed",
    RecordStatus.REJECTED: "Rejected",
    RecordStatus.LOST: "Lost",
}


#: The same facts by status value, for code that works on stored objects (the PostgreSQL schema).
STATUS_RANK: dict[str, int] = {status.value: rank for status, rank in _RANKS.items()}
TERMINAL_STATUSES = frozenset(status.value for status in _TERMINAL)
ACTIVE_STATUSES = frozenset(status.value for status in _ACTIVE)


def status_rank(status: Any) -> int:
    """The rank of a status; -1 for none or one this version does not know."""
    parsed = RecordStatus.parse(status)
    return parsed.rank if isinstance(parsed, RecordStatus) else -1


#: Fields :func:`track` may set: scheduling, media and flags, never job state.
TRACKING_FIELDS = frozenset(
    {
        "last_poll_at",
        "next_poll_at",
        "poll_count",
        "not_found_count",
        "stuck",
        "note",
        "media_paths",
        # Poster frames of the archived media, one per output (see legnext_core.thumbnails).
        "thumbnails",
    }
)

#: Fields :func:`curate` may set: what people keep, tag and hide (the Gallery).
LIBRARY_FIELDS = frozenset({"favourite_variants", "tags", "hidden"})


#: Who made a job when nobody signs in (sandbox or no-auth mode): ``submitted_by`` of such a record.
NO_SIGN_IN = "local"

#: The most distinct values :func:`shared_text` keeps.
SHARED_TEXTS_KEPT = 10_000
_SHARED_TEXTS: dict[str, str] = {}


def shared_text(text: str) -> str:
    """One string object for each distinct value of a field that repeats from record to record.

    A record parsed from the log has strings of its own; what is held for many records (built
    unfinished records, the History table's columns) shares one per value instead. Bounded: these
    fields take few values, and past the bound a value is simply not shared.
    """
    found = _SHARED_TEXTS.get(text)
    if found is None:
        if len(_SHARED_TEXTS) >= SHARED_TEXTS_KEPT:
            return text
        found = _SHARED_TEXTS.setdefault(text, text)
    return found


@dataclass(frozen=True, slots=True)
class JobRecord:
    """One submission in the job log. Immutable: transitions return a new record.

    List and dict fields hold what was stored; treat them as read-only.
    """

    #: Our id for the submission (uuid4 hex), known before anything is sent.
    local_id: str
    #: Legnext's job id, once Legnext has answered.
    job_id: str | None = None
    #: What was made: a :class:`~legnext_core.models.JobKind` (kept as text if this version does not know it).
    kind: JobKind | str | None = None
    #: "sandbox" or "live": which API the job lives on.
    api_mode: str | None = None
    #: The API base URL the job is always polled at.
    api_base_url: str | None = None
    #: The user's text, as typed.
    prompt: str | None = None
    #: The picture a video starts from (image URL jobs), or the grid image of an image job's result.
    image_url: str | None = None
    #: 0 = 480p, 1 = 720p.
    video_type: int | None = None
    #: "low" or "high" motion, when asked for.
    motion: str | None = None
    #: Whether ``--raw`` was asked for.
    raw: bool = False
    #: The webhook URL given to Legnext.
    callback: str | None = None
    #: The prompt as sent, when it says more than ``prompt`` (URL first, flags last).
    wire_prompt: str | None = None
    #: The job this one was made from (image job for animate; video job for extend and upscale).
    parent_job_id: str | None = None
    #: Which of the parent's outputs (0-3).
    parent_index: int | None = None
    #: The batch the line belongs to.
    batch_id: str | None = None
    #: The record this one resubmits.
    resubmit_of: str | None = None
    #: Where the job stands (a :class:`RecordStatus`; kept as text if this version does not know it).
    status: RecordStatus | str = RecordStatus.SUBMITTING
    #: 0-100 as Legnext last reported it (or estimated, see ``progress_estimated``).
    progress: int | None = None
    #: The output videos' URLs.
    video_urls: list[str] | None = None
    #: An image job's four output images.
    image_urls: list[str] | None = None
    #: The seed Legnext reported.
    seed: str | None = None
    #: What can be done next with each output, e.g. ``{"extend": [0, 1, 2, 3]}``.
    available_actions: dict[str, list[int]] | None = None
    #: Points Legnext reserved for the job.
    credits_frozen: int | None = None
    #: Points Legnext charged.
    credits_consumed: int | None = None
    #: Points we expected it to cost, before sending.
    estimated_points: int | None = None
    #: Legnext's (or the HTTP) error code of a failure or rejection.
    error_code: int | str | None = None
    #: The error a person reads.
    error_message: str | None = None
    #: Legnext's raw error text.
    error_raw_message: str | None = None
    #: When we recorded the intent (epoch seconds, UTC); for jobs made elsewhere, Legnext's creation time.
    submitted_at: float | None = None
    #: When Legnext created the job.
    created_at: float | None = None
    #: When Legnext started working on it.
    started_at: float | None = None
    #: When it finished (or was rejected).
    ended_at: float | None = None
    #: When the job's data last changed (scheduling does not count).
    updated_at: float | None = None
    #: When the tracker last polled it.
    last_poll_at: float | None = None
    #: When the tracker means to poll it next.
    next_poll_at: float | None = None
    #: How many polls it took so far.
    poll_count: int | None = None
    #: How many separate polls answered 404 in a row.
    not_found_count: int | None = None
    #: Running far longer than such jobs take.
    stuck: bool = False
    #: A message for a person about this record (why it is unknown, lost, not followed).
    note: str | None = None
    #: The last line of Legnext's logs while it runs.
    last_log: str | None = None
    #: Archived local copies, one per output URL (None where not archived).
    media_paths: list[str | None] | None = None
    #: The process sending the POST of a ``submitting`` record (removed once answered).
    submitter_pid: int | None = None
    #: When that process started sending.
    submitting_since: float | None = None
    #: Who submitted it: the signed-in person's e-mail, :data:`NO_SIGN_IN` without sign-in.
    submitted_by: str = NO_SIGN_IN
    #: The per-submission webhook token (32 hex characters).
    callback_token: str | None = None
    #: ``progress`` was estimated from elapsed time, not reported by Legnext.
    progress_estimated: bool = False
    #: Evidence about an "outcome unknown" submission: how it was resolved, or why it is believed not created.
    reconciliation: dict[str, Any] | None = None
    #: Outputs (0-3) the team marked as favourites.
    favourite_variants: list[int] | None = None
    #: The team's tags.
    tags: list[str] | None = None
    #: Hidden from the studio's views.
    hidden: bool = False
    #: Local thumbnail paths, one per output (None where there is none).
    thumbnails: list[str | None] | None = None
    #: The image a video should end on.
    end_url: str | None = None
    #: Whether the video loops.
    loop: bool = False
    #: How many outputs were asked for (1, 2 or 4).
    batch_size: int | None = None
    #: "fast" or "turbo".
    speed: str | None = None
    #: Keys found on disk that this version does not know, written back unchanged.
    extra: Mapping[str, Any] = field(default_factory=dict, compare=True)

    # -- conversion ----------------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobRecord:
        known: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in data.items():
            if key in _FIELD_SET:
                known[key] = value
            else:
                extra[key] = value
        for name in _REPEATED_FIELDS:
            value = known.get(name)
            if type(value) is str:
                known[name] = shared_text(value)
        if "status" in known:
            known["status"] = RecordStatus.parse(known["status"])
        if known.get("kind") is not None:
            known["kind"] = JobKind._value2member_map_.get(known["kind"], known["kind"])
        if known.get("submitted_by") is None:
            known.pop("submitted_by", None)
        for flag in _FLAG_FIELDS:
            if known.get(flag) is None:
                known.pop(flag, None)
        if extra:
            known["extra"] = extra
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        """The on-disk object: every field that has a value (blank ones left out), then ``extra``."""
        out: dict[str, Any] = {}
        for name in _FIELD_NAMES:
            value = getattr(self, name)
            if _is_blank(value):
                continue
            out[name] = value.value if isinstance(value, StrEnum) else value
        for key, value in self.extra.items():
            if key not in out and not _is_blank(value):
                out[key] = value
        return out

    def replace(self, **changes: Any) -> JobRecord:
        return dataclasses.replace(self, **changes)

    # -- what the record says ----------------------------------------------------------------------
    @property
    def rank(self) -> int:
        return status_rank(self.status)

    @property
    def is_active(self) -> bool:
        """Legnext is working on it and it has a job id to poll."""
        return isinstance(self.status, RecordStatus) and self.status.is_active and bool(self.job_id)

    @property
    def legnext_id(self) -> str:
        """The job id of a record Legnext has answered for (every one polled or finished has one)."""
        if not self.job_id:
            raise ValueError(f"record {self.local_id} has no job id to track")
        return self.job_id

    @property
    def is_terminal(self) -> bool:
        return isinstance(self.status, RecordStatus) and self.status.is_terminal

    @property
    def status_label(self) -> str:
        return self.status.label if isinstance(self.status, RecordStatus) else str(self.status)

    @property
    def sort_time(self) -> float:
        """When it was submitted (or created at Legnext, for jobs made elsewhere), for ordering."""
        return self.submitted_at or self.created_at or 0.0


_FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(JobRecord) if f.name != "extra")
_FIELD_SET = frozenset(_FIELD_NAMES)
_FLAG_FIELDS = ("raw", "stuck", "progress_estimated", "hidden", "loop")
#: Text fields whose values repeat from record to record (a built record shares one string per value).
_REPEATED_FIELDS = (
    "api_mode",
    "api_base_url",
    "callback",
    "submitted_by",
    "last_log",
    "note",
    "speed",
    "error_code",
)


def _is_blank(value: Any) -> bool:
    # ``value is False`` and not ``== False``: 0 (480p, no progress yet) is a value worth keeping.
    return value is None or value is False or value == "" or value == [] or value == {}


def _epoch(value: datetime | float | int | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    return float(value)


def _enum_value(value: Any) -> Any:
    return getattr(value, "value", value)


def _error_text(error: Any) -> str:
    if isinstance(error, str):
        return error
    return getattr(error, "user_message", None) or getattr(error, "message", None) or str(error)


def _answered(record: JobRecord, **changes: Any) -> JobRecord:
    """The record with the submitter's marks removed (the POST has its answer)."""
    return record.replace(submitter_pid=None, submitting_since=None, **changes)


# -- transitions ------------------------------------------------------------------------------------------


class TransitionError(Exception):
    """A transition that would corrupt the log (an answer for a different job)."""


def intent(
    request: Any,
    *,
    local_id: str,
    api_mode: str,
    api_base_url: str,
    estimated_points: int | None,
    now: float,
    pid: int,
    batch_id: str | None = None,
    resubmit_of: str | None = None,
    status: RecordStatus | str = RecordStatus.SUBMITTING,
    **agreed: Any,
) -> JobRecord:
    """A submission recorded before it is sent (``submitting``), or a batch line waiting (``queued``).

    ``agreed`` takes the other fields a submission may carry (``submitted_by``, ``callback_token``...).
    """
    status = RecordStatus(status)
    if status not in (RecordStatus.SUBMITTING, RecordStatus.QUEUED):
        raise ValueError(f"an intent is 'submitting' or 'queued', not {status.value!r}")
    prompt = request.prompt
    wire_prompt = request.wire_prompt()
    sending = status is RecordStatus.SUBMITTING
    return JobRecord(
        local_id=local_id,
        kind=request.kind,
        api_mode=api_mode,
        api_base_url=api_base_url,
        prompt=prompt,
        image_url=request.image_url,
        video_type=request.video_type,
        motion=request.motion,
        raw=bool(request.raw),
        # Video options; older records lack them and read back as the defaults.
        end_url=request.end_url,
        loop=bool(request.loop),
        batch_size=request.batch_size,
        speed=request.speed,
        callback=request.callback,
        # Most wire prompts are the prompt itself; store it only when it says more.
        wire_prompt=wire_prompt if wire_prompt != prompt else None,
        parent_job_id=request.parent_job_id,
        parent_index=request.index,
        batch_id=batch_id,
        resubmit_of=resubmit_of,
        status=status,
        estimated_points=estimated_points,
        submitted_at=now,
        updated_at=now,
        submitter_pid=pid if sending else None,
        submitting_since=now if sending else None,
        **agreed,
    )


def claim(record: JobRecord, *, now: float, pid: int) -> JobRecord | None:
    """A queued line taken for sending (``queued`` -> ``submitting``); None if it is not queued."""
    if record.status != RecordStatus.QUEUED:
        return None
    return record.replace(
        status=RecordStatus.SUBMITTING, updated_at=now, submitter_pid=pid, submitting_since=now
    )


def requeue(record: JobRecord, *, now: float) -> JobRecord | None:
    """A line Legnext certainly did not create (a 429) back in the queue; None if that is not safe.

    The one move backwards a status makes: only without a job id, from ``submitting`` or ``rejected``,
    never from ``unknown`` (it may exist and be paid for).
    """
    if record.job_id or record.status not in (RecordStatus.SUBMITTING, RecordStatus.REJECTED):
        return None
    return _answered(
        record,
        status=RecordStatus.QUEUED,
        error_code=None,
        error_message=None,
        error_raw_message=None,
        updated_at=now,
    )


def accept(record: JobRecord, job: Any, *, now: float) -> JobRecord:
    """Legnext took the submission: the record gets its job id and the job's first snapshot."""
    if record.job_id and record.job_id != job.job_id:
        raise TransitionError(f"record {record.local_id} already belongs to job {record.job_id}")
    answered = _answered(record, job_id=job.job_id)
    if record.status in (RecordStatus.UNKNOWN, RecordStatus.SUBMITTING, RecordStatus.QUEUED):
        answered = answered.replace(note=None)  # "outcome unknown" is answered now
    merged = merge_snapshot(answered, job, now=now) or answered
    if record.status == RecordStatus.UNKNOWN and merged.status != RecordStatus.UNKNOWN:
        merged = merged.replace(updated_at=now)
    return merged


def reject(record: JobRecord, error: Any, *, now: float) -> JobRecord | None:
    """Legnext refused the submission (or it never reached Legnext); None if a job exists."""
    if record.job_id or record.rank >= RecordStatus.PENDING.rank:
        return None  # a late rejection must not hide a created job
    return _answered(
        record,
        status=RecordStatus.REJECTED,
        error_code=getattr(error, "code", None) or getattr(error, "status", None),
        error_message=_error_text(error),
        error_raw_message=getattr(error, "raw_message", None),
        ended_at=now,
        updated_at=now,
    )


def mark_unknown(record: JobRecord, message: str, *, now: float) -> JobRecord | None:
    """The POST may or may not have created a job; None if the record already knows more.

    The record's ``reconciliation`` starts as the window in which the POST may have created a job:
    what reconciliation looks for.
    """
    if record.rank >= RecordStatus.UNKNOWN.rank:
        return None
    window = [record.submitting_since or record.submitted_at or now, now]
    return _answered(
        record, status=RecordStatus.UNKNOWN, note=message, updated_at=now, reconciliation=searching(window)
    )


def interrupt(record: JobRecord, *, now: float, submit_timeout: float | None = None) -> JobRecord | None:
    """A ``submitting`` record whose submitter is gone becomes ``unknown`` (:data:`INTERRUPTED_NOTE`).

    Its POST can only have been under way for ``submit_timeout`` seconds after it began: that is the
    window reconciliation searches.
    """
    if record.status != RecordStatus.SUBMITTING:
        return None
    since = record.submitting_since or record.submitted_at or now
    window = [since, now if submit_timeout is None else min(now, since + submit_timeout)]
    return _answered(
        record,
        status=RecordStatus.UNKNOWN,
        note=INTERRUPTED_NOTE,
        updated_at=now,
        reconciliation=searching(window),
    )


def searching(window: list[float]) -> dict[str, Any]:
    """The first evidence of an ``unknown`` record: the window in which its POST was in flight."""
    return {"state": "searching", "window": window}


def link(record: JobRecord, job: Any, *, how: str, now: float) -> JobRecord | None:
    """An ``unknown`` record given the job its POST made (found afterwards); None if it cannot be.

    ``how`` says what proved the link; it is kept in ``reconciliation``. (That the job belongs to no
    other record is the store's to check: it has the index.)
    """
    if record.status != RecordStatus.UNKNOWN or record.job_id:
        return None
    evidence = dict(record.reconciliation or {})
    evidence.update(state="linked", how=how, job_id=job.job_id, at=now)
    evidence.pop("candidates", None)
    linked = record.replace(job_id=job.job_id, note=None, reconciliation=evidence)
    merged = merge_snapshot(linked, job, now=now) or linked
    return merged.replace(updated_at=now)


def reconcile(record: JobRecord, evidence: Mapping[str, Any]) -> JobRecord | None:
    """An ``unknown`` record's evidence replaced (what was searched, what was found); None if unchanged."""
    if record.status != RecordStatus.UNKNOWN or record.reconciliation == evidence:
        return None
    return record.replace(reconciliation=dict(evidence))


def progress(record: JobRecord, update: Any, *, now: float) -> JobRecord | None:
    """One job's listed (or estimated) progress applied; None when it does not apply.

    ``update`` has ``status`` (None: unchanged), ``progress`` (None: unchanged) and ``estimated``. A
    status only moves forward and only among the active ones. Reported progress replaces an estimate
    and clears ``progress_estimated``; an estimate never replaces reported progress.
    """
    current = record.status
    incoming = RecordStatus.parse(update.status) if update.status else current
    if not isinstance(incoming, RecordStatus) or not incoming.is_active:
        return None
    if status_rank(incoming) < record.rank:
        return None
    had_estimate = record.progress_estimated
    old = record.progress
    if update.progress is None:
        if incoming == current:
            return None
        value, estimated = old, had_estimate
    elif update.estimated:
        if old is not None and not had_estimate:
            return None  # Legnext reported a figure; an estimate does not replace it
        value, estimated = (update.progress if old is None else max(old, update.progress)), True
    elif had_estimate or old is None or incoming != current:
        value, estimated = update.progress, False
    else:
        value, estimated = max(old, update.progress), False
    if incoming == current and value == old and had_estimate == estimated:
        return None
    changed = record.replace(status=incoming, progress=value, progress_estimated=estimated, updated_at=now)
    if incoming != current:
        changed = changed.replace(last_log=None)
    return changed


def lose(record: JobRecord, reason: str, *, now: float) -> JobRecord | None:
    """Give up on a job Legnext no longer knows; None for a terminal record."""
    if record.is_terminal:
        return None
    return record.replace(status=RecordStatus.LOST, note=reason, updated_at=now)


def track(record: JobRecord, fields: Mapping[str, Any]) -> JobRecord:
    """Scheduling, media and flag fields (:data:`TRACKING_FIELDS`) set; None clears one."""
    refused = sorted(set(fields) - TRACKING_FIELDS)
    if refused:
        raise ValueError(f"update_tracking cannot set {', '.join(refused)}")
    cleared = {"stuck": False} if "stuck" in fields and fields["stuck"] is None else {}
    return record.replace(**{**fields, **cleared})


def curate(record: JobRecord, fields: Mapping[str, Any]) -> JobRecord:
    """Favourites, tags or hidden (:data:`LIBRARY_FIELDS`) set; an empty value or None clears one."""
    refused = sorted(set(fields) - LIBRARY_FIELDS)
    if refused:
        raise ValueError(f"update_library cannot set {', '.join(refused)}")
    changes: dict[str, Any] = {}
    if "favourite_variants" in fields:
        changes["favourite_variants"] = sorted({int(i) for i in fields["favourite_variants"] or ()}) or None
    if "tags" in fields:
        changes["tags"] = [str(tag) for tag in fields["tags"] or ()] or None
    if "hidden" in fields:
        changes["hidden"] = bool(fields["hidden"])
    return record.replace(**changes)


def _snapshot_changes(record: JobRecord, job: Any, incoming: RecordStatus | str | None) -> dict[str, Any]:
    """The fields an applying snapshot sets: status, progress, outputs, usage, error, times and log."""
    current = record.status
    changes: dict[str, Any] = {"status": incoming}
    if job.progress is not None:
        old = record.progress
        # Same-stage snapshots can arrive out of order (a webhook overtaking a poll); a reported
        # figure always replaces an estimate.
        fresh = old is None or incoming != current or record.progress_estimated
        changes["progress"] = job.progress if fresh else max(old, job.progress)
        changes["progress_estimated"] = False
    for name in ("video_urls", "image_url", "image_urls", "seed", "available_actions"):
        value = getattr(job, name, None)
        if not _is_blank(value):
            changes[name] = list(value) if isinstance(value, list) else value
    if job.usage_frozen is not None:
        changes["credits_frozen"] = job.usage_frozen
    if job.usage_consumed is not None:
        changes["credits_consumed"] = job.usage_consumed
    if job.error is not None:
        changes["error_code"] = job.error.code
        changes["error_message"] = job.error.message
        changes["error_raw_message"] = job.error.raw_message
    for name in ("created_at", "started_at", "ended_at"):
        stamp = _epoch(getattr(job, name, None))
        if stamp is not None:
            changes[name] = stamp
    if job.logs:
        changes["last_log"] = job.logs[-1]
    elif incoming != current:
        # Legnext empties the logs when a job moves on; "Processing 85%" no longer describes it.
        changes["last_log"] = None
    return changes


def merge_snapshot(
    record: JobRecord, job: Any, *, now: float, polled_at: float | None = None
) -> JobRecord | None:
    """An API snapshot (a poll or a webhook) applied, forward-only; None if it changes nothing.

    A snapshot of an earlier stage changes nothing, a terminal record keeps its status. ``updated_at``
    moves only when the job's data changed; ``polled_at`` sets ``last_poll_at``.
    """
    current = record.status
    incoming = RecordStatus.parse(_enum_value(job.status))
    applies = incoming == current if record.is_terminal else status_rank(incoming) >= record.rank
    if applies:
        changes = _snapshot_changes(record, job, incoming)
        if _changes_anything(record, changes):
            # The job's data changed, so the merged record differs from ``record`` whatever follows.
            changes["updated_at"] = now
            if polled_at is not None:
                changes["last_poll_at"] = polled_at
            return record.replace(**changes)
    if polled_at is not None and _changes_anything(record, {"last_poll_at": polled_at}):
        return record.replace(last_poll_at=polled_at)
    return None


def _changes_anything(record: JobRecord, changes: Mapping[str, Any]) -> bool:
    """Whether setting ``changes`` would change what the record writes (blank values are not written).

    What comparing the two records' :meth:`JobRecord.to_dict` tells, for the changed fields only: a
    poll applies one snapshot per active job, and every poll is a write to decide on.
    """
    for name, value in changes.items():
        old = getattr(record, name)
        if (None if _is_blank(old) else old) != (None if _is_blank(value) else value):
            return True
    return False


def external(job: Any, *, local_id: str, api_mode: str, api_base_url: str, now: float) -> JobRecord:
    """A record for a job made elsewhere (looked up by its id), with its snapshot applied."""
    base = JobRecord(
        local_id=local_id,
        job_id=job.job_id,
        kind=kind_of_task_type(job.task_type) or job.task_type or JobKind.TEXT_VIDEO,
        api_mode=api_mode,
        api_base_url=api_base_url,
        callback=job.callback,
        status=RecordStatus.PENDING,
        submitted_at=_epoch(job.created_at) or now,
        note="Made outside this dashboard; tracked by its job id.",
    )
    # Any first snapshot applies: "pending" is only where an unseen job starts.
    return merge_snapshot(base.replace(status=RecordStatus.QUEUED), job, now=now) or base


def sort_newest_first(records: Iterable[JobRecord]) -> list[JobRecord]:
    return sorted(records, key=lambda r: r.sort_time, reverse=True)
