"""Job records in PostgreSQL, shared by every replica of the dashboard.

:class:`PostgresRecordStorage` keeps record dicts (the on-disk keys of the design notes) and offers what a
job store needs to apply transitions safely when several processes on several machines write at once:

* :meth:`~PostgresRecordStorage.insert` a new record (an intent is committed before its POST is sent);
* :meth:`~PostgresRecordStorage.change` one record in a transaction: the row is locked
  (``SELECT ... FOR UPDATE``), a pure function turns the current record into the new one (or None for
  no change), and the result is written in the same transaction. Two replicas changing one job take
  turns, and each sees the other's result;
* :meth:`~PostgresRecordStorage.claim_queued`: a batch line moves ``queued`` -> ``submitting`` in one
  conditional ``UPDATE``, so exactly one replica gets to send it;
* reads: one record by ``local_id``, ``job_id`` or ``callback_token``; all records; the records changed
  since a sequence number (:meth:`~PostgresRecordStorage.changes_since`), which is how a replica keeps
  its cached view current without re-reading the log.

A status never moves backwards: transitions already refuse to, and the table's trigger refuses any
write that would (see :mod:`legnext_core.joblog.pg_schema`); such a write raises
:class:`StatusRegressionError` and changes nothing. Connections come from a small pool, each with TCP
keepalives so a vanished server is noticed; JSON is encoded and parsed with orjson.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NamedTuple

import orjson
import psycopg
from psycopg import errors as pg_errors
from psycopg.types.json import Jsonb, set_json_dumps, set_json_loads
from psycopg_pool import ConnectionPool

from legnext_core.joblog.pg_schema import (
    FORWARD_ONLY_CONSTRAINT,
    IMMUTABLE_IDS_CONSTRAINT,
    KNOWN_STATUS_CONSTRAINT,
    ensure_schema,
)

__all__ = [
    "first_value",
    "CONNECTION_KEEPALIVES",
    "CONNECTION_OPTIONS",
    "Changes",
    "DuplicateRecordError",
    "InvalidRecordError",
    "PostgresRecordStorage",
    "RecordStorageError",
    "StatusRegressionError",
    "UnknownRecordError",
]

Record = dict[str, Any]

#: libpq settings for every connection: an idle connection to a dead server or network is noticed within
#: ~11 s (keepalives), a request waiting for an answer within 10 s (tcp_user_timeout).
CONNECTION_KEEPALIVES: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10000,
    "connect_timeout": 10,
}
_SESSION_OPTIONS = (
    # The server notices a vanished client too (a killed replica's host), and frees its locks; a statement
    # stuck behind a lock is cut off rather than holding a page (or the tracker) forever.
    "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3"
    " -c statement_timeout=30000 -c lock_timeout=20000 -c idle_in_transaction_session_timeout=60000"
)
#: Everything a job log connection is opened with (besides autocommit, which each use decides).
CONNECTION_OPTIONS: dict[str, Any] = {**CONNECTION_KEEPALIVES, "options": _SESSION_OPTIONS}


class RecordStorageError(Exception):
    """The job log database cannot do what was asked."""


class UnknownRecordError(RecordStorageError, KeyError):
    """No record has this ``local_id``."""


class DuplicateRecordError(RecordStorageError):
    """A record with this ``local_id``, ``job_id`` or ``callback_token`` is already in the log."""


class InvalidRecordError(RecordStorageError, ValueError):
    """The record lacks what every record has (a ``local_id``, a known ``status``)."""


class StatusRegressionError(RecordStorageError):
    """The write would move a status backwards (or change an id); the database refused it."""


class Changes(NamedTuple):
    """Records written after a sequence number, in the order they were written."""

    records: list[Record]
    #: Pass this to the next :meth:`PostgresRecordStorage.changes_since`.
    last_seq: int


_LOCK_BY_LOCAL_ID = "SELECT local_id, record FROM legnext_jobs WHERE local_id = %s FOR UPDATE"
_LOCK_BY_JOB_ID = "SELECT local_id, record FROM legnext_jobs WHERE job_id = %s FOR UPDATE"


def _configure(conn: psycopg.Connection) -> None:
    set_json_dumps(jsonb_dumps, conn)
    set_json_loads(orjson.loads, conn)


def jsonb_dumps(value: Any) -> bytes:
    """JSON for a ``jsonb`` column, which cannot hold U+0000 in a string: a NUL becomes U+FFFD.

    The dashboard never lets a person type one (:func:`legnext_core.models.control_character_problem`);
    this keeps a write from failing over one in a field Legnext sent.
    """
    data = orjson.dumps(value)
    if b"\\u0000" in data:  # also matched by an escaped backslash before "u0000": then nothing changes
        data = orjson.dumps(_without_nul(value))
    return data


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nul(item) for item in value]
    return value


def first_value(cursor: psycopg.Cursor[Any]) -> Any:
    """The first column of the one row an aggregate, a lock function or ``RETURNING`` always yields."""
    row = cursor.fetchone()
    if row is None:
        raise RuntimeError("PostgreSQL answered with no row where one always comes")
    return row[0]


@contextmanager
def _translated_errors() -> Iterator[None]:
    try:
        yield
    except pg_errors.CheckViolation as exc:
        if exc.diag.constraint_name in (FORWARD_ONLY_CONSTRAINT, IMMUTABLE_IDS_CONSTRAINT):
            raise StatusRegressionError(exc.diag.message_primary or str(exc)) from None
        if exc.diag.constraint_name == KNOWN_STATUS_CONSTRAINT:
            raise InvalidRecordError(exc.diag.message_primary or str(exc)) from None
        raise
    except pg_errors.NotNullViolation as exc:
        raise InvalidRecordError(f"a job record needs a {exc.diag.column_name}") from None
    except pg_errors.UniqueViolation as exc:
        raise DuplicateRecordError(exc.diag.message_detail or str(exc)) from None


class PostgresRecordStorage:
    """Job records in one PostgreSQL database. Thread-safe; one instance per process.

    Opening it creates or upgrades the schema. Records go in and come out as plain dicts; what comes
    out is a fresh copy the caller may keep.
    """

    def __init__(self, url: str, *, min_connections: int = 1, max_connections: int = 4) -> None:
        self.url = url
        # One plain connection first: an unreachable server fails here at once with libpq's own
        # reason, where a pool would keep retrying until its timeout.
        with psycopg.connect(url, **CONNECTION_OPTIONS) as conn:
            self.schema_version = ensure_schema(conn)
        self._pool = ConnectionPool(
            url,
            min_size=min_connections,
            max_size=max_connections,
            kwargs=CONNECTION_OPTIONS,
            configure=_configure,
            # A connection the server dropped (a restart, a failover) is replaced, not handed out.
            check=ConnectionPool.check_connection,
            open=False,
            name="legnext-joblog",
        )
        self._pool.open(wait=True, timeout=30)

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> PostgresRecordStorage:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- writes ------------------------------------------------------------------------------------------
    def insert(self, record: Mapping[str, Any]) -> Record:
        """Add a new record; :class:`DuplicateRecordError` if its ``local_id`` or ``job_id`` is taken."""
        with self._pool.connection() as conn, _translated_errors():
            # The trigger fills every other column from the record.
            return first_value(
                conn.execute(
                    "INSERT INTO legnext_jobs (record) VALUES (%s) RETURNING record", [Jsonb(dict(record))]
                )
            )

    def insert_many(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Add records in one transaction (all or none); how many. For moving a whole log in."""
        rows = [(Jsonb(dict(r)),) for r in records]
        with self._pool.connection() as conn, _translated_errors(), conn.cursor() as cursor:
            cursor.executemany("INSERT INTO legnext_jobs (record) VALUES (%s)", rows)
        return len(rows)

    def change(self, local_id: str, transform: Callable[[Record], Record | None]) -> Record:
        """Apply ``transform`` to the current record under its row lock; the record as stored after.

        ``transform`` gets a copy of the record and returns the new record, or None to leave it as it
        is (nothing is written then). It runs inside the transaction: keep it pure and quick, and do no
        I/O in it. :class:`UnknownRecordError` if there is no such record.
        """
        return self._change(_LOCK_BY_LOCAL_ID, local_id, transform, missing_ok=False)  # type: ignore[return-value]

    def change_by_job_id(self, job_id: str, transform: Callable[[Record], Record | None]) -> Record | None:
        """Like :meth:`change`, for the record of Legnext's ``job_id``; None if no record has it."""
        return self._change(_LOCK_BY_JOB_ID, job_id, transform, missing_ok=True)

    def claim_queued(self, local_id: str, fields: Mapping[str, Any]) -> Record | None:
        """Move a ``queued`` line to ``submitting`` (with ``fields`` merged in); None if it was not queued.

        One conditional ``UPDATE``: of any number of replicas claiming the same line at once, exactly
        one gets the record back, and only that one may send it.
        """
        changes = {**fields, "status": "submitting"}
        with self._pool.connection() as conn, _translated_errors():
            row = conn.execute(
                "UPDATE legnext_jobs SET record = record || %s"
                " WHERE local_id = %s AND status = 'queued' RETURNING record",
                [Jsonb(changes), local_id],
            ).fetchone()
        return None if row is None else row[0]

    # -- reads -------------------------------------------------------------------------------------------
    def get(self, local_id: str) -> Record | None:
        return self._one("SELECT record FROM legnext_jobs WHERE local_id = %s", local_id)

    def by_job_id(self, job_id: str) -> Record | None:
        return self._one("SELECT record FROM legnext_jobs WHERE job_id = %s", job_id)

    def by_callback_token(self, token: str) -> Record | None:
        return self._one("SELECT record FROM legnext_jobs WHERE callback_token = %s", token)

    def count(self) -> int:
        with self._pool.connection() as conn:
            return first_value(conn.execute("SELECT count(*) FROM legnext_jobs"))

    def all(self) -> Changes:
        """Every record (in write order) and the sequence number to ask for changes after."""
        return self.changes_since(0)

    def changes_since(self, seq: int) -> Changes:
        """Records written (added or changed) after ``seq``, oldest write first.

        Each record appears once, as it is now. Start from 0 (everything) and pass ``last_seq`` on:
        no write is ever skipped, because sequence numbers become visible in the order they were drawn.
        """
        with self._pool.connection() as conn, conn.cursor() as cursor:
            cursor.execute("SELECT seq, record FROM legnext_jobs WHERE seq > %s ORDER BY seq", [seq])
            rows = cursor.fetchall()
        return Changes([record for _, record in rows], rows[-1][0] if rows else seq)

    def last_seq(self) -> int:
        """The sequence number of the latest committed write (0 for an empty log)."""
        with self._pool.connection() as conn:
            return first_value(conn.execute("SELECT coalesce(max(seq), 0) FROM legnext_jobs"))

    # -- internals ---------------------------------------------------------------------------------------
    def _one(self, query: str, value: str) -> Record | None:
        with self._pool.connection() as conn:
            row = conn.execute(query, [value]).fetchone()
        return None if row is None else row[0]

    def _change(
        self,
        lock_query: str,
        value: str,
        transform: Callable[[Record], Record | None],
        *,
        missing_ok: bool,
    ) -> Record | None:
        with self._pool.connection() as conn, _translated_errors(), conn.transaction():
            row = conn.execute(lock_query, [value]).fetchone()
            if row is None:
                if missing_ok:
                    return None
                raise UnknownRecordError(value)
            local_id, current = row
            updated = transform(_copy(current))
            if updated is None or updated == current:
                return current
            if updated.get("local_id") != local_id:
                raise StatusRegressionError(f"record {local_id} cannot change its local_id")
            return first_value(
                conn.execute(
                    "UPDATE legnext_jobs SET record = %s WHERE local_id = %s RETURNING record",
                    [Jsonb(updated), local_id],
                )
            )


def _copy(record: Record) -> Record:
    # A deep copy, so a transform that edits a list in place cannot change what ``current`` compares to.
    return orjson.loads(orjson.dumps(record))
