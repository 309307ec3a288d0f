"""The job log: one TinyDB file that records every job, safe against crashes and concurrent writers.

Every job costs money and minutes, so the log must never lose or garble one. TinyDB's own JSON storage
rewrites its file in place (a process killed mid-write leaves half a file) and has no locking (two
writers interleave or silently overwrite each other). This module keeps TinyDB's table API but gives it:

* **atomic writes**: :class:`JobLogStorage` writes a temporary file beside the log, fsyncs it,
  ``os.replace``-s it over the log and fsyncs the folder; a crash leaves the old or the new file, never
  a mix. Temporary files a crash left behind are swept when the log is opened.
* **one writer at a time**: a ``threading.RLock`` serialises the threads of a process (Streamlit runs
  each browser session on its own thread) and a ``filelock`` lock file beside the log serialises
  processes. A write reads the latest file, changes it and replaces it while holding both.
* **speed at 10,000 jobs**: the parsed log is cached in the process. Each write stamps the file with a
  random generation token in its first bytes; an operation reads only those bytes and re-parses the
  file only when another process has written since. (A stat signature alone is not enough: inode
  numbers are reused as soon as the replaced file is gone and mtimes tick coarsely, so two quick
  writes by another process can look like none.) Each record's JSON is cached too, so a write encodes
  only the record that changed, then joins and writes the file.
* **recovery**: a log that cannot be parsed on open is never overwritten; it is moved aside as
  ``jobs.json.corrupt-<UTC time>`` (:attr:`JobStore.recovered_from`) and a new log starts.

Records are plain dicts keyed by ``local_id`` (see the field table in the design notes); fields whose
value is None or empty are left out of the file. A job's status only moves forward (:data:`STATUS_RANK`).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from filelock import FileLock
from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Document, Table

try:  # orjson parses a large log about twice as fast as json; the log is plain JSON either way.
    import orjson
except ImportError:  # pragma: no cover - exercised where orjson is not installed
    orjson = None

__all__ = [
    "ACTIVE_STATUSES",
    "CreditTotals",
    "ExtensionChain",
    "JobLogStorage",
    "JobStore",
    "MAX_EXTENSIONS",
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

#: How far along a job is. A record's status is only ever replaced by one of equal or higher rank.
STATUS_RANK: dict[str, int] = {
    "queued": 0,
    "submitting": 1,
    "unknown": 2,
    "pending": 3,
    "staged": 4,
    "processing": 5,
    "completed": 6,
    "failed": 6,
    "rejected": 6,
    "lost": 6,
}
TERMINAL_STATUSES = frozenset({"completed", "failed", "rejected", "lost"})
ACTIVE_STATUSES = frozenset({"pending", "staged", "processing"})

#: Fields :meth:`JobStore.update_tracking` may set: scheduling, media and flags, never job state.
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

#: Fields :meth:`JobStore.update_library` may set: what people keep, tag and hide (the Gallery).
LIBRARY_FIELDS = frozenset({"favourite_variants", "tags", "hidden"})

#: Seconds of video a generation makes, each extension adds, and how many extensions one chain takes.
VIDEO_SECONDS = 4
EXTENSION_SECONDS = 4
MAX_EXTENSIONS = 4

#: A POST never takes longer than the longest request timeout the settings allow (600 s) and is never
#: resent, so a ``submitting`` record older than this was interrupted, whoever wrote it.
DEFAULT_SUBMIT_TIMEOUT = 660.0

INTERRUPTED_NOTE = (
    "The dashboard stopped while this job was being submitted, so it is not known whether Legnext "
    "created it. Check your Legnext account before submitting it again."
)

_TABLE = "jobs"
# Who is sending a ``submitting`` record's POST; removed once the answer is recorded.
_SUBMITTER_FIELDS = ("submitter_pid", "submitting_since")
_GENERATION_KEY = "_generation"
_HEAD = b'{"' + _GENERATION_KEY.encode() + b'":"'
_TOKEN_LENGTH = 32
_MISSING = b""  # the generation of a log file that does not exist (or is empty)

# Legnext's task types (underscored, as models.Job normalises them) to our kinds, for jobs made
# elsewhere; video_diffusion is also what animate and image-URL jobs report.
_KIND_BY_TASK_TYPE = {
    "video_diffusion": "text_video",
    "extend_video": "extend",
    "video_upscale": "upscale",
    "diffusion": "image",
}


class StoreError(Exception):
    """The job log cannot do what was asked."""


class UnknownRecordError(StoreError, KeyError):
    """No record has this ``local_id``."""


class UnreadableLogError(StoreError):
    """The log file is not a job log this store can read (it is moved aside, never overwritten)."""


class ExtensionChain(NamedTuple):
    """Where a video stands in its chain of extensions (a video is 4 s; each extension adds 4 s)."""

    extensions: int
    seconds: int
    seconds_left: int
    extensions_left: int
    #: The chain's job ids, the original video first and the asked-for job last.
    job_ids: tuple[str, ...]


class CreditTotals(NamedTuple):
    frozen: int
    consumed: int


def status_rank(status: str | None) -> int:
    """The rank of a status; -1 for none or one this store does not know."""
    return STATUS_RANK.get(status or "", -1)


# ---------------------------------------------------------------------------------------------------
# Encoding


if orjson is not None:
    _dumps: Callable[[Any], bytes] = orjson.dumps
    _loads: Callable[[bytes], Any] = orjson.loads
    SERIALIZER = "orjson"
else:  # pragma: no cover - exercised where orjson is not installed

    def _dumps(value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()

    _loads = json.loads
    SERIALIZER = "json"


def _is_blank(value: Any) -> bool:
    # ``value is False`` and not ``== False``: 0 (480p, no progress yet) is a value worth keeping.
    return value is None or value is False or value == "" or value == [] or value == {}


def _lean(record: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if not _is_blank(value)}


def _enum_value(value: Any) -> Any:
    return getattr(value, "value", value)


def _epoch(value: datetime | float | int | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    return float(value)


def _utc_stamp(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%SZ")


# ---------------------------------------------------------------------------------------------------
# Storage


class JobLogStorage(Storage):
    """A TinyDB storage that replaces its file atomically and caches what it parsed.

    It does not lock: :class:`JobStore` holds the file lock around every read-modify-write, and
    readers need none because the file is only ever replaced whole.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = Path(path)
        self._data: dict[str, dict[str, Any]] | None = None
        self._generation: bytes | None = None
        # table -> doc id -> the encoded ``"id":{...}`` entry, valid for ``self._data`` only.
        self._entries: dict[str, dict[str, bytes]] = {}
        self._announced: dict[str, set[str]] | None = None
        #: How many times the file was parsed; the store rebuilds its indexes when this changes.
        self.reloads = 0

    # -- TinyDB's interface ------------------------------------------------------------------------
    def read(self) -> dict[str, dict[str, Any]] | None:
        if self._data is not None and self._read_generation() == self._generation:
            return self._data
        return self._load()

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        announced, self._announced = self._announced, None
        try:
            generation = uuid.uuid4().hex.encode()
            chunks, entries = self._encode(data, generation, announced)
            self._replace_file(chunks)
        except BaseException:
            # TinyDB has already changed the cached dicts in place; forget them so the next read
            # parses what is really on disk.
            self.forget()
            raise
        self._data = data
        self._generation = generation
        self._entries = entries

    # -- what JobStore uses --------------------------------------------------------------------------
    def announce_changes(self, table: str, doc_ids: Iterable[str]) -> None:
        """Declare the only documents the next write changes, so it re-encodes just those.

        A write that was not announced re-encodes everything, which is always correct.
        """
        self._announced = {table: set(doc_ids)}

    def forget(self) -> None:
        """Drop the cache; the next read parses the file."""
        self._data = None
        self._generation = None
        self._entries = {}
        self._announced = None

    def temporary_files(self) -> list[Path]:
        return sorted(self.path.parent.glob(f".{self.path.name}.*.tmp"))

    def move_aside(self, now: float) -> Path:
        """Rename the log out of the way (it is kept for a person to look at) and start afresh."""
        target = self.path.with_name(f"{self.path.name}.corrupt-{_utc_stamp(now)}")
        counter = 1
        while target.exists():
            target = self.path.with_name(f"{self.path.name}.corrupt-{_utc_stamp(now)}-{counter}")
            counter += 1
        os.replace(self.path, target)
        self._fsync_folder()
        self.forget()
        return target

    # -- internals -------------------------------------------------------------------------------------
    def _read_generation(self) -> bytes | None:
        """The token in the file's first bytes; ``_MISSING`` for no file, None for a foreign file."""
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except FileNotFoundError:
            return _MISSING
        try:
            head = os.read(fd, len(_HEAD) + _TOKEN_LENGTH + 1)
        finally:
            os.close(fd)
        if not head:
            return _MISSING
        if head.startswith(_HEAD) and head.endswith(b'"') and len(head) == len(_HEAD) + _TOKEN_LENGTH + 1:
            return head[len(_HEAD) : -1]
        return None

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            with open(self.path, "rb") as handle:
                raw = handle.read()
        except FileNotFoundError:
            raw = b""
        if not raw.strip():
            data: dict[str, Any] = {}
            generation = _MISSING
        else:
            try:
                data = _loads(raw)
            except ValueError as exc:  # orjson.JSONDecodeError and json's are both ValueErrors
                raise UnreadableLogError(f"{self.path.name} is not valid JSON: {exc}") from None
            if not isinstance(data, dict):
                raise UnreadableLogError(f"{self.path.name} does not hold a JSON object")
            token = data.pop(_GENERATION_KEY, None)
            generation = token.encode() if isinstance(token, str) else b"foreign"
            for name, table in data.items():
                if not isinstance(table, dict) or not all(isinstance(doc, dict) for doc in table.values()):
                    raise UnreadableLogError(f"{self.path.name}: table {name!r} is not a set of records")
        self._data = data
        self._generation = generation
        self._entries = {}
        self._announced = None
        self.reloads += 1
        return data

    def _encode(
        self,
        data: dict[str, dict[str, Any]],
        generation: bytes,
        announced: dict[str, set[str]] | None,
    ) -> tuple[list[bytes], dict[str, dict[str, bytes]]]:
        """The file's bytes as chunks (written one after the other, never joined into one copy)."""
        chunks = [_HEAD, generation, b'"']
        entries: dict[str, dict[str, bytes]] = {}
        for name, table in data.items():
            changed = announced.get(name) if announced is not None else None
            table_entries = self._reuse_entries(name, table, changed) if changed is not None else None
            if table_entries is None:
                table_entries = {doc_id: _dumps(doc_id) + b":" + _dumps(doc) for doc_id, doc in table.items()}
            entries[name] = table_entries
            chunks += [b",", _dumps(name), b":{", b",".join(table_entries.values()), b"}"]
        chunks.append(b"}")
        return chunks, entries

    def _reuse_entries(
        self, name: str, table: dict[str, Any], changed: set[str]
    ) -> dict[str, bytes] | None:
        """The cached entries with the changed documents re-encoded; None if the cache does not fit."""
        table_entries = dict(self._entries.get(name, {}))
        for doc_id in changed:
            if doc_id in table:
                table_entries[doc_id] = _dumps(doc_id) + b":" + _dumps(table[doc_id])
        # Anything else added or removed without being announced: encode it all.
        return table_entries if table_entries.keys() == table.keys() else None

    def _replace_file(self, chunks: list[bytes]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.writelines(chunks)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        self._fsync_folder()

    def _fsync_folder(self) -> None:
        # The rename is only durable once the folder's entry is on disk. Windows cannot open folders.
        if os.name != "posix":
            return
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class _JobTable(Table):
    # Records are keyed by their local_id, so a lookup by id is a dict access.
    document_id_class = str
    # TinyDB's query cache would answer from memory after another process wrote; the storage cache
    # already makes reads cheap.
    default_query_cache_capacity = 0

    def _update_table(self, updater: Callable[[dict[str, Any]], None]) -> None:
        # TinyDB's version copies the whole table twice per write to turn ids into
        # ``document_id_class`` and back; ours are strings both ways, and at 10,000 jobs those copies
        # cost as much as encoding. The storage's cache is changed in place, as TinyDB does with
        # documents; a failed write drops that cache (see JobLogStorage.write).
        tables = self._storage.read()
        if tables is None:
            tables = {}
        updater(tables.setdefault(self.name, {}))
        self._storage.write(tables)
        self.clear_cache()


class _JobDB(TinyDB):
    table_class = _JobTable


# ---------------------------------------------------------------------------------------------------
# The store

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


class JobStore:
    """The job log. One instance per process; every method is safe to call from any thread.

    Records returned are shallow copies: read them, do not mutate their lists.

    ``submitting`` records left by a process that is gone (or older than ``submit_timeout``) are
    turned into ``unknown`` with :data:`INTERRUPTED_NOTE` when the store opens, so the page shows
    "outcome unknown" rather than a submission spinning forever, and Legnext's concurrency slots are
    not counted as busy by them. :meth:`resolve_interrupted_submissions` does the same on demand.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Callable[[], float] = time.time,
        submit_timeout: float = DEFAULT_SUBMIT_TIMEOUT,
        lock_timeout: float = 60.0,
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._submit_timeout = submit_timeout
        self._lock = threading.RLock()
        self._file_lock = FileLock(f"{self.path}.lock", timeout=lock_timeout)
        self._db = _JobDB(self.path, storage=JobLogStorage)
        self._storage: JobLogStorage = self._db.storage  # type: ignore[assignment]
        self._table = self._db.table(_TABLE)
        self._job_index: dict[str, str] = {}
        self._index_reloads = -1
        #: Where an unreadable log was moved on open, or None.
        self.recovered_from: Path | None = None
        with self._lock, self._file_lock:
            for stray in self._storage.temporary_files():
                # Only a writer holding the file lock has a temporary file; none does now.
                with contextlib.suppress(FileNotFoundError):
                    stray.unlink()
            try:
                self._storage.read()
            except UnreadableLogError:
                self.recovered_from = self._storage.move_aside(self._clock())
        self.resolve_interrupted_submissions()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> JobStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- plumbing --------------------------------------------------------------------------------------
    def _records(self) -> dict[str, dict[str, Any]]:
        """The cached table (local_id -> record), current with the file. Never mutate it."""
        tables = self._storage.read() or {}
        return tables.get(_TABLE, {})

    def _read(self, query: Callable[[], Any]) -> Any:
        with self._lock:
            try:
                return query()
            except UnreadableLogError:
                self._recover()
                return query()

    def _write(self, change: Callable[[], Any]) -> Any:
        with self._lock:
            try:
                with self._file_lock:
                    return change()
            except UnreadableLogError:
                self._recover()
                with self._file_lock:
                    return change()

    def _recover(self) -> None:
        """The log became unreadable while open (something outside the store wrote it)."""
        with self._file_lock:
            self._storage.forget()
            try:
                self._storage.read()
            except UnreadableLogError:
                self.recovered_from = self._storage.move_aside(self._clock())

    def _index(self) -> dict[str, str]:
        records = self._records()
        if self._index_reloads != self._storage.reloads:
            self._job_index = {r["job_id"]: local_id for local_id, r in records.items() if r.get("job_id")}
            self._index_reloads = self._storage.reloads
        return self._job_index

    def _current(self, local_id: str) -> dict[str, Any]:
        record = self._records().get(local_id)
        if record is None:
            raise UnknownRecordError(local_id)
        return record

    def _save(self, record: dict[str, Any], *, new: bool = False) -> dict[str, Any]:
        """Write one record (under the file lock) and return a copy of what was written."""
        record = _lean(record)
        local_id = record["local_id"]
        self._storage.announce_changes(_TABLE, [local_id])
        if new:
            self._table.insert(Document(record, doc_id=local_id))
        else:

            def replace(doc: dict[str, Any]) -> None:
                doc.clear()
                doc.update(record)

            self._table.update(replace, doc_ids=[local_id])
        index = self._index()
        if record.get("job_id"):
            index[record["job_id"]] = local_id
        return dict(record)

    def _change(
        self, local_id: str, transform: Callable[[dict[str, Any]], dict[str, Any] | None]
    ) -> dict[str, Any]:
        """Read the latest record, transform a copy, write it if it changed."""

        def change() -> dict[str, Any]:
            current = self._current(local_id)
            updated = transform(dict(current))
            if updated is None or _lean(updated) == current:
                return dict(current)
            return self._save(updated)

        return self._write(change)

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
    ) -> dict[str, Any]:
        """Record a submission before it is sent (``submitting``), or a batch line waiting (``queued``)."""
        if status not in ("submitting", "queued"):
            raise ValueError(f"an intent is 'submitting' or 'queued', not {status!r}")
        now = self._clock()
        prompt = request.prompt
        wire_prompt = request.wire_prompt()
        record = {
            "local_id": uuid.uuid4().hex,
            "kind": _enum_value(request.kind),
            "api_mode": api_mode,
            "api_base_url": api_base_url,
            "prompt": prompt,
            "image_url": request.image_url,
            "video_type": request.video_type,
            "motion": request.motion,
            "raw": request.raw,
            # Video options; older records lack them and read back as the defaults.
            "end_url": request.end_url,
            "loop": request.loop,
            "batch_size": request.batch_size,
            "speed": request.speed,
            "callback": request.callback,
            # Most wire prompts are the prompt itself; store it only when it says more.
            "wire_prompt": wire_prompt if wire_prompt != prompt else None,
            "parent_job_id": request.parent_job_id,
            "parent_index": request.index,
            "batch_id": batch_id,
            "resubmit_of": resubmit_of,
            "status": status,
            "estimated_points": estimated_points,
            "submitted_at": now,
            "updated_at": now,
        }
        if status == "submitting":
            self._mark_in_flight(record, now)
        return self._write(lambda: self._save(record, new=True))

    def begin_submission(self, local_id: str) -> bool:
        """Claim a queued line for sending (``queued`` -> ``submitting``); False if it is not queued."""
        claimed = False

        def claim(record: dict[str, Any]) -> dict[str, Any] | None:
            nonlocal claimed
            if record.get("status") != "queued":
                return None
            claimed = True
            now = self._clock()
            record.update(status="submitting", updated_at=now)
            self._mark_in_flight(record, now)
            return record

        self._change(local_id, claim)
        return claimed

    def requeue(self, local_id: str) -> bool:
        """Put a line Legnext did not create (a 429) back in the queue; False if that is not safe.

        The one move backwards a status makes: only for a record with no job id that was being
        submitted or was rejected, never for ``unknown`` (it may exist and be paid for).
        """
        moved = False

        def back(record: dict[str, Any]) -> dict[str, Any] | None:
            nonlocal moved
            if record.get("job_id") or record.get("status") not in ("submitting", "rejected"):
                return None
            moved = True
            for key in ("error_code", "error_message", "error_raw_message", *_SUBMITTER_FIELDS):
                record.pop(key, None)
            record.update(status="queued", updated_at=self._clock())
            return record

        self._change(local_id, back)
        _forget_in_flight(local_id)
        return moved

    def record_accepted(self, local_id: str, job: Any) -> dict[str, Any]:
        """Legnext took the submission: the record gets its job id and the job's first snapshot."""
        now = self._clock()

        def accept(record: dict[str, Any]) -> dict[str, Any]:
            if record.get("job_id") and record["job_id"] != job.job_id:
                raise StoreError(f"record {local_id} already belongs to job {record['job_id']}")
            record["job_id"] = job.job_id
            record.pop("submitter_pid", None)
            record.pop("submitting_since", None)
            if record.get("status") in ("unknown", "submitting", "queued"):
                record.pop("note", None)  # "outcome unknown" is answered now
            merged = _merge_snapshot(record, job, now)
            if record.get("status") == "unknown" and merged.get("status") != "unknown":
                merged["updated_at"] = now
            return merged

        try:
            return self._change(local_id, accept)
        finally:
            _forget_in_flight(local_id)

    def record_rejected(self, local_id: str, error: Any) -> dict[str, Any]:
        """Legnext refused the submission (or it never reached Legnext): nothing was created."""
        now = self._clock()

        def reject(record: dict[str, Any]) -> dict[str, Any] | None:
            if record.get("job_id") or status_rank(record.get("status")) >= STATUS_RANK["pending"]:
                return None  # a job exists: a late rejection must not hide it
            record.pop("submitter_pid", None)
            record.pop("submitting_since", None)
            record.update(
                status="rejected",
                error_code=getattr(error, "code", None) or getattr(error, "status", None),
                error_message=_error_text(error),
                error_raw_message=getattr(error, "raw_message", None),
                ended_at=now,
                updated_at=now,
            )
            return record

        try:
            return self._change(local_id, reject)
        finally:
            _forget_in_flight(local_id)

    def record_unknown(self, local_id: str, message: str) -> dict[str, Any]:
        """The POST may or may not have created a job; the record says so and keeps the request."""

        def unknown(record: dict[str, Any]) -> dict[str, Any] | None:
            if status_rank(record.get("status")) >= STATUS_RANK["unknown"]:
                return None
            record.pop("submitter_pid", None)
            record.pop("submitting_since", None)
            record.update(status="unknown", note=message, updated_at=self._clock())
            return record

        try:
            return self._change(local_id, unknown)
        finally:
            _forget_in_flight(local_id)

    def in_flight_submissions(self) -> list[dict[str, Any]]:
        """``submitting`` records whose POST may still be under way (interrupted ones excluded)."""
        now = self._clock()
        return self._read(
            lambda: [
                dict(r)
                for r in self._records().values()
                if r.get("status") == "submitting" and not self._interrupted(r, now)
            ]
        )

    def resolve_interrupted_submissions(self) -> list[dict[str, Any]]:
        """Turn ``submitting`` records whose submitter is gone into ``unknown``; returns them."""
        now = self._clock()
        stale = self._read(
            lambda: [
                local_id
                for local_id, r in self._records().items()
                if r.get("status") == "submitting" and self._interrupted(r, now)
            ]
        )
        resolved = []
        for local_id in stale:

            def interrupt(record: dict[str, Any]) -> dict[str, Any] | None:
                if record.get("status") != "submitting" or not self._interrupted(record, now):
                    return None
                record.pop("submitter_pid", None)
                record.pop("submitting_since", None)
                record.update(status="unknown", note=INTERRUPTED_NOTE, updated_at=now)
                return record

            resolved.append(self._change(local_id, interrupt))
        return resolved

    def _mark_in_flight(self, record: dict[str, Any], now: float) -> None:
        record["submitter_pid"] = os.getpid()
        record["submitting_since"] = now
        with _in_flight_lock:
            _in_flight_here.add(record["local_id"])

    def _interrupted(self, record: Mapping[str, Any], now: float) -> bool:
        since = record.get("submitting_since") or record.get("submitted_at") or 0.0
        if now - since > self._submit_timeout:
            return True
        pid = record.get("submitter_pid")
        if pid is None:
            return False
        if pid == os.getpid():
            with _in_flight_lock:
                return record["local_id"] not in _in_flight_here
        return not _pid_alive(pid)

    # -- job snapshots -----------------------------------------------------------------------------------
    def apply_job(self, job: Any, *, polled_at: float | None = None) -> dict[str, Any] | None:
        """Apply an API snapshot (a poll or a webhook) to the job's record; None for a job not in the log.

        Monotonic: a snapshot of an earlier stage changes nothing, a terminal record keeps its status.
        ``updated_at`` moves only when the job's data changed; ``last_poll_at`` is set to ``polled_at``.
        """
        now = self._clock()

        def change() -> dict[str, Any] | None:
            local_id = self._index().get(job.job_id)
            if local_id is None:
                return None
            current = self._current(local_id)
            updated = _merge_snapshot(dict(current), job, now)
            if polled_at is not None:
                updated["last_poll_at"] = polled_at
            if _lean(updated) == current:
                return dict(current)
            return self._save(updated)

        return self._write(change)

    def track_external(self, job: Any, *, api_mode: str, api_base_url: str) -> dict[str, Any]:
        """Log a job made elsewhere (looked up by id); if it is already in the log, apply the snapshot."""
        now = self._clock()

        def change() -> dict[str, Any]:
            local_id = self._index().get(job.job_id)
            if local_id is not None:
                current = self._current(local_id)
                updated = _merge_snapshot(dict(current), job, now)
                return dict(current) if _lean(updated) == current else self._save(updated)
            base = {
                "local_id": uuid.uuid4().hex,
                "job_id": job.job_id,
                "kind": _KIND_BY_TASK_TYPE.get(job.task_type or "", job.task_type or "text_video"),
                "api_mode": api_mode,
                "api_base_url": api_base_url,
                "callback": job.callback,
                "submitted_at": _epoch(job.created_at) or now,
                "note": "Made outside this dashboard; tracked by its job id.",
            }
            return self._save(_merge_snapshot(base, job, now), new=True)

        return self._write(change)

    def update_tracking(self, local_id: str, **fields: Any) -> dict[str, Any]:
        """Set polling, media and flag fields (:data:`TRACKING_FIELDS`); None removes a field."""
        refused = sorted(set(fields) - TRACKING_FIELDS)
        if refused:
            raise ValueError(f"update_tracking cannot set {', '.join(refused)}")

        def track(record: dict[str, Any]) -> dict[str, Any]:
            record.update(fields)
            return record

        return self._change(local_id, track)

    def update_library(self, local_id: str, **fields: Any) -> dict[str, Any]:
        """Set favourites, tags or hidden (:data:`LIBRARY_FIELDS`); an empty value removes the field."""
        refused = sorted(set(fields) - LIBRARY_FIELDS)
        if refused:
            raise ValueError(f"update_library cannot set {', '.join(refused)}")

        def keep(record: dict[str, Any]) -> dict[str, Any]:
            record.update(fields)
            return record

        return self._change(local_id, keep)

    def mark_lost(self, local_id: str, reason: str) -> dict[str, Any]:
        """Give up on a job Legnext no longer knows; a terminal record is left as it is."""

        def lose(record: dict[str, Any]) -> dict[str, Any] | None:
            if record.get("status") in TERMINAL_STATUSES:
                return None
            now = self._clock()
            record.update(status="lost", note=reason, updated_at=now)
            return record

        return self._change(local_id, lose)

    # -- queries -----------------------------------------------------------------------------------------
    def get(self, local_id: str) -> dict[str, Any] | None:
        return self._read(lambda: _copy(self._records().get(local_id)))

    def by_job_id(self, job_id: str) -> dict[str, Any] | None:
        def find() -> dict[str, Any] | None:
            local_id = self._index().get(job_id)
            return None if local_id is None else _copy(self._records().get(local_id))

        return self._read(find)

    def count(self) -> int:
        return self._read(lambda: len(self._table))

    def active(self) -> list[dict[str, Any]]:
        """Jobs Legnext is working on (pending, staged, processing, with a job id), oldest first."""
        return self._select(
            lambda r: r.get("status") in ACTIVE_STATUSES and bool(r.get("job_id")), newest_first=False
        )

    def queued(self) -> list[dict[str, Any]]:
        """Batch lines waiting for a free slot, in the order they were queued."""
        return self._select(lambda r: r.get("status") == "queued", newest_first=False)

    def children(self, job_id: str) -> list[dict[str, Any]]:
        """Jobs made from this one (animations, extensions, upscales), oldest first."""
        return self._select(lambda r: r.get("parent_job_id") == job_id, newest_first=False)

    def recent(
        self,
        limit: int | None = 200,
        *,
        statuses: Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
        text: str | None = None,
        since: float | datetime | None = None,
        until: float | datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Records newest first (by submission time), filtered; ``limit=None`` for all.

        ``text`` matches the prompt or the job id, ignoring case; ``since``/``until`` bound the
        submission time (epoch seconds or aware datetimes), ``until`` exclusive.
        """
        keep = record_filter(statuses=statuses, kinds=kinds, text=text, since=since, until=until)
        return self._select(keep, newest_first=True, limit=limit)

    def extension_chain(self, job_id: str) -> ExtensionChain:
        """How long the video of ``job_id`` is and how many extensions it has left.

        Walks ``parent_job_id`` through extend records; an upscale's chain is its parent's. A parent
        missing from the log ends the walk (such a chain may be longer than the log knows).
        """

        def walk() -> ExtensionChain:
            index, records = self._index(), self._records()

            def record_of(jid: str | None) -> Mapping[str, Any] | None:
                local_id = index.get(jid) if jid else None
                return records.get(local_id) if local_id else None

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
            seconds = VIDEO_SECONDS + EXTENSION_SECONDS * extensions
            return ExtensionChain(
                extensions=extensions,
                seconds=seconds,
                seconds_left=EXTENSION_SECONDS * (MAX_EXTENSIONS - extensions),
                extensions_left=MAX_EXTENSIONS - extensions,
                job_ids=tuple(ids),
            )

        return self._read(walk)

    def credit_totals(self, records: Iterable[Mapping[str, Any]] | None = None) -> CreditTotals:
        """Sums of points frozen (reserved) and consumed over ``records`` (default: the whole log)."""
        if records is None:
            return self._read(lambda: _credit_totals(self._records().values()))
        return _credit_totals(records)

    def _select(
        self,
        keep: Callable[[Mapping[str, Any]], bool],
        *,
        newest_first: bool,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        # Scans the cached table directly: TinyDB's search() would copy all 10,000 documents each call.
        def select() -> list[dict[str, Any]]:
            matches = [r for r in self._records().values() if keep(r)]
            matches.sort(key=submitted_at, reverse=newest_first)
            if limit is not None:
                matches = matches[:limit]
            return [dict(r) for r in matches]

        return self._read(select)

    def newest_page(
        self, keep: Callable[[Mapping[str, Any]], bool], *, limit: int, before: int | None = None
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Up to ``limit`` matching records, newest first, by their place in the log, and where to go on.

        ``before`` is a position in the log (records keep their place for life; new ones are added at
        the end), so a page stays the same while new jobs arrive. Returns the records (copies) and the
        ``before`` of the next, older page, or None when there is none. Only the records up to the
        last match are looked at: no full scan, no sort, no copy of the log, whatever its size.
        """

        def scan() -> tuple[list[dict[str, Any]], int | None]:
            ids = list(self._records())
            records = self._records()
            position = len(ids) if before is None else min(before, len(ids))
            found: list[dict[str, Any]] = []
            while position > 0:
                position -= 1
                record = records[ids[position]]
                if keep(record):
                    if len(found) == limit:
                        return found, position + 1
                    found.append(dict(record))
            return found, None

        return self._read(scan)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.recent(None))


# ---------------------------------------------------------------------------------------------------
# Record logic (pure)


def record_filter(
    *,
    statuses: Iterable[str] | None = None,
    kinds: Iterable[str] | None = None,
    text: str | None = None,
    since: float | datetime | None = None,
    until: float | datetime | None = None,
) -> Callable[[Mapping[str, Any]], bool]:
    """A predicate for :meth:`JobStore.recent`'s filters (also used by the history table)."""
    wanted_statuses = {_enum_value(s) for s in statuses} if statuses is not None else None
    wanted_kinds = {_enum_value(k) for k in kinds} if kinds is not None else None
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
        return needle in (record.get("prompt") or "").casefold() or needle in (
            record.get("job_id") or ""
        ).casefold()

    return keep


def _copy(record: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if record is None else dict(record)


def submitted_at(record: Mapping[str, Any]) -> float:
    """When the record was submitted (or created at Legnext, for jobs made elsewhere), for sorting."""
    return record.get("submitted_at") or record.get("created_at") or 0.0


def _credit_totals(records: Iterable[Mapping[str, Any]]) -> CreditTotals:
    frozen = consumed = 0
    for record in records:
        frozen += record.get("credits_frozen") or 0
        consumed += record.get("credits_consumed") or 0
    return CreditTotals(frozen, consumed)


def _error_text(error: Any) -> str:
    if isinstance(error, str):
        return error
    return getattr(error, "user_message", None) or getattr(error, "message", None) or str(error)


def _forget_in_flight(local_id: str) -> None:
    with _in_flight_lock:
        _in_flight_here.discard(local_id)


def _merge_snapshot(record: dict[str, Any], job: Any, now: float) -> dict[str, Any]:
    """The record with the job snapshot applied, forward-only; ``record`` itself if nothing applies."""
    current = record.get("status")
    incoming = _enum_value(job.status)
    if current in TERMINAL_STATUSES:
        if incoming != current:
            return record
    elif status_rank(incoming) < status_rank(current):
        return record
    before = _lean(record)
    merged = dict(record)
    merged["status"] = incoming
    if job.progress is not None:
        old = merged.get("progress")
        # Same-stage snapshots can arrive out of order (a webhook overtaking a poll).
        merged["progress"] = job.progress if old is None or incoming != current else max(old, job.progress)
    for field in ("video_urls", "image_url", "image_urls", "seed", "available_actions"):
        value = getattr(job, field, None)
        if not _is_blank(value):
            merged[field] = list(value) if isinstance(value, list) else value
    if job.usage_frozen is not None:
        merged["credits_frozen"] = job.usage_frozen
    if job.usage_consumed is not None:
        merged["credits_consumed"] = job.usage_consumed
    error = job.error
    if error is not None:
        merged["error_code"] = error.code
        merged["error_message"] = error.message
        merged["error_raw_message"] = error.raw_message
    for field in ("created_at", "started_at", "ended_at"):
        stamp = _epoch(getattr(job, field, None))
        if stamp is not None:
            merged[field] = stamp
    if job.logs:
        merged["last_log"] = job.logs[-1]
    elif incoming != current:
        # Legnext empties the logs when a job moves on; "Processing 85%" no longer describes it.
        merged.pop("last_log", None)
    merged = _lean(merged)
    if merged != before:
        merged["updated_at"] = now
    return merged
