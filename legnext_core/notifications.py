"""Which of a person's jobs finished since they last looked, and how many are still running.

Every open page checks this every few seconds (the app shell's notifier), so it must stay cheap at any
log size: it reads the unfinished records (the store keeps them indexed) and the records the job log
says changed since the last check, never the whole log. The session keeps a :class:`Watch` (its
cursor) between checks; the first check only sets it, so opening a page never announces old jobs.

A job is announced once, when it is terminal and it was either unfinished at the last check or
submitted after it (a job can be made and finished between two checks). No streamlit here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from legnext_core.models import JobKind
from legnext_core.records import NO_SIGN_IN, JobRecord, RecordStatus
from legnext_core.store import JobStore

#: What counts as running in the tab's title: waiting for a slot, being sent, or at Legnext. An
#: "unknown" submission is left out: it may never have been made, and reconciliation settles it.
RUNNING = frozenset(
    {
        RecordStatus.QUEUED,
        RecordStatus.SUBMITTING,
        RecordStatus.PENDING,
        RecordStatus.STAGED,
        RecordStatus.PROCESSING,
    }
)
_KIND_LABELS = {kind.value: kind.label for kind in JobKind}
#: How the toast says each way a job can end.
_ENDINGS = {
    RecordStatus.COMPLETED.value: "finished",
    RecordStatus.FAILED.value: "failed",
    RecordStatus.REJECTED.value: "was refused",
    RecordStatus.LOST.value: "was lost",
}


@dataclass(frozen=True)
class Watch:
    """A session's cursor: what its last check saw."""

    #: The job log's change version read at the last check.
    version: int
    #: When the last check began (epoch seconds).
    checked_at: float
    #: The person's unfinished jobs at the last check (local ids).
    unfinished: frozenset[str]


@dataclass(frozen=True)
class Check:
    """One check's outcome: the jobs to announce (oldest first), the running count and the new cursor."""

    finished: tuple[JobRecord, ...]
    running: int
    watch: Watch


def check(store: JobStore, person: str | None, watch: Watch | None, *, now: float) -> Check:
    """The person's jobs (``person``'s ``submitted_by``; None for everyone's) that ended since ``watch``.

    The reads go in this order, each after the one before: the time, the unfinished records, the log's
    version. A job that ends between the last two is still unfinished in this cursor and is announced
    next time; a job submitted after ``now`` shows in the next check's changes.
    """

    def mine(record: JobRecord) -> bool:
        return person is None or (record.submitted_by or NO_SIGN_IN) == person

    unfinished = [record for record in store.unfinished() if mine(record)]
    version = store.storage.changes_since(watch.version if watch else -1)
    now_unfinished = frozenset(record.local_id for record in unfinished)
    running = sum(1 for record in unfinished if record.status in RUNNING)
    cursor = Watch(version=version.version, checked_at=now, unfinished=now_unfinished)
    if watch is None:
        return Check((), running, cursor)
    candidates = dict.fromkeys(sorted(watch.unfinished - now_unfinished))
    for table, local_id in version.ids or ():
        if table == "jobs" and local_id not in now_unfinished:
            candidates.setdefault(local_id)
    finished = []
    for local_id in candidates:
        record = store.get(local_id)
        if record is None or not record.is_terminal or not mine(record):
            continue
        if local_id in watch.unfinished or record.sort_time >= watch.checked_at:
            finished.append(record)
    finished.sort(key=lambda record: record.ended_at or record.updated_at or record.sort_time)
    return Check(tuple(finished), running, cursor)


def tab_title(running: int, title: str) -> str:
    """The browser tab's title: "(2) <title>" while two jobs run, the plain title when none does."""
    return f"({running}) {title}" if running > 0 else title


def announcement(record: JobRecord, quote: Callable[[str], str] = str, *, prompt_chars: int = 60) -> str:
    """What the toast says about a job that ended, e.g. "Text to video finished: `a lantern…`".

    ``quote`` renders the (untrusted) prompt for the page, which speaks Markdown.
    """
    kind = _KIND_LABELS.get(str(record.kind or ""), "Job")
    verb = _ENDINGS.get(str(record.status or ""), "ended")
    prompt = " ".join((record.prompt or "").split())
    if len(prompt) > prompt_chars:
        prompt = prompt[: prompt_chars - 1].rstrip() + "…"
    return f"{kind} {verb}: {quote(prompt)}" if prompt else f"{kind} {verb}"
