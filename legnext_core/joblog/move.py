"""Move a job log between a TinyDB file and PostgreSQL, checked record for record.

    python -m legnext_core.joblog.move --from data/jobs.json --to postgresql://user@host/db
    python -m legnext_core.joblog.move --from postgresql://user@host/db --to data/jobs.json

The destination must be empty (a file that does not exist yet, or a database whose job table has no
records): a move never merges two logs nor overwrites one. Stop the dashboard first. The copy is written
in one go (one transaction, or one atomic file replace), then read back from the destination and
compared with the source, record by record. It prints the counts and every difference, and exits 0 when
the two logs hold the same records, 1 when they differ, 2 when nothing was copied.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from legnext_core.joblog.storage import JournalStorage

__all__ = ["Comparison", "compare_logs", "main", "move"]

Record = dict[str, Any]

_TABLE = "jobs"  # the TinyDB table of job records, keyed by local_id
_URL_SCHEMES = ("postgresql://", "postgres://")


class MoveRefusedError(Exception):
    """Nothing was copied, and this says why."""


@dataclass
class Comparison:
    """How the destination's records compare with the source's."""

    identical: int = 0
    missing: list[str] = field(default_factory=list)  # in the source, not in the destination
    extra: list[str] = field(default_factory=list)  # in the destination, not in the source
    different: dict[str, list[str]] = field(default_factory=dict)  # local_id -> the differing fields

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.different)


def compare_logs(
    source: Mapping[str, Mapping[str, Any]], copy: Mapping[str, Mapping[str, Any]]
) -> Comparison:
    """Compare two logs given as local_id -> record."""
    result = Comparison()
    for local_id, record in source.items():
        other = copy.get(local_id)
        if other is None:
            result.missing.append(local_id)
        elif other == record:
            result.identical += 1
        else:
            result.different[local_id] = sorted(
                key for key in record.keys() | other.keys() if record.get(key) != other.get(key)
            )
    result.extra = [local_id for local_id in copy if local_id not in source]
    return result


def _is_database(location: str) -> bool:
    return location.startswith(_URL_SCHEMES)


def _shown(location: str) -> str:
    """The location without a password, for printing."""
    if not _is_database(location):
        return location
    parts = urlsplit(location)
    if parts.password is None:
        return location
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def _shown_error(exc: Exception, *locations: str) -> str:
    text = f"{type(exc).__name__}: {exc}"
    for location in locations:
        password = urlsplit(location).password if _is_database(location) else None
        if password:
            text = text.replace(password, "***")
    return text


# -- reading and writing each kind of log -------------------------------------------------------------------


def _journal_of(path: Path) -> Path:
    """The journal beside a log file (see :class:`JournalStorage`): a log may live in it alone."""
    return path.with_name(path.name + ".journal")


def _read_file(path: Path) -> dict[str, Record]:
    if not path.exists() and not _journal_of(path).exists():
        raise MoveRefusedError(f"{path} does not exist")
    storage = JournalStorage(path, background_compaction=False)
    try:
        if storage.recovered:
            # The storage sets a damaged log aside on open (as the dashboard would): never move a part.
            raise MoveRefusedError(f"{path} could not be read; it was set aside as {storage.recovered[-1]}")
        table = (storage.read() or {}).get(_TABLE, {})
    finally:
        storage.close()
    misfiled = [doc_id for doc_id, record in table.items() if record.get("local_id") != doc_id]
    if misfiled:
        raise MoveRefusedError(
            f"{len(misfiled)} record(s) in {path} are not filed under their local_id, e.g. {misfiled[0]!r}"
        )
    return {doc_id: dict(record) for doc_id, record in table.items()}


def _write_file(path: Path, records: Mapping[str, Record]) -> None:
    if any(p.exists() and p.stat().st_size > 0 for p in (path, _journal_of(path))):
        raise MoveRefusedError(f"{path} already exists: a move never overwrites a log")
    # The storage takes the lock file the dashboard's job store takes, so a running dashboard is not raced.
    storage = JournalStorage(path, lock_timeout=10, background_compaction=False)
    try:
        with storage.writing():
            if storage.tables().get(_TABLE):
                raise MoveRefusedError(f"{path} already exists: a move never overwrites a log")
            storage.write({_TABLE: dict(records)})
        storage.compact()  # one self-contained snapshot file, as the dashboard's compaction leaves it
    finally:
        storage.close()


def _read_database(url: str) -> dict[str, Record]:
    from legnext_core.joblog.postgres import PostgresRecordStorage

    with PostgresRecordStorage(url) as storage:
        return {record["local_id"]: record for record in storage.all().records}


def _write_database(url: str, records: Mapping[str, Record]) -> None:
    from legnext_core.joblog.postgres import PostgresRecordStorage, RecordStorageError

    with PostgresRecordStorage(url) as storage:
        if storage.count():
            raise MoveRefusedError(f"{_shown(url)} already holds job records: a move never merges two logs")
        try:
            storage.insert_many(records.values())
        except RecordStorageError as exc:
            raise MoveRefusedError(f"the database refused the records, none were copied: {exc}") from None


def _read(location: str) -> dict[str, Record]:
    return _read_database(location) if _is_database(location) else _read_file(Path(location))


def _write(location: str, records: Mapping[str, Record]) -> None:
    if _is_database(location):
        _write_database(location, records)
    else:
        _write_file(Path(location), records)


def move(source: str, destination: str, *, out: Any = sys.stdout) -> Comparison:
    """Copy the log at ``source`` to the empty ``destination`` and compare the two; the comparison."""
    if _is_database(source) == _is_database(destination):
        raise MoveRefusedError("move from a file to a database or from a database to a file")
    records = _read(source)
    print(f"read {len(records)} records from {_shown(source)}", file=out)
    _write(destination, records)
    print(f"wrote {len(records)} records to {_shown(destination)}", file=out)
    comparison = compare_logs(records, _read(destination))
    print(
        f"checked: {comparison.identical} identical, {len(comparison.missing)} missing, "
        f"{len(comparison.extra)} extra, {len(comparison.different)} different",
        file=out,
    )
    for local_id in comparison.missing:
        print(f"missing from the destination: {local_id}", file=out)
    for local_id in comparison.extra:
        print(f"only in the destination: {local_id}", file=out)
    for local_id, fields in comparison.different.items():
        print(f"different: {local_id}: {', '.join(fields)}", file=out)
    return comparison


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m legnext_core.joblog.move", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--from", dest="source", required=True, help="a job log file, or a postgresql:// URL")
    parser.add_argument("--to", dest="destination", required=True, help="the same, empty")
    args = parser.parse_args(argv)
    try:
        comparison = move(args.source, args.destination)
    except MoveRefusedError as exc:
        print(f"nothing was copied: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # the database unreachable, a file unwritable: say so, without a traceback
        from psycopg import Error as DatabaseError
        from psycopg_pool import PoolTimeout

        if not isinstance(exc, DatabaseError | PoolTimeout | OSError):
            raise
        print(f"nothing was copied: {_shown_error(exc, args.source, args.destination)}", file=sys.stderr)
        return 2
    return 0 if comparison.ok else 1


if __name__ == "__main__":
    sys.exit(main())
