"""What both job-log storages do alike around their cache of the log: read under one lock, write in
steps that nest.

:class:`~legnext_core.joblog.storage.JournalStorage` (a file) and
:class:`~legnext_core.joblog.pg_log.PostgresLog` (a database) differ in how a write step keeps other
writers out (a lock file; a transaction with an advisory lock), not in how the store enters one.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from legnext_core.joblog.records_table import RecordTable

__all__ = ["CachedLog"]


class CachedLog:
    """Base of a storage that keeps the log in memory, guarded by one re-entrant lock."""

    _lock: threading.RLock
    #: The thread holding ``_lock`` is inside a write step.
    _writing: bool

    def tables(self) -> dict[str, RecordTable]:
        """The log caught up with every writer: table -> local_id -> record. Never mutate it."""
        raise NotImplementedError

    @contextlib.contextmanager
    def reading(self) -> Iterator[dict[str, RecordTable]]:
        """:meth:`tables`, held still: no catch-up adds a record while the caller iterates over it."""
        with self._lock:
            yield self.tables()

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Keep every other writer out, with the log caught up; ``commit`` only inside this.

        Re-entrant: a step begun inside another is part of it (and does not take its locks again).
        """
        with self._lock:
            if self._writing:
                yield
                return
            with self._write_step():
                yield

    def _write_step(self) -> contextlib.AbstractContextManager[None]:
        """The outermost write step: take the storage's own write lock and catch up, then release it."""
        raise NotImplementedError
