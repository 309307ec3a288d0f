"""The job log's storage: the only code that opens the log's files.

:class:`JournalStorage` is a TinyDB :class:`~tinydb.storages.Storage` that keeps the log as a snapshot
(``jobs.json``, the single-file format the dashboard always used) and a journal beside it
(``jobs.json.journal``) to which a change appends only the records it changed. See ``storage.py``.
"""

from legnext_core.joblog.journal import JournalLine, encode_line, scan_lines
from legnext_core.joblog.records_table import RecordTable
from legnext_core.joblog.storage import (
    SERIALIZER,
    Changes,
    JournalStorage,
    UnreadableLogError,
)

__all__ = [
    "SERIALIZER",
    "Changes",
    "JournalLine",
    "JournalStorage",
    "RecordTable",
    "UnreadableLogError",
    "encode_line",
    "scan_lines",
]
