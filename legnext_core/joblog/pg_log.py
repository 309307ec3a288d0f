"""The PostgreSQL job log as the job store's storage: the calls :class:`JournalStorage` offers, on a database.

:class:`~legnext_core.store.JobStore` works on a storage through a few calls (see
:class:`legnext_core.joblog.backend.LogStorage`): the log as a cached table, a write step that holds the
log's lock with the cache caught up, a commit of the changed records, and a change feed. The TinyDB
storage holds a lock file for the write step; :class:`PostgresLog` holds a transaction and, in it, the
advisory lock :data:`~legnext_core.joblog.pg_schema.WRITE_LOCK_KEY`. So the store's rules read the same on
both: a transition reads the latest record, every replica's writes included, and writes its result before
anyone else may read-and-write, and the table's trigger refuses a backwards status in the same transaction.
A batch line is claimed by exactly one replica because the claim re-reads the line under that lock.

Why one lock for the log and not a row lock per record: every write already takes the sequence lock to
commit (so the change feed never skips a write, see :mod:`legnext_core.joblog.pg_schema`), so writes are
one at a time in any case; the write lock only moves the start of that turn to before the read, which is
what the store's read-transition-write needs (and what ``link_unknown``'s "no other record has this job"
check needs across records).

**The cache.** Every replica keeps every record in memory, as the TinyDB log does, and catches up with
one indexed query (``seq > last seen``) before it answers: the History table and the store's indexes are
kept current from :meth:`PostgresLog.changes_since`, so a job made in one replica shows in another's
History at its next refresh. A read is one round trip (about 0.1 ms on one machine); a write four (lock,
catch up, write, commit). A write transaction that fails leaves the cache to be read again from scratch,
so nothing uncommitted is ever served.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from legnext_core.joblog.cached import CachedLog
from legnext_core.joblog.pg_schema import SPENDING_LOCK_KEY, WRITE_LOCK_KEY, ensure_schema
from legnext_core.joblog.postgres import CONNECTION_OPTIONS, _configure, _translated_errors
from legnext_core.joblog.records_table import RecordTable
from legnext_core.joblog.storage import Changes, changes_after

__all__ = ["PostgresLog", "TABLE"]

log = logging.getLogger(__name__)

#: The one table name the store uses (the TinyDB log's table); the database has ``legnext_jobs``.
TABLE = "jobs"
#: How many changed ids are remembered for :meth:`PostgresLog.changes_since`.
_CHANGELOG_LENGTH = 100_000

_CATCH_UP = "SELECT seq, record FROM legnext_jobs WHERE seq > %s ORDER BY seq"
_READ_ALL = "SELECT seq, record FROM legnext_jobs ORDER BY position"
_UPSERT = (
    "INSERT INTO legnext_jobs (record) VALUES (%s)"
    " ON CONFLICT (local_id) DO UPDATE SET record = EXCLUDED.record"
)


class PostgresLog(CachedLog):
    """The job log in PostgreSQL, cached in this process. Thread-safe; one per process.

    ``url`` is a libpq URL (``postgresql://user@host:port/database``). Opening it creates or upgrades the
    schema. Holds one connection of its own (every call here takes its turn on a thread lock, as the TinyDB
    storage's calls do) and opens another for :meth:`spending_guard`.
    """

    #: Replicas on other machines write here too (the job store then judges an interrupted submission
    #: by its age, not by a process id).
    shared_by_machines = True

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.RLock()
        self._conn: psycopg.Connection | None = None
        self._writing = False
        self._written = False  # the write step under way has put records in the cache
        self._table = RecordTable()
        self._seq = 0
        self._stale = True  # read everything again at the next refresh
        self._version = 0
        self._reset_version = 0
        self._changelog: deque[tuple[int, str, str]] = deque(maxlen=_CHANGELOG_LENGTH)
        #: How many times the log was read from scratch.
        self.reloads = 0
        with self._lock:
            ensure_schema(self._connection())
            self._refresh()

    # -- what the TinyDB storage offers too ------------------------------------------------------------
    @property
    def recovered_from(self) -> None:
        """A database is never moved aside (the TinyDB storage's unreadable-file recovery)."""
        return None

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                with contextlib.suppress(psycopg.Error):
                    conn.close()

    def tables(self) -> dict[str, RecordTable]:
        """The log caught up with the database: ``{"jobs": local_id -> record}``. Never mutate it."""
        with self._lock:
            self._refresh()
            return {TABLE: self._table}

    @contextlib.contextmanager
    def _write_step(self) -> Iterator[None]:
        # A transaction holding the log's write lock; what it writes is committed when it ends.
        conn = self._begin_write()
        self._written = False
        self._writing = True
        try:
            yield
            self._writing = False
            conn.execute("COMMIT")
        except BaseException:
            self._writing = False
            with contextlib.suppress(psycopg.Error):
                conn.execute("ROLLBACK")
            # What this step put in the cache was not committed: read it all again. (A step that
            # wrote nothing, such as a refused transition, leaves the cache as it is.)
            if self._written or conn.closed:
                self._stale = True
            raise

    def _begin_write(self) -> psycopg.Connection:
        """Open the write step's transaction, take the write lock, catch up; the connection.

        A connection the server dropped meanwhile (a restart, a failover) is replaced once: nothing
        was written on it yet.
        """
        for attempt in range(2):
            conn = self._connection()
            try:
                conn.execute("BEGIN")
                conn.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK_KEY])
                self._read_changes()
                return conn
            except BaseException as exc:
                with contextlib.suppress(psycopg.Error):
                    conn.execute("ROLLBACK")
                if attempt or not (isinstance(exc, psycopg.OperationalError) and conn.closed):
                    raise
                self._conn = None
        raise AssertionError("unreachable")

    def commit(self, changes: Mapping[str, Mapping[str, dict[str, Any] | None]]) -> None:
        """Write the changed records (inside :meth:`writing`); the database's rules apply to each."""
        if not self._writing:
            raise RuntimeError("commit() is only called inside writing()")
        conn = self._conn
        assert conn is not None
        for table, documents in changes.items():
            if table != TABLE:
                raise ValueError(f"the PostgreSQL job log has no table {table!r}")
            for local_id, document in documents.items():
                if document is None:
                    raise ValueError("the job log never removes a record")
                if document.get("local_id") != local_id:
                    raise ValueError(f"record {local_id} is stored under its own local_id")
                self._written = True
                with _translated_errors():
                    conn.execute(_UPSERT, [Jsonb(document)])
                self._note(local_id, document)

    def changes_since(self, version: int) -> Changes:
        """The ``("jobs", local_id)`` pairs changed after ``version`` (from an earlier call, or 0)."""
        with self._lock:
            self._refresh()
            return changes_after(self._changelog, version, self._version, self._reset_version)

    # -- replicas ----------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def spending_guard(self) -> Iterator[None]:
        """Every replica's submissions take turns here: a spending check and its intent are one step.

        A session-level advisory lock on a connection of its own, held while the caller checks the caps
        and records the intent (which commits in its own write transaction), released before the POST.
        """
        with psycopg.connect(self.url, autocommit=True, **CONNECTION_OPTIONS) as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", [SPENDING_LOCK_KEY])
            try:
                yield
            finally:
                with contextlib.suppress(psycopg.Error):
                    conn.execute("SELECT pg_advisory_unlock(%s)", [SPENDING_LOCK_KEY])

    # -- internals ---------------------------------------------------------------------------------------
    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.url, autocommit=True, **CONNECTION_OPTIONS)
            _configure(self._conn)
        return self._conn

    def _refresh(self) -> None:
        """Catch up with the writes committed since the last refresh (all of them after a failure)."""
        if self._writing:
            return  # caught up at the start of the write step, which keeps other writers out
        try:
            self._read_changes()
        except psycopg.OperationalError:
            if self._conn is not None and not self._conn.closed:
                raise
            # The server dropped the connection (a restart, a failover): one new connection, one more try.
            self._conn = None
            self._read_changes()

    def _read_changes(self) -> None:
        conn = self._connection()
        if self._stale:
            rows = conn.execute(_READ_ALL).fetchall()
            self._table = RecordTable.of_records({record["local_id"]: record for _, record in rows})
            self._seq = max((seq for seq, _ in rows), default=0)
            self._stale = False
            self._version += 1
            self._reset_version = self._version
            self._changelog.clear()
            self.reloads += 1
            return
        rows = conn.execute(_CATCH_UP, [self._seq]).fetchall()
        for seq, record in rows:
            local_id = record["local_id"]
            if self._table.get(local_id) != record:  # this process's own writes come back unchanged
                self._note(local_id, record)
            self._seq = seq

    def _note(self, local_id: str, record: dict[str, Any]) -> None:
        self._table.put(local_id, record)
        self._version += 1
        self._changelog.append((self._version, TABLE, local_id))
