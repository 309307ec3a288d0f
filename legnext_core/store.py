"""The job log: applies the record transitions to the journaled TinyDB log and answers queries.

Every job costs money and minutes, so the log must never lose or garble one. The files, their
locking, crash safety and the catching up with other processes are the storage's
(:mod:`legnext_core.joblog`); the rules of how a record moves are the records module's pure
transitions (:mod:`legnext_core.records`). :class:`JobStore` reads the latest record under the
storage's locks, applies one transition, and writes the result if it changed, so two threads or two
processes never overwrite each other's change. Queries return typed :class:`JobRecord` objects.

The store keeps small indexes (job id -> record, the unfinished records, the children of each job)
current from the records the journal says changed, so the tracker's twice-a-second questions do not
scan 100,000 records.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from tinydb import TinyDB

from legnext_core import records as transitions
from legnext_core.joblog import JournalStorage, RecordTable, UnreadableLogError
from legnext_core.joblog.backend import LogStorage
from legnext_core.joblog.records_table import Stamp, decode_record, release_freed_memory
from legnext_core.models import EXTENSION_SECONDS, MAX_EXTENSIONS, VIDEO_SECONDS
from legnext_core.records import (
    ACTIVE_STATUSES,
    INTERRUPTED_NOTE,
    LIBRARY_FIELDS,
    STATUS_RANK,
    TERMINAL_STATUSES,
    TRACKING_FIELDS,
    JobRecord,
    RecordStatus,
    TransitionError,
    status_rank,
)

__all__ = [
    "ACTIVE_STATUSES",
    "CreditTotals",
    "ExtensionChain",
    "INTERRUPTED_NOTE",
    "JobRecord",
    "JobStore",
    "MAX_EXTENSIONS",
    "ProgressUpdate",
    "RecordStatus",
    "STATUS_RANK",
    "StoreError",
    "TERMINAL_STATUSES",
    "TRACKING_FIELDS",
    "LIBRARY_FIELDS",
    "UnknownRecordError",
    "UnreadableLogError",
    "record_filter",
    "status_rank",
    "submitted_at",
]


#: A POST never takes longer than the longest request timeout the settings allow (600 s) and is never
#: resent, so a ``submitting`` record older than this was interrupted, whoever wrote it.
DEFAULT_SUBMIT_TIMEOUT = 660.0

_TABLE = "jobs"
#: Statuses of records the indexes keep at hand (everything not finished).
_OPEN = frozenset(status.value for status in RecordStatus if not status.is_terminal)
#: One string per unfinished status, which the index of unfinished records keeps for each.
_OPEN_STATUS = {status: status for status in _OPEN}
#: The stored statuses each query over unfinished records looks at (filtered before a record is built).
_ACTIVE = frozenset(status.value for status in RecordStatus if status.is_active)
_QUEUED = frozenset({RecordStatus.QUEUED.value})
_SUBMITTING = frozenset({RecordStatus.SUBMITTING.value})
_UNKNOWN = frozenset({RecordStatus.UNKNOWN.value})
_EMPTY = RecordTable()


class StoreError(Exception):
    """The job log cannot do what was asked."""


class UnknownRecordError(StoreError, KeyError):
    """No record has this ``local_id``."""


class ExtensionChain(NamedTuple):
    """Where a video stands in its chain of extensions (a video is 4 s; each extension adds 4 s)."""

    extensions: int
    seconds: int
    seconds_left: int
    extensions_left: int
    #: The chain's job ids, the original video first and the asked-for job last.
    job_ids: tuple[str, ...]


class ProgressUpdate(NamedTuple):
    """One job's progress for :meth:`JobStore.apply_progress` (a list entry, or an estimate)."""

    job_id: str
    #: The status Legnext listed, or None to leave the status as it is.
    status: str | None
    #: 0-100, or None to leave the progress as it is.
    progress: int | None
    #: True when the figure was estimated from elapsed time, not reported by Legnext.
    estimated: bool = False


class CreditTotals(NamedTuple):
    frozen: int
    consumed: int


# Submissions this process has in flight (across all JobStore instances in it): a ``submitting``
# record written by this pid but not in here was left by an earlier process that had the same pid.
_in_flight_here: set[str] = set()
_in_flight_lock = threading.Lock()


def _pid_alive(pid: int) -> bool:
    if os.name != "posix":  # os.kill(pid, 0) would send CTRL_C_EVENT on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _forget_in_flight(local_id: str) -> None:
    with _in_flight_lock:
        _in_flight_here.discard(local_id)


def _built(local_id: str, data: dict[str, Any], *, own: bool = False) -> JobRecord:
    """The record of a stored object that may be held long (the tracker's queues and built records):
    its ``local_id`` is the log's own key string, not one more copy of it. ``own``: ``data`` was
    parsed for this call alone and may be changed (not a record the table's cache holds)."""
    if data.get("local_id") == local_id:
        if not own:
            data = {**data}
        data["local_id"] = local_id
    return JobRecord.from_dict(data)


class _Indexes:
    """Lookups kept current from the changed records: job id, callback token, unfinished records, children.

    The collections keep the order records were first seen (dicts as ordered sets), so records with
    the same submission time keep a stable order.
    """

    def __init__(self) -> None:
        self.version = -1
        self.by_job_id: dict[str, str] = {}
        self.by_token: dict[str, str] = {}
        #: The unfinished records and their stored status (a question about some statuses builds
        #: only the records it returns).
        self.unfinished: dict[str, str] = {}
        self.children: dict[str, dict[str, None]] = {}
        #: Unfinished records already built, with the stamp of the stored record each was built from
        #: (:meth:`RecordTable.stamp`, replaced whenever the record changes), so an unchanged record
        #: is not read and built again by the tracker's and the dispatcher's questions every second.
        #: The stored status is kept beside each, so a question about some statuses reads no record.
        self.built: dict[str, tuple[Stamp, JobRecord, str]] = {}

    def sync(self, storage: LogStorage, stored: RecordTable) -> None:
        changes = storage.changes_since(self.version)
        if changes.ids is None:
            self.by_job_id, self.by_token, self.unfinished, self.children = {}, {}, {}, {}
            self.built = {}
            for local_id, data in stored.items():
                self._note(local_id, data)
            release_freed_memory()  # every record was parsed on the way
        else:
            for table, local_id in changes.ids:
                if table != _TABLE:
                    continue
                entry = stored.get(local_id)
                if entry is None:
                    self.unfinished.pop(local_id, None)
                    self.built.pop(local_id, None)
                else:
                    self._note(local_id, entry)
        self.version = changes.version

    def unfinished_records(self, stored: RecordTable, statuses: frozenset[str] | None) -> list[JobRecord]:
        """The unfinished records with one of ``statuses`` (all if None); only changed ones are built."""
        found = []
        for local_id, status in self.unfinished.items():  # under the store's lock
            if statuses is not None and status not in statuses:
                continue
            stamp = stored.stamp(local_id)
            if stamp is None:
                continue
            kept = self.built.get(local_id)
            if kept is None or kept[0] is not stamp:
                raw = stored.raw(local_id)
                if raw is None:
                    continue
                # Parsed apart from the table's cache: the built record is what is kept.
                data = decode_record(raw)
                kept = (stamp, _built(local_id, data, own=True), str(data.get("status")))
                self.built[local_id] = kept
            if statuses is None or kept[2] in statuses:
                found.append(kept[1])
        return found

    def _note(self, local_id: str, data: Mapping[str, Any]) -> None:
        job_id = data.get("job_id")
        if job_id:
            self.by_job_id[job_id] = local_id
        token = data.get("callback_token")
        if token:
            self.by_token[token] = local_id
        status = _OPEN_STATUS.get(str(data.get("status")))
        if status is not None:
            self.unfinished[local_id] = status
        else:
            self.unfinished.pop(local_id, None)
            self.built.pop(local_id, None)
        parent = data.get("parent_job_id")
        if parent:
            self.children.setdefault(parent, {}).setdefault(local_id, None)


class JobStore:
    """The job log. One instance per process; every method is safe to call from any thread.

    ``submitting`` records left by a process that is gone (or older than ``submit_timeout``) are
    turned into ``unknown`` with :data:`INTERRUPTED_NOTE` when the store opens, so the page shows
    "outcome unknown" rather than a submission spinning forever, and Legnext's concurrency slots are
    not counted as busy by them. :meth:`resolve_interrupted_submissions` does the same on demand.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        clock: Callable[[], float] = time.time,
        submit_timeout: float = DEFAULT_SUBMIT_TIMEOUT,
        lock_timeout: float = 60.0,
        compact_share: float = 0.25,
        compact_min_bytes: int = 1 << 20,
        storage: LogStorage | None = None,
    ) -> None:
        """Open the TinyDB log at ``path``, or the log in ``storage`` (the PostgreSQL one) when given.

        The store owns ``storage`` from here: closing the store closes it.
        """
        if storage is None and path is None:
            raise TypeError("JobStore needs the path of its TinyDB log, or a storage")
        self.path = Path(path) if path is not None else None
        self._clock = clock
        self._submit_timeout = submit_timeout
        self._lock = threading.RLock()
        self._db: TinyDB | None = None
        if storage is None:
            # TinyDB's front opens the storage, as it would any other; the store then uses the storage's
            # record-level calls, which write only the changed record (TinyDB's table API compares and
            # copies the whole table per change).
            self._db = TinyDB(
                self.path,
                storage=JournalStorage,
                lock_timeout=lock_timeout,
                compact_share=compact_share,
                compact_min_bytes=compact_min_bytes,
                clock=clock,
            )
            self._storage: LogStorage = self._db.storage  # type: ignore[assignment]
        else:
            self._storage = storage
        self._indexes = _Indexes()
        self.resolve_interrupted_submissions()

    @property
    def storage(self) -> Any:
        """The job log's storage, a :class:`LogStorage` (its change feed drives the history table)."""
        return self._storage

    @property
    def recovered_from(self) -> Path | None:
        """Where an unreadable log file was moved (on open or later), or None."""
        return self._storage.recovered_from

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
            else:
                self._storage.close()

    def __enter__(self) -> JobStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- plumbing --------------------------------------------------------------------------------------
    def stored(self) -> RecordTable:
        """The on-disk objects (local_id -> dict), current with the files. Never mutate them.

        Records are parsed when read (see :class:`RecordTable`): a scan over all of them costs a parse
        each, and one read twice may come back as two equal dicts.
        """
        return self._storage.tables().get(_TABLE) or _EMPTY

    def _synced(self) -> tuple[RecordTable, _Indexes]:
        stored = self.stored()
        self._indexes.sync(self._storage, stored)
        return stored, self._indexes

    def _record(self, local_id: str | None) -> JobRecord | None:
        data = self.stored().get(local_id) if local_id else None
        return None if data is None else JobRecord.from_dict(data)

    def _save(self, record: JobRecord, *, new: bool = False, data: dict[str, Any] | None = None) -> JobRecord:
        """Write one record (under the storage's locks); ``data`` is its ``to_dict()`` if known."""
        if new and record.local_id in self.stored():
            raise StoreError(f"record {record.local_id} already exists")
        self._storage.commit({_TABLE: {record.local_id: data if data is not None else record.to_dict()}})
        return record

    def _change(self, local_id: str, transition: Callable[[JobRecord], JobRecord | None]) -> JobRecord:
        """Read the latest record, apply the transition, write the result if it changed."""
        with self._lock, self._storage.writing():
            stored = self.stored().get(local_id)
            if stored is None:
                raise UnknownRecordError(local_id)
            current = JobRecord.from_dict(stored)
            try:
                updated = transition(current)
            except TransitionError as exc:
                raise StoreError(str(exc)) from None
            if updated is None:
                return current
            data = updated.to_dict()
            if data == stored:
                return current
            return self._save(updated, data=data)

    # -- intents -----------------------------------------------------------------------------------------
    def add_intent(
        self,
        request: Any,
        *,
        api_mode: str,
        api_base_url: str,
        estimated_points: int | None,
        batch_id: str | None = None,
        resubmit_of: str | None = None,
        status: str = "submitting",
        **agreed: Any,
    ) -> JobRecord:
        """Record a submission before it is sent (``submitting``), or a batch line waiting (``queued``).

        ``agreed`` sets other record fields a submission carries (``submitted_by``, ``callback_token``).
        """
        record = transitions.intent(
            request,
            local_id=uuid.uuid4().hex,
            api_mode=api_mode,
            api_base_url=api_base_url,
            estimated_points=estimated_points,
            now=self._clock(),
            pid=os.getpid(),
            batch_id=batch_id,
            resubmit_of=resubmit_of,
            status=status,
            **agreed,
        )
        if record.status == RecordStatus.SUBMITTING:
            self._mark_in_flight(record.local_id)
        with self._lock, self._storage.writing():
            return self._save(record, new=True)

    def begin_submission(self, local_id: str) -> bool:
        """Claim a queued line for sending (``queued`` -> ``submitting``); False if it is not queued."""
        claimed = False

        def claim(record: JobRecord) -> JobRecord | None:
            nonlocal claimed
            updated = transitions.claim(record, now=self._clock(), pid=os.getpid())
            claimed = updated is not None
            if claimed:
                self._mark_in_flight(local_id)
            return updated

        self._change(local_id, claim)
        return claimed

    def requeue(self, local_id: str) -> bool:
        """Put a line Legnext did not create (a 429) back in the queue; False if that is not safe."""
        moved = False

        def back(record: JobRecord) -> JobRecord | None:
            nonlocal moved
            updated = transitions.requeue(record, now=self._clock())
            moved = updated is not None
            return updated

        self._change(local_id, back)
        _forget_in_flight(local_id)
        return moved

    def record_accepted(self, local_id: str, job: Any) -> JobRecord:
        """Legnext took the submission: the record gets its job id and the job's first snapshot."""
        try:
            return self._change(local_id, lambda r: transitions.accept(r, job, now=self._clock()))
        finally:
            _forget_in_flight(local_id)

    def record_rejected(self, local_id: str, error: Any) -> JobRecord:
        """Legnext refused the submission (or it never reached Legnext): nothing was created."""
        try:
            return self._change(local_id, lambda r: transitions.reject(r, error, now=self._clock()))
        finally:
            _forget_in_flight(local_id)

    def record_unknown(self, local_id: str, message: str) -> JobRecord:
        """The POST may or may not have created a job; the record says so and keeps the request."""
        try:
            return self._change(local_id, lambda r: transitions.mark_unknown(r, message, now=self._clock()))
        finally:
            _forget_in_flight(local_id)

    def in_flight_submissions(self) -> list[JobRecord]:
        """``submitting`` records whose POST may still be under way (interrupted ones excluded)."""
        now = self._clock()
        return [
            r
            for r in self._unfinished(newest_first=False, statuses=_SUBMITTING)
            if not self._interrupted(r, now)
        ]

    def resolve_interrupted_submissions(self) -> list[JobRecord]:
        """Turn ``submitting`` records whose submitter is gone into ``unknown``; returns them."""
        now = self._clock()
        stale = [
            r.local_id
            for r in self._unfinished(newest_first=False, statuses=_SUBMITTING)
            if self._interrupted(r, now)
        ]
        resolved = []
        for local_id in stale:

            def interrupt(record: JobRecord) -> JobRecord | None:
                if not self._interrupted(record, now):
                    return None
                return transitions.interrupt(record, now=now, submit_timeout=self._submit_timeout)

            resolved.append(self._change(local_id, interrupt))
        return resolved

    def _mark_in_flight(self, local_id: str) -> None:
        with _in_flight_lock:
            _in_flight_here.add(local_id)

    def _interrupted(self, record: JobRecord, now: float) -> bool:
        since = record.submitting_since or record.submitted_at or 0.0
        if now - since > self._submit_timeout:
            return True
        pid = record.submitter_pid
        if pid is None:
            return False
        if getattr(self._storage, "shared_by_machines", False):
            # A process id names a process on one machine only, and a replica elsewhere may have the
            # same one: on a shared log, the timeout alone says a submission was interrupted.
            return False
        if pid == os.getpid():
            with _in_flight_lock:
                return record.local_id not in _in_flight_here
        return not _pid_alive(pid)

    # -- job snapshots -----------------------------------------------------------------------------------
    def apply_job(self, job: Any, *, polled_at: float | None = None) -> JobRecord | None:
        """Apply an API snapshot (a poll or a webhook) to the job's record; None for a job not in the log.

        Monotonic: a snapshot of an earlier stage changes nothing, a terminal record keeps its status.
        ``updated_at`` moves only when the job's data changed; ``last_poll_at`` is set to ``polled_at``.
        """
        now = self._clock()
        with self._lock, self._storage.writing():
            _, indexes = self._synced()
            local_id = indexes.by_job_id.get(job.job_id)
            if local_id is None:
                return None
            return self._change(
                local_id, lambda r: transitions.merge_snapshot(r, job, now=now, polled_at=polled_at)
            )

    def track_external(self, job: Any, *, api_mode: str, api_base_url: str) -> JobRecord:
        """Log a job made elsewhere (looked up by id); if it is already in the log, apply the snapshot."""
        now = self._clock()
        with self._lock, self._storage.writing():
            _, indexes = self._synced()
            local_id = indexes.by_job_id.get(job.job_id)
            if local_id is not None:
                return self._change(local_id, lambda r: transitions.merge_snapshot(r, job, now=now))
            record = transitions.external(
                job, local_id=uuid.uuid4().hex, api_mode=api_mode, api_base_url=api_base_url, now=now
            )
            return self._save(record, new=True)

    def update_tracking(self, local_id: str, **fields: Any) -> JobRecord:
        """Set polling, media and flag fields (:data:`TRACKING_FIELDS`); None removes a field."""
        refused = sorted(set(fields) - TRACKING_FIELDS)
        if refused:
            raise ValueError(f"update_tracking cannot set {', '.join(refused)}")
        return self._change(local_id, lambda r: transitions.track(r, fields))

    def update_tracking_many(self, fields_by_id: Mapping[str, Mapping[str, Any]]) -> int:
        """:meth:`update_tracking` for many records in one write (one fsync); returns how many changed.

        ``fields_by_id`` maps a ``local_id`` to its fields. A record no longer in the log is skipped.
        The new records are worked out before the locks are taken (the log replaces a record's stored
        bytes when it changes, so a record whose bytes are still the same object under the locks is
        unchanged); only records changed meanwhile are worked out again under them.
        """
        for fields in fields_by_id.values():
            refused = sorted(set(fields) - TRACKING_FIELDS)
            if refused:
                raise ValueError(f"update_tracking cannot set {', '.join(refused)}")
        if not fields_by_id:
            return 0

        def tracked(data: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
            return transitions.track(JobRecord.from_dict(data), fields).to_dict()

        stored = self.stored()
        prepared = {}
        for local_id, fields in fields_by_id.items():
            data = stored.get(local_id)
            if data is not None:
                prepared[local_id] = (stored.stamp(local_id), tracked(data, fields))
        with self._lock, self._storage.writing():
            stored = self.stored()
            changed: dict[str, dict[str, Any]] = {}
            for local_id, fields in fields_by_id.items():
                data = stored.get(local_id)
                if data is None:
                    continue
                before, new = prepared.get(local_id, (None, None))
                if before is not stored.stamp(local_id) or new is None:
                    new = tracked(data, fields)
                if new != data:
                    changed[local_id] = new
            if changed:
                self._storage.commit({_TABLE: changed})
            return len(changed)

    def update_library(self, local_id: str, **fields: Any) -> JobRecord:
        """Set favourites, tags or hidden (:data:`LIBRARY_FIELDS`); an empty value removes the field."""
        refused = sorted(set(fields) - LIBRARY_FIELDS)
        if refused:
            raise ValueError(f"update_library cannot set {', '.join(refused)}")
        return self._change(local_id, lambda r: transitions.curate(r, fields))

    def mark_lost(self, local_id: str, reason: str) -> JobRecord:
        """Give up on a job Legnext no longer knows; a terminal record is left as it is."""
        return self._change(local_id, lambda r: transitions.lose(r, reason, now=self._clock()))

    # -- reconciliation of "outcome unknown" and progress ------------------------------------------------
    def link_unknown(self, local_id: str, job: Any, *, how: str) -> JobRecord | None:
        """Give an ``unknown`` record the job its POST made (found afterwards); None if it cannot be.

        Refused (None) when the record is no longer ``unknown`` or already has a job, or when the job
        already belongs to another record: one job is never linked to two submissions. ``how`` says
        what proved the link; it is kept in ``reconciliation``.
        """
        now = self._clock()
        with self._lock, self._storage.writing():
            stored, indexes = self._synced()
            if local_id not in stored or indexes.by_job_id.get(job.job_id) not in (None, local_id):
                return None
            linked: JobRecord | None = None

            def change(record: JobRecord) -> JobRecord | None:
                nonlocal linked
                linked = transitions.link(record, job, how=how, now=now)
                return linked

            self._change(local_id, change)
            return linked

    def set_reconciliation(self, local_id: str, evidence: Mapping[str, Any]) -> JobRecord | None:
        """Replace the evidence of an ``unknown`` record (what was searched, what was found).

        Returns the changed record, or None when nothing changed (not ``unknown``, same evidence).
        """
        changed: JobRecord | None = None

        def change(record: JobRecord) -> JobRecord | None:
            nonlocal changed
            changed = transitions.reconcile(record, evidence)
            return changed

        self._change(local_id, change)
        return changed

    def unresolved_unknowns(self) -> list[JobRecord]:
        """``unknown`` records with no job yet, oldest first (what reconciliation looks for)."""
        return [r for r in self._unfinished(newest_first=False, statuses=_UNKNOWN) if not r.job_id]

    def apply_progress(self, updates: Iterable[ProgressUpdate]) -> int:
        """Apply many jobs' progress in one write; returns how many records changed.

        A status only moves forward and a terminal record is left alone. Reported progress replaces
        an estimate and clears ``progress_estimated``; an estimate never replaces reported progress.
        """
        updates = list(updates)
        if not updates:
            return 0
        now = self._clock()
        with self._lock, self._storage.writing():
            stored, indexes = self._synced()
            changed: dict[str, dict[str, Any]] = {}
            for update in updates:
                local_id = indexes.by_job_id.get(update.job_id)
                if local_id is None:
                    continue
                data = changed.get(local_id) or stored.get(local_id)
                if data is None:
                    continue
                current = JobRecord.from_dict(data)
                if current.is_terminal:
                    continue
                updated = transitions.progress(current, update, now=now)
                if updated is None:
                    continue
                new = updated.to_dict()
                if new != data:
                    changed[local_id] = new
            if changed:
                self._storage.commit({_TABLE: changed})
            return len(changed)

    def by_callback_token(self, token: str) -> JobRecord | None:
        """The submission whose callback URL carries ``token``, or None."""
        with self._lock:
            _, indexes = self._synced()
            return self._record(indexes.by_token.get(token))

    # -- queries -----------------------------------------------------------------------------------------
    def get(self, local_id: str) -> JobRecord | None:
        with self._lock:
            return self._record(local_id)

    def by_job_id(self, job_id: str) -> JobRecord | None:
        with self._lock:
            _, indexes = self._synced()
            return self._record(indexes.by_job_id.get(job_id))

    def count(self) -> int:
        with self._lock:
            return len(self.stored())

    def active(self) -> list[JobRecord]:
        """Jobs Legnext is working on (pending, staged, processing, with a job id), oldest first."""
        return [r for r in self._unfinished(newest_first=False, statuses=_ACTIVE) if r.is_active]

    def queued(self) -> list[JobRecord]:
        """Batch lines waiting for a free slot, in the order they were queued."""
        return self._unfinished(newest_first=False, statuses=_QUEUED)

    def children(self, job_id: str) -> list[JobRecord]:
        """Jobs made from this one (animations, extensions, upscales), oldest first."""
        with self._lock:
            stored, indexes = self._synced()
            found = [
                JobRecord.from_dict(stored[i])
                for i in indexes.children.get(job_id, ())
                if i in stored and stored[i].get("parent_job_id") == job_id
            ]
        return sorted(found, key=lambda r: r.sort_time)

    def unfinished(self) -> list[JobRecord]:
        """Every record that is not terminal yet (queued to processing, and unknown), oldest first."""
        return self._unfinished(newest_first=False)

    def _unfinished(self, *, newest_first: bool, statuses: frozenset[str] | None = None) -> list[JobRecord]:
        with self._lock:
            stored, indexes = self._synced()
            found = indexes.unfinished_records(stored, statuses)
        return sorted(found, key=lambda r: r.sort_time, reverse=newest_first)

    def recent(
        self,
        limit: int | None = 200,
        *,
        statuses: Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
        text: str | None = None,
        since: float | datetime | None = None,
        until: float | datetime | None = None,
    ) -> list[JobRecord]:
        """Records newest first (by submission time), filtered; ``limit=None`` for all.

        ``text`` matches the prompt or the job id, ignoring case; ``since``/``until`` bound the
        submission time (epoch seconds or aware datetimes), ``until`` exclusive.
        """
        keep = record_filter(statuses=statuses, kinds=kinds, text=text, since=since, until=until)
        with self._lock:
            # Filtered and sorted on the stored objects: only the records returned are built.
            matches = [data for data in self.stored().values() if keep(data)]
        matches.sort(key=submitted_at, reverse=True)
        if limit is not None:
            matches = matches[:limit]
        return [JobRecord.from_dict(data) for data in matches]

    def local_ids(self) -> list[str]:
        """Every record's ``local_id``, in log order (no record is built): where a long walk starts."""
        with self._lock:
            return list(self.stored())

    def records_where(
        self, keep: Callable[[Mapping[str, Any]], bool], local_ids: Iterable[str]
    ) -> list[JobRecord]:
        """Among ``local_ids``, the records whose stored object ``keep`` accepts, in the order given.

        Only the records returned are built, so a walk over the whole log in slices of ids costs
        little more than reading a few fields of each record, and holds the lock one slice at a time.
        """
        with self._lock:
            stored = self.stored()
            # Parsed past the table's cache of recent reads: a walk through the log would flush it.
            found = [
                (i, data)
                for i in local_ids
                if (raw := stored.raw(i)) is not None and keep(data := decode_record(raw))
            ]
        return [_built(local_id, data) for local_id, data in found]

    def extension_chain(self, job_id: str) -> ExtensionChain:
        """How long the video of ``job_id`` is and how many extensions it has left.

        Walks ``parent_job_id`` through extend records; an upscale's chain is its parent's. A parent
        missing from the log ends the walk (such a chain may be longer than the log knows).
        """
        with self._lock:
            stored, indexes = self._synced()

            def record_of(jid: str | None) -> Mapping[str, Any] | None:
                local_id = indexes.by_job_id.get(jid) if jid else None
                return stored.get(local_id) if local_id else None

            record = record_of(job_id)
            ids = [job_id]
            if record is not None and record.get("kind") == "upscale" and record.get("parent_job_id"):
                ids = [record["parent_job_id"]]
                record = record_of(record["parent_job_id"])
            extensions = 0
            while record is not None and record.get("kind") == "extend" and record.get("parent_job_id"):
                parent_id = record["parent_job_id"]
                if parent_id in ids or extensions > MAX_EXTENSIONS:
                    break  # a loop in the lineage: the log was edited by hand
                extensions += 1
                ids.insert(0, parent_id)
                record = record_of(parent_id)
        extensions = min(extensions, MAX_EXTENSIONS)
        return ExtensionChain(
            extensions=extensions,
            seconds=VIDEO_SECONDS + EXTENSION_SECONDS * extensions,
            seconds_left=EXTENSION_SECONDS * (MAX_EXTENSIONS - extensions),
            extensions_left=MAX_EXTENSIONS - extensions,
            job_ids=tuple(ids),
        )

    def credit_totals(self, records: Iterable[JobRecord] | None = None) -> CreditTotals:
        """Sums of points frozen (reserved) and consumed over ``records`` (default: the whole log)."""
        frozen = consumed = 0
        if records is None:
            with self._lock:
                for data in self.stored().values():
                    frozen += data.get("credits_frozen") or 0
                    consumed += data.get("credits_consumed") or 0
            return CreditTotals(frozen, consumed)
        for record in records:
            frozen += record.credits_frozen or 0
            consumed += record.credits_consumed or 0
        return CreditTotals(frozen, consumed)

    def newest_page(
        self, keep: Callable[[Mapping[str, Any]], bool], *, limit: int, before: int | None = None
    ) -> tuple[list[JobRecord], int | None]:
        """Up to ``limit`` matching records, newest first, by their place in the log, and where to go on.

        ``keep`` is a filter over stored objects, like :func:`record_filter`. ``before`` is a position in
        the log (records keep their place for life; new ones are added at the end), so a page stays the
        same while new jobs arrive. Returns the records and the ``before`` of the next, older page, or
        None when there is none. The storage's table is in log order, so the walk goes backwards over
        it from ``before`` and stops once the page is full: no full scan, no sort, no copy of the log,
        and only the records returned are built.
        """
        found: list[JobRecord] = []
        # The storage's lock alone: a page must not wait while another thread holds the store's lock.
        with self._storage.reading() as tables:
            stored = tables.get(_TABLE) or _EMPTY
            end = len(stored) if before is None else max(0, min(before, len(stored)))
            position = end
            for local_id in itertools.islice(reversed(stored), len(stored) - end, None):
                position -= 1
                data = stored[local_id]
                if keep(data):
                    if len(found) == limit:
                        return found, position + 1
                    found.append(JobRecord.from_dict(data))
        return found, None

    def __iter__(self) -> Iterator[JobRecord]:
        return iter(self.recent(None))


# ---------------------------------------------------------------------------------------------------
# Filtering stored objects (the on-disk dicts, so a filter never builds a record it drops)


def _epoch(value: float | datetime | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    return float(value)


def record_filter(
    *,
    statuses: Iterable[str] | None = None,
    kinds: Iterable[str] | None = None,
    text: str | None = None,
    since: float | datetime | None = None,
    until: float | datetime | None = None,
) -> Callable[[Mapping[str, Any]], bool]:
    """A predicate over stored objects for :meth:`JobStore.recent`'s filters."""
    wanted_statuses = {getattr(s, "value", s) for s in statuses} if statuses is not None else None
    wanted_kinds = {getattr(k, "value", k) for k in kinds} if kinds is not None else None
    needle = text.strip().casefold() if text and text.strip() else None
    low, high = _epoch(since), _epoch(until)

    def keep(record: Mapping[str, Any]) -> bool:
        if wanted_statuses is not None and record.get("status") not in wanted_statuses:
            return False
        if wanted_kinds is not None and record.get("kind") not in wanted_kinds:
            return False
        when = submitted_at(record)
        if low is not None and when < low:
            return False
        if high is not None and when >= high:
            return False
        if needle is None:
            return True
        return (
            needle in (record.get("prompt") or "").casefold()
            or needle in (record.get("job_id") or "").casefold()
        )

    return keep


def submitted_at(record: Mapping[str, Any]) -> float:
    """When a stored record was submitted (or created at Legnext, for jobs made elsewhere)."""
    return record.get("submitted_at") or record.get("created_at") or 0.0
