"""What the job store needs from a job log's storage, and the one place that picks the storage.

Two storages keep the log: :class:`~legnext_core.joblog.storage.JournalStorage` (a TinyDB file with a
journal, the default: one process, or several on one machine) and
:class:`~legnext_core.joblog.pg_log.PostgresLog` (a PostgreSQL database every replica shares, chosen by
``LEGNEXT_DATABASE_URL``). :class:`~legnext_core.store.JobStore` applies the same transitions on either
through :class:`LogStorage`, so its rules are written once.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from filelock import FileLock

from legnext_core.joblog.records_table import RecordTable
from legnext_core.joblog.storage import Changes

__all__ = ["LogStorage", "open_log_storage", "spending_guard"]


class LogStorage(Protocol):
    """A job log's storage as the job store uses it. Every call is safe from any thread."""

    @property
    def recovered_from(self) -> Path | None:
        """Where an unreadable log was moved aside, or None."""

    def tables(self) -> dict[str, RecordTable]:
        """The log caught up with every writer: table -> local_id -> record. Never mutate it."""

    def reading(self) -> contextlib.AbstractContextManager[dict[str, RecordTable]]:
        """:meth:`tables`, held still while the caller iterates over it."""

    def writing(self) -> contextlib.AbstractContextManager[None]:
        """Keep every other writer (thread, process, replica) out, with the log caught up. Re-entrant."""

    def commit(self, changes: Mapping[str, Mapping[str, dict[str, Any] | None]]) -> None:
        """Write changed records; only inside :meth:`writing`."""

    def changes_since(self, version: int) -> Changes:
        """The (table, local_id) pairs changed after ``version``; ``ids`` None means read everything."""

    def close(self) -> None: ...


def open_log_storage(database_url: str | None) -> LogStorage | None:
    """The shared PostgreSQL log when ``database_url`` is set; None for the store's own TinyDB file."""
    if not database_url:
        return None
    from legnext_core.joblog.pg_log import PostgresLog  # psycopg is only loaded when it is used

    return PostgresLog(database_url)


_guard_locks: dict[str, threading.Lock] = {}
_guard_locks_lock = threading.Lock()


@contextlib.contextmanager
def spending_guard(storage: Any, lock_path: str | os.PathLike[str]) -> Iterator[None]:
    """Submissions take turns between their spending check and their intent, in every process.

    On PostgreSQL the storage's own guard (an advisory lock every replica shares); on a TinyDB log, a
    thread lock and a lock file beside the log (processes on one machine share the file).
    """
    own = getattr(storage, "spending_guard", None)
    if own is not None:
        with own():
            yield
        return
    key = os.fspath(lock_path)
    with _guard_locks_lock:
        lock = _guard_locks.setdefault(key, threading.Lock())
    with lock, FileLock(key, timeout=60):
        yield
