"""A TinyDB storage that appends each change to a journal and folds it into a snapshot now and then.

TinyDB's own JSON storage rewrites the whole file on every change, in place: at 100,000 jobs one
change is hundreds of milliseconds of writing and a crash mid-write leaves half a file. This storage
keeps TinyDB's ``Storage`` contract but lays the log out as two files:

* the **snapshot** ``jobs.json``: ``{"_generation": "<hex>", "_journal_seq": N, "jobs": {...}}``, the
  format the log always had (an older single-file log, or one written by plain TinyDB, is a snapshot
  with ``N = 0``; that is the whole migration). It holds the log as of change ``N``.
* the **journal** ``jobs.json.journal``: a header line saying which change it follows, then one
  self-checking line per changed record (see ``journal.py``), numbered 1, 2, 3... across the log's
  life. A change appends its lines and fsyncs once.

**Compaction** folds the journal into a new snapshot once the journal outgrows a share of it. It runs on
a background thread: it copies the table (references, not records: records are never changed in place)
under the locks, writes and fsyncs the new snapshot without them, then, under the locks again, writes
a new journal holding the lines appended meanwhile, and replaces the snapshot, fsyncs the folder,
replaces the journal, fsyncs the folder. A crash at any point leaves a state that reads back whole:
the old journal replayed over the new snapshot gives the same records, because each line is a
record's whole new state and replay skips the lines the snapshot already holds.

**Readers catch up** without the lock: they keep the journal open and read only the bytes past what
they have seen. A journal replaced by a compaction is noticed by its inode (this process still holds
the old file open, so its inode cannot be reused); the old file is read to its end first, then the
new one from the first change not yet seen. A snapshot whose signature changed is checked by its
first bytes: one a compaction wrote from changes already seen needs nothing; anything else (a file
another program wrote) is read again from scratch.

**Writers** hold a thread lock and a ``filelock`` lock file beside the log, catch up, cut off a torn
last line a killed writer left, append, fsync.

**Damage**: a snapshot that cannot be parsed, or a journal damaged anywhere but its last line, is
never overwritten: it is moved aside as ``<name>.corrupt-<UTC time>`` (both files when the snapshot
is bad, as the journal only means something on top of it) and the log starts afresh.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import logging
import os
import re
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from filelock import FileLock, Timeout
from tinydb.storages import Storage

from legnext_core.files import fsync_folder
from legnext_core.joblog.cached import CachedLog
from legnext_core.joblog.journal import (
    SERIALIZER,
    dumps,
    encode_raw_line,
    header_line,
    loads,
    scan_lines,
)
from legnext_core.joblog.records_table import (
    RecordTable,
    SnapshotFile,
    Stamp,
    encode_record,
    located,
    release_freed_memory,
)

__all__ = ["SERIALIZER", "Changes", "JournalStorage", "RecordTable", "UnreadableLogError"]

log = logging.getLogger(__name__)

_GENERATION_KEY = "_generation"
_SEQ_KEY = "_journal_seq"
_HEAD = re.compile(rb'^\{"_generation":"[0-9a-f]{32}","_journal_seq":(\d+)\n?,')
#: The first line of a snapshot this storage wrote: one record per line follows (see ``_snapshot_chunks``).
_LINED_HEAD = re.compile(rb'\{"_generation":"[0-9a-f]{32}","_journal_seq":(\d+)')
_HEAD_BYTES = 96
#: How many changed ids are remembered for :meth:`JournalStorage.changes_since`.
_CHANGELOG_LENGTH = 100_000
#: Records encoded per write call while writing a snapshot (bounds the memory a compaction needs).
_SNAPSHOT_CHUNK = 2_000


class UnreadableLogError(Exception):
    """A file of the log is not one this storage can read (it is moved aside, never overwritten)."""

    def __init__(self, message: str, *, snapshot_bad: bool) -> None:
        super().__init__(message)
        self.snapshot_bad = snapshot_bad


class _Raced(Exception):
    """A compaction replaced the files while they were being read; read them again."""


class _Signature(NamedTuple):
    inode: int
    size: int
    mtime_ns: int


class Changes(NamedTuple):
    """What changed since a version: ``ids`` is None when everything must be read again."""

    version: int
    #: (table, doc id) pairs, each once, in the order they first changed.
    ids: tuple[tuple[str, str], ...] | None


def changes_after(
    changelog: deque[tuple[int, str, str]], version: int, current: int, reset_version: int
) -> Changes:
    """What ``changelog`` (``(version, table, doc id)`` entries, oldest first) says changed after
    ``version``, for a log now at ``current`` that last forgot its changes at ``reset_version``."""
    if version == current:
        return Changes(current, ())
    # Complete only if the changelog reaches back to the version right after ``version``.
    oldest = changelog[0][0] if changelog else current + 1
    if version < reset_version or oldest > version + 1:
        return Changes(current, None)
    # Walked from the newest end: a reader a few changes behind must not pay for the 100,000
    # remembered before them (the tracker asks before every write).
    newer = []
    for entry in reversed(changelog):
        if entry[0] <= version:
            break
        newer.append(entry)
    # In the order they first changed, so records logged together keep their order.
    return Changes(current, tuple(dict.fromkeys((t, d) for _, t, d in reversed(newer))))


def _signature(path: Path) -> _Signature | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return _Signature(st.st_ino, st.st_size, st.st_mtime_ns)


def _utc_stamp(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%SZ")


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector held off while a snapshot is parsed.

    Parsing 100,000 records makes millions of objects, none of them garbage; the collections their
    allocations set off walk them again and again (about 40 % of a cold load). Nothing is lost: the
    collector runs as usual afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


def _read_all(fd: int, start: int = 0) -> bytes:
    size = os.fstat(fd).st_size
    chunks = []
    while start < size:
        chunk = os.pread(fd, size - start, start)
        if not chunk:
            break
        chunks.append(chunk)
        start += len(chunk)
    return b"".join(chunks)


class JournalStorage(CachedLog, Storage):
    """TinyDB storage over a snapshot and a journal; safe for threads and processes.

    Beyond TinyDB's ``read``/``write`` (which copy and diff the whole log, for plain TinyDB use), the
    job store uses the record-level calls: :meth:`tables` (the cached log, never to be mutated),
    :meth:`writing` (the locks, with the log caught up) and :meth:`commit` (append the changed records).

    ``compact_share`` and ``compact_min_bytes``: the journal is folded into the snapshot once it is
    larger than both ``compact_share`` times the snapshot and ``compact_min_bytes``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        lock_timeout: float = 60.0,
        compact_share: float = 0.25,
        compact_min_bytes: int = 1 << 20,
        background_compaction: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.journal_path = self.path.with_name(self.path.name + ".journal")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.compact_share = compact_share
        self.compact_min_bytes = compact_min_bytes
        self.background_compaction = background_compaction
        self._clock = clock
        self._lock = threading.RLock()
        self._file_lock = FileLock(f"{self.path}.lock", timeout=lock_timeout)
        # Held while a compaction has temporary files, so an opening store does not sweep them.
        self._compact_lock = FileLock(f"{self.path}.compact.lock")
        self._compactor: threading.Thread | None = None
        self._writing = False  # the thread holding ``_lock`` is inside ``writing()``
        #: Inside ``writing()`` once caught up: only this writer changes the files until it leaves.
        self._caught_up_for_writing = False
        self._tables: dict[str, RecordTable] | None = None
        self._seq = 0
        self._snapshot_sig: _Signature | None = None
        self._snapshot_lined = True  # laid out one record per line (see ``_snapshot_chunks``)
        self._journal_fd: int | None = None
        self._journal_inode = -1
        self._journal_offset = 0  # the end of the last whole line read (or written)
        self._version = 0
        self._reset_version = 0
        self._changelog: deque[tuple[int, str, str]] = deque(maxlen=_CHANGELOG_LENGTH)
        #: How many times the files were read from scratch.
        self.reloads = 0
        #: How many compactions this storage finished.
        self.compactions = 0
        #: Where damaged files were moved, most recent last.
        self.recovered: list[Path] = []
        with self._lock, self._file_lock:
            self._sweep_temporary_files()
            self._reload_or_recover()

    # -- TinyDB's interface ------------------------------------------------------------------------
    def read(self) -> dict[str, dict[str, Any]] | None:
        """A copy of the whole log (TinyDB changes what it reads in place)."""
        with self._lock:
            tables = self.tables()
            if not tables:
                return None
            return {
                name: {doc_id: dict(doc) for doc_id, doc in table.items()} for name, table in tables.items()
            }

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        """Journal the documents that differ from the log (plain TinyDB use: compares every record)."""
        with self.writing():
            current = self._tables or {}
            changes: dict[str, dict[str, dict[str, Any] | None]] = {}
            for name in set(current) | set(data):
                old: Mapping[str, Any] = current.get(name) or {}
                new = data.get(name, {})
                changed: dict[str, dict[str, Any] | None] = {
                    str(i): dict(doc) for i, doc in new.items() if old.get(str(i)) != doc
                }
                kept = {str(i) for i in new}
                changed.update({i: None for i in old if i not in kept})
                if changed:
                    changes[name] = changed
            self.commit(changes)

    def close(self) -> None:
        compactor = self._compactor
        if compactor is not None:
            compactor.join()
        with self._lock:
            if self._journal_fd is not None:
                os.close(self._journal_fd)
                self._journal_fd = None
            self._tables = None

    # -- record-level use --------------------------------------------------------------------------------
    def tables(self) -> dict[str, RecordTable]:
        """The log caught up with the files: table -> doc id -> record. Never mutate it."""
        with self._lock:
            self._refresh()
            assert self._tables is not None
            return self._tables

    @contextlib.contextmanager
    def _write_step(self) -> Iterator[None]:
        # Taken once per outermost step (the file lock costs ~0.4 ms to take); see CachedLog.writing.
        with self._file_lock:
            self._writing = True
            try:
                self._refresh()
                self._caught_up_for_writing = True
                yield
            finally:
                self._writing = self._caught_up_for_writing = False

    def commit(self, changes: Mapping[str, Mapping[str, dict[str, Any] | None]]) -> None:
        """Append the changed records (None removes one), fsync once, and apply them.

        Must be called inside :meth:`writing`. The records given are kept as they are: never change
        them afterwards. One commit of several records may be only partly there after a crash.
        """
        lines = []
        encoded: list[tuple[str, str, dict[str, Any] | None, bytes | None]] = []
        seq = self._seq
        for table, documents in changes.items():
            for doc_id, document in documents.items():
                seq += 1
                # Encoded once: the journal line and the table in memory hold the same bytes.
                raw = None if document is None else encode_record(document)
                lines.append(encode_raw_line(seq, table, doc_id, raw))
                encoded.append((table, doc_id, document, raw))
        if not lines:
            return
        data = b"".join(lines)
        fd = self._journal_for_append()
        _pwrite_all(fd, data, self._journal_offset)
        os.fsync(fd)
        self._journal_offset += len(data)
        seq = self._seq
        for table, doc_id, document, raw in encoded:
            seq += 1
            self._apply(seq, table, doc_id, document, raw)
        self._maybe_compact()

    def changes_since(self, version: int) -> Changes:
        """The (table, doc id) pairs changed after ``version`` (from an earlier call, or 0)."""
        with self._lock:
            self._refresh()
            return changes_after(self._changelog, version, self._version, self._reset_version)

    @property
    def recovered_from(self) -> Path | None:
        return self.recovered[0] if self.recovered else None

    def file_bytes(self) -> int:
        """The snapshot's and the journal's sizes together."""
        return sum(sig.size for sig in (_signature(self.path), _signature(self.journal_path)) if sig)

    def journal_bytes(self) -> int:
        sig = _signature(self.journal_path)
        return sig.size if sig else 0

    # -- catching up -----------------------------------------------------------------------------------
    def _refresh(self) -> None:
        if self._caught_up_for_writing:
            return  # the writer's own reads: nobody else can have written since it caught up
        if self._tables is None:
            self._reload_or_recover()
            return
        try:
            caught_up = self._catch_up_journal()
        except UnreadableLogError:
            self._reload_or_recover()
            return
        if not caught_up:
            self._reload_or_recover()
            return
        signature = _signature(self.path)
        if signature != self._snapshot_sig:
            head_seq = self._snapshot_head_seq()
            if head_seq is None or head_seq > self._seq:
                self._reload_or_recover()
                return
            self._snapshot_sig = signature  # a compaction of changes already seen

    def _snapshot_head_seq(self) -> int | None:
        try:
            with open(self.path, "rb") as handle:
                head = handle.read(_HEAD_BYTES)
        except FileNotFoundError:
            return None
        match = _HEAD.match(head)
        return int(match.group(1)) if match else None

    def _catch_up_journal(self) -> bool:
        """Read the journal lines not seen yet; False when the cache must be rebuilt from scratch."""
        signature = _signature(self.journal_path)
        if signature is None:
            return self._journal_fd is None
        if self._journal_fd is not None and signature.inode != self._journal_inode:
            # Replaced by a compaction: finish the old file (nobody appends to it any more) first.
            if not self._read_journal_tail():
                return False
            os.close(self._journal_fd)
            self._journal_fd = None
        if self._journal_fd is None and not self._open_journal():
            return False
        return self._read_journal_tail()

    def _open_journal(self) -> bool:
        try:
            fd = os.open(self.journal_path, os.O_RDWR)
        except FileNotFoundError:
            return True
        head = os.pread(fd, 256, 0)
        scanned = scan_lines(head)
        if not scanned.lines or scanned.lines[0].table is not None:
            os.close(fd)
            raise UnreadableLogError(f"{self.journal_path.name} has no header line", snapshot_bad=False)
        base = scanned.lines[0].seq
        if base > self._seq:
            os.close(fd)
            return False  # it follows changes this cache never saw
        self._journal_fd = fd
        self._journal_inode = os.fstat(fd).st_ino
        self._journal_offset = len(header_line(base))
        return True

    def _read_journal_tail(self) -> bool:
        fd = self._journal_fd
        assert fd is not None
        size = os.fstat(fd).st_size
        if size < self._journal_offset:
            return False  # cut below what was read: not our doing
        if size == self._journal_offset:
            return True
        scanned = scan_lines(_read_all(fd, self._journal_offset))
        if scanned.damaged:
            raise UnreadableLogError(f"{self.journal_path.name} is damaged", snapshot_bad=False)
        for line in scanned.lines:
            if line.seq <= self._seq:
                continue
            if line.seq != self._seq + 1 or line.table is None:
                return False
            self._apply(line.seq, line.table, line.doc_id, line.document)
        self._journal_offset += scanned.valid_end
        return True

    def _apply(
        self,
        seq: int,
        table: str,
        doc_id: str | None,
        document: dict[str, Any] | None,
        raw: bytes | None = None,
    ) -> None:
        assert self._tables is not None and doc_id is not None
        if document is None:
            if table in self._tables:
                self._tables[table].remove(doc_id)
        else:
            self._tables.setdefault(table, RecordTable()).put(doc_id, document, raw)
        self._seq = seq
        self._version += 1
        self._changelog.append((self._version, table, doc_id))

    # -- reading from scratch --------------------------------------------------------------------------
    def _reload_or_recover(self) -> None:
        try:
            self._reload()
        except UnreadableLogError:
            with self._file_lock:
                try:
                    self._reload()  # another process may have recovered it already
                except UnreadableLogError as exc:
                    self._move_aside(snapshot_too=exc.snapshot_bad)
                    self._reload()

    def _reload(self) -> None:
        for _ in range(20):
            try:
                tables, seq, snapshot_sig, journal = self._load_files()
            except _Raced:
                continue
            if self._journal_fd is not None:
                os.close(self._journal_fd)
            self._tables = tables
            self._seq = seq
            self._snapshot_sig = snapshot_sig
            self._journal_fd, self._journal_inode, self._journal_offset = journal
            self._version += 1
            self._reset_version = self._version
            self._changelog.clear()
            self.reloads += 1
            del tables
            release_freed_memory()  # the file's bytes, the records parsed on the way, any older table
            return
        raise UnreadableLogError("the log kept changing while it was read", snapshot_bad=False)

    def _load_files(
        self,
    ) -> tuple[dict[str, RecordTable], int, _Signature | None, tuple[int | None, int, int]]:
        tables, seq, snapshot_sig = self._load_snapshot()
        try:
            fd = os.open(self.journal_path, os.O_RDWR)
        except FileNotFoundError:
            return tables, seq, snapshot_sig, (None, -1, 0)
        try:
            scanned = scan_lines(_read_all(fd))
            if not scanned.lines or scanned.lines[0].table is not None:
                raise UnreadableLogError(f"{self.journal_path.name} has no header line", snapshot_bad=False)
            if scanned.damaged:
                raise UnreadableLogError(f"{self.journal_path.name} is damaged", snapshot_bad=False)
            if scanned.lines[0].seq > seq:
                raise _Raced  # a journal newer than the snapshot read: a compaction ran in between
            for line in scanned.lines[1:]:
                if line.seq <= seq:
                    continue
                if line.seq != seq + 1 or line.table is None or line.doc_id is None:
                    raise UnreadableLogError(f"{self.journal_path.name} skips changes", snapshot_bad=False)
                if line.document is None:
                    if line.table in tables:
                        tables[line.table].remove(line.doc_id)
                else:
                    tables.setdefault(line.table, RecordTable()).put(line.doc_id, line.document)
                seq = line.seq
            return tables, seq, snapshot_sig, (fd, os.fstat(fd).st_ino, scanned.valid_end)
        except BaseException:
            os.close(fd)
            raise

    def _load_snapshot(self) -> tuple[dict[str, RecordTable], int, _Signature | None]:
        self._snapshot_lined = True
        try:
            # Kept open: the records stay in this file and are read from it when asked for.
            file = SnapshotFile.open(self.path)
        except FileNotFoundError:
            return {}, 0, None
        st = os.fstat(file.fd)
        raw = _read_all(file.fd)
        signature = _Signature(st.st_ino, st.st_size, st.st_mtime_ns)
        if not raw.strip():
            return {}, 0, signature
        with _collector_paused():
            lined = _read_lined(raw, file)
        self._snapshot_lined = lined is not None
        if lined is not None:
            return lined[0], lined[1], signature
        try:
            with _collector_paused():
                data = loads(raw)
        except ValueError as exc:  # orjson.JSONDecodeError and json's are both ValueErrors
            raise UnreadableLogError(
                f"{self.path.name} is not valid JSON: {exc}", snapshot_bad=True
            ) from None
        if not isinstance(data, dict):
            raise UnreadableLogError(f"{self.path.name} does not hold a JSON object", snapshot_bad=True)
        data.pop(_GENERATION_KEY, None)
        seq = data.pop(_SEQ_KEY, 0)
        if not isinstance(seq, int):
            raise UnreadableLogError(f"{self.path.name} has a bad {_SEQ_KEY}", snapshot_bad=True)
        for name, table in data.items():
            if not isinstance(table, dict) or not all(isinstance(doc, dict) for doc in table.values()):
                raise UnreadableLogError(
                    f"{self.path.name}: table {name!r} is not a set of records", snapshot_bad=True
                )
        return {name: _compacted(table) for name, table in data.items()}, seq, signature

    def _move_aside(self, *, snapshot_too: bool) -> None:
        """Rename the damaged file(s) out of the way (kept for a person to look at). Under the file lock."""
        stamp = _utc_stamp(self._clock())
        for path in ([self.path] if snapshot_too else []) + [self.journal_path]:
            if not path.exists():
                continue
            target = path.with_name(f"{path.name}.corrupt-{stamp}")
            counter = 1
            while target.exists():
                target = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
                counter += 1
            os.replace(path, target)
            self.recovered.append(target)
            log.error("the job log file %s could not be read; it was moved to %s", path.name, target.name)
        fsync_folder(self.path.parent)

    def _sweep_temporary_files(self) -> None:
        # Only a writer holding the file lock, or a compaction holding its lock, has temporary files.
        try:
            self._compact_lock.acquire(timeout=0)
        except Timeout:
            return
        try:
            for stray in self.path.parent.glob(f".{self.path.name}.*.tmp"):
                with contextlib.suppress(FileNotFoundError):
                    stray.unlink()
        finally:
            self._compact_lock.release()

    # -- appending -----------------------------------------------------------------------------------------
    def _journal_for_append(self) -> int:
        """The journal's descriptor, created if need be, with any torn last line cut off."""
        if self._journal_fd is None:
            self._create_journal(self._seq)
        fd = self._journal_fd
        assert fd is not None
        if os.fstat(fd).st_size > self._journal_offset:
            os.ftruncate(fd, self._journal_offset)  # a writer was killed mid-append
        return fd

    def _create_journal(self, base: int, tail: bytes = b"") -> None:
        """Put a new journal (header + ``tail``) in place atomically; the caller holds the file lock."""
        header = header_line(base)
        temporary = self._write_temporary(".journal.", [header, tail])
        os.replace(temporary, self.journal_path)
        fsync_folder(self.path.parent)
        if self._journal_fd is not None:
            os.close(self._journal_fd)
        self._journal_fd = os.open(self.journal_path, os.O_RDWR)
        self._journal_inode = os.fstat(self._journal_fd).st_ino
        self._journal_offset = len(header) + len(tail)

    def _write_temporary(self, infix: str, chunks: Any) -> str:
        fd, temporary = tempfile.mkstemp(
            prefix=f".{self.path.name}{infix}", suffix=".tmp", dir=self.path.parent
        )
        try:
            with os.fdopen(fd, "wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        return temporary

    # -- compaction ------------------------------------------------------------------------------------------
    def needs_compaction(self) -> bool:
        journal = self._journal_offset if self._journal_fd is not None else 0
        snapshot = self._snapshot_sig.size if self._snapshot_sig else 0
        if not self._snapshot_lined:
            # An older snapshot (one line for the whole log) is read as a whole on every open, which
            # takes far more memory: it is rewritten one record per line as soon as the journal is
            # worth folding at all.
            snapshot = 0
        return journal > max(self.compact_min_bytes, self.compact_share * snapshot)

    def _maybe_compact(self) -> None:
        if not self.needs_compaction():
            return
        if not self.background_compaction:
            self.compact()
            return
        if self._compactor is not None and self._compactor.is_alive():
            return
        self._compactor = threading.Thread(
            target=self._compact_quietly, name="joblog-compaction", daemon=True
        )
        self._compactor.start()

    def _compact_quietly(self) -> None:
        try:
            self.compact()
        except Exception:  # the journal keeps every change; the next write tries again
            log.exception("compacting the job log failed")

    def compact(self) -> bool:
        """Fold the journal into a new snapshot; False if another compaction runs or nothing is to fold.

        An older snapshot (one line for the whole log) is rewritten one record per line even with no
        journal to fold.
        """
        try:
            self._compact_lock.acquire(timeout=0)
        except Timeout:
            return False
        snapshot_temporary: str | None = None
        try:
            with self._lock, self._file_lock:
                self._refresh()
                if self._journal_fd is None and self._snapshot_lined:
                    return False  # nothing to fold, nothing to rewrite
                assert self._tables is not None
                # The tables as they are (their stamps, not their records: those are read from the
                # old snapshot or memory while the new one is written, off the locks).
                tables = dict(self._tables)
                captured = {name: table.copy() for name, table in tables.items()}
                seq = self._seq
                offset = self._journal_offset
                inode = self._journal_inode
                snapshot_sig = self._snapshot_sig
            generation = uuid.uuid4().hex
            placed: dict[str, list[tuple[str, Stamp, int]]] = {}
            snapshot_temporary = self._write_temporary(
                ".", _snapshot_chunks(captured, seq, generation, placed)
            )
            del captured
            new_file = SnapshotFile.open(snapshot_temporary)  # the same file once renamed
            with self._lock, self._file_lock:
                self._refresh()
                if self._snapshot_sig != snapshot_sig or self._journal_inode != inode:
                    return False  # another process compacted meanwhile
                tail = b""
                if self._journal_fd is not None:
                    tail = os.pread(self._journal_fd, self._journal_offset - offset, offset)
                os.replace(snapshot_temporary, self.path)
                snapshot_temporary = None
                # The new snapshot must be durable before the journal stops holding its changes.
                fsync_folder(self.path.parent)
                self._snapshot_sig = _signature(self.path)
                self._snapshot_lined = True
                self._create_journal(seq, tail)
                self.compactions += 1
            # Records read from the new snapshot from now on: the old one's space goes back to the
            # disk, and records changed before this compaction leave the memory. Only this process's
            # tables change, so other processes' writers need not wait for it (the file lock is free);
            # a record written meanwhile keeps its bytes, a table read again from scratch is left.
            with self._lock:
                current = self._tables or {}
                for name, table in tables.items():
                    if current.get(name) is table:
                        table.relocate(new_file, placed.get(name, ()))
            release_freed_memory()
            return True
        finally:
            if snapshot_temporary is not None:
                with contextlib.suppress(OSError):
                    os.unlink(snapshot_temporary)
            self._compact_lock.release()


def _snapshot_chunks(
    captured: Mapping[str, RecordTable],
    seq: int,
    generation: str,
    placed: dict[str, list[tuple[str, Stamp, int]]],
) -> Iterator[bytes]:
    """The snapshot as JSON with one record per line, which a load reads one record at a time::

    {"_generation":"<hex>","_journal_seq":N
    ,"jobs":{
    "<doc id>":{...}
    ,"<doc id>":{...}
    }
    }

    ``placed`` is filled, per table, with (doc id, stamp written, the record's place in the file).
    """
    position = 0
    head = b'{"%s":"%s","%s":%d' % (_GENERATION_KEY.encode(), generation.encode(), _SEQ_KEY.encode(), seq)
    position += len(head)
    yield head
    for name, table in captured.items():
        opening = b"\n," + dumps(name) + b":{"
        position += len(opening)
        yield opening
        places = placed.setdefault(name, [])
        records = table.stamped_raw_items()
        first = True
        while chunk := list(itertools.islice(records, _SNAPSHOT_CHUNK)):
            parts: list[bytes] = []
            for doc_id, stamp, raw in chunk:
                prefix = (b"\n" if first else b"\n,") + dumps(doc_id) + b":"
                first = False
                position += len(prefix)
                place = located(position, len(raw))
                if place is not None:
                    places.append((doc_id, stamp, place))
                position += len(raw)
                parts += (prefix, raw)
            yield b"".join(parts)
        yield b"\n}"
        position += 2
    yield b"\n}"


class _NotLined(Exception):
    """The snapshot is not laid out one record per line: it is read as a whole instead."""


def _read_lined(raw: bytes, file: SnapshotFile) -> tuple[dict[str, RecordTable], int] | None:
    """A snapshot written by ``_snapshot_chunks`` (``raw``, read from ``file``), read one record at a
    time; None for any other layout.

    Each record is parsed (so a damaged one is found now, not when it is read) and its place in the
    file kept; the dicts are freed as they go, so the load never holds the log parsed as a whole.
    Anything not as ``_snapshot_chunks`` writes it is left to the whole-file parse, which says what
    is wrong.
    """
    end = raw.find(b"\n")
    head = _LINED_HEAD.fullmatch(raw, 0, end) if end > 0 else None
    if head is None:
        return None
    try:
        return _read_lines(raw, end + 1, file), int(head.group(1))
    except (_NotLined, ValueError):
        return None


def _key_end(raw: bytes, view: memoryview, start: int, stop: int) -> tuple[int, str]:
    """Where the doc id that opens a record's line ends, and the id (an id may hold ``":`` itself)."""
    colon = raw.find(b'":', start, stop) + 1
    while colon > 0:
        try:
            doc_id = loads(view[start:colon])
        except ValueError:  # the ``":`` was inside the id
            doc_id = None
        if isinstance(doc_id, str) and dumps(doc_id) == raw[start:colon]:
            return colon, doc_id
        colon = raw.find(b'":', colon, stop) + 1
    raise _NotLined


def _read_lines(raw: bytes, position: int, file: SnapshotFile) -> dict[str, RecordTable]:
    view = memoryview(raw)
    tables: dict[str, RecordTable] = {}
    table: list[tuple[str, Stamp]] | None = None
    name = ""
    first = True
    while True:
        end = raw.find(b"\n", position)
        stop = len(raw) if end < 0 else end
        if table is None:
            if raw.startswith(b",", position) and raw.endswith(b":{", position, stop):
                name = loads(view[position + 1 : stop - 2])
                if not isinstance(name, str) or name in tables:
                    raise _NotLined
                table, first = [], True
            elif end < 0 and raw[position:stop] == b"}":
                return tables
            else:
                raise _NotLined
        elif raw[position:stop] == b"}":
            tables[name] = RecordTable(table, file)
            table = None
        else:
            start = position if first else position + 1
            if not first and raw[position] != 0x2C:  # ","
                raise _NotLined
            colon, doc_id = _key_end(raw, view, start, stop)
            if not isinstance(loads(view[colon + 1 : stop]), dict):
                raise _NotLined
            place = located(colon + 1, stop - colon - 1)
            table.append((doc_id, raw[colon + 1 : stop] if place is None else place))
            first = False
        if end < 0:
            raise _NotLined
        position = end + 1


def _compacted(table: dict[str, dict[str, Any]]) -> RecordTable:
    """A table parsed as a whole as a :class:`RecordTable` (a snapshot not written one record per line).

    The doc ids are copied: kept, the parsed ones would hold on to the memory of every parsed record
    around them after the records are freed.
    """
    return RecordTable(
        (doc_id.encode().decode(), encode_record(document)) for doc_id, document in table.items()
    )
