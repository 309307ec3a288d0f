"""A table of job records held as their JSON bytes, parsed when read; most of them left on disk.

A record parsed into a dict takes about twice the memory of its JSON (2 KB of JSON, 4 KB of dict,
strings, floats and lists), and the log holds every record: at 100,000 jobs the dicts alone were
400 MB of the server's memory, and the records' bytes alone still 200 MB. :class:`RecordTable` keeps
a record where the log already has it:

* a record read from the **snapshot** stays there: the table keeps where its bytes are (an offset
  and a length, one int) and the snapshot open, and reads them with ``pread`` when asked. The
  snapshot is never written in place (a compaction writes a new file and renames it over the old
  one; this table keeps reading the file it opened), so what it points at never moves. The
  operating system's page cache keeps the file's pages the server reads often; the process does
  not hold a copy;
* a record changed since (a journal line, a write of this process) is kept as its bytes, until the
  next compaction writes it into a new snapshot and :meth:`RecordTable.relocate` points at it there.

A record is parsed when it is read; a small cache keeps the records read most recently parsed, so
what the tracker and the pages ask again and again is not read and parsed again and again.

It is a read-only :class:`~collections.abc.Mapping` of doc id -> record dict, in the order records
were first added (the log's order), as the dict of dicts it replaces. A record read twice may come
back as two equal dicts, not the same one: a cache that remembers what it built from a record tells
an unchanged record by :meth:`RecordTable.stamp`, an object replaced (never edited) when the record
changes.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson

__all__ = [
    "RecordTable",
    "SnapshotFile",
    "Stamp",
    "decode_record",
    "encode_record",
    "located",
    "release_freed_memory",
]

#: How many parsed records are kept (the unfinished jobs and the pages shown fit many times over).
PARSED_KEPT = 1_024

#: A record's place in a snapshot is one int: its offset shifted left by this many bits, plus its
#: length (a record longer than 16 MB is kept as bytes).
_LENGTH_BITS = 24
_LENGTH_MASK = (1 << _LENGTH_BITS) - 1
#: How much of the snapshot one read takes when records are read in a row (a scan, a compaction).
_READ_WINDOW = 1 << 20

#: What the table holds for a record: its bytes, or its place in the snapshot (:func:`located`).
Stamp = bytes | int


def encode_record(document: Mapping[str, Any]) -> bytes:
    """A record's bytes as the table keeps them and the log writes them."""
    # Copied to their exact size: orjson's own bytes object keeps the buffer it grew while writing,
    # about twice the record (4.1 KB held for 2.0 KB of JSON).
    return bytes(memoryview(orjson.dumps(document)))


def decode_record(raw: bytes) -> dict[str, Any]:
    """A record from its bytes (a new dict, not kept by any table)."""
    document: dict[str, Any] = orjson.loads(raw)
    return document


def located(offset: int, length: int) -> int | None:
    """The place of a record's bytes in a snapshot as the table keeps it; None if too long for one."""
    return None if length > _LENGTH_MASK else offset << _LENGTH_BITS | length


class SnapshotFile:
    """A snapshot held open to read records from (closed when the last table reading it goes)."""

    __slots__ = ("_fd", "__weakref__")

    def __init__(self, fd: int) -> None:
        self._fd = fd

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> SnapshotFile:
        return cls(os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)))

    @property
    def fd(self) -> int:
        return self._fd

    def read(self, offset: int, length: int) -> bytes:
        """``length`` bytes from ``offset`` (fewer only at the end of the file)."""
        data = os.pread(self._fd, length, offset)
        if len(data) < length:
            parts = [data]
            got = len(data)
            while got < length:
                more = os.pread(self._fd, length - got, offset + got)
                if not more:
                    break
                parts.append(more)
                got += len(more)
            data = b"".join(parts)
        return data

    def __del__(self) -> None:
        with contextlib.suppress(OSError, TypeError):
            os.close(self._fd)


class RecordTable(Mapping[str, dict[str, Any]]):
    """doc id -> record, held as JSON bytes or their place in a snapshot, parsed on access.

    Never mutate a record read from it.
    """

    __slots__ = ("_state", "_parsed")

    def __init__(self, items: Iterable[tuple[str, Stamp]] = (), file: SnapshotFile | None = None) -> None:
        # doc id -> bytes or place, and the snapshot the places are in: one tuple, replaced whole by
        # ``relocate``, so a reader on another thread takes both together.
        self._state: tuple[dict[str, Stamp], SnapshotFile | None] = (dict(items), file)
        # doc id -> (the stamp parsed, the record it gave), least recently read first.
        self._parsed: OrderedDict[str, tuple[Stamp, dict[str, Any]]] = OrderedDict()

    @classmethod
    def of_records(cls, records: Mapping[str, Mapping[str, Any]]) -> RecordTable:
        return cls((doc_id, encode_record(document)) for doc_id, document in records.items())

    def copy(self) -> RecordTable:
        """The table as it is now, unaffected by later changes (records are not copied)."""
        entries, file = self._state
        copied = RecordTable(file=file)
        copied._state = (entries.copy(), file)
        return copied

    # -- reading -----------------------------------------------------------------------------------
    def __getitem__(self, doc_id: str) -> dict[str, Any]:
        entries, file = self._state
        return self._parse(doc_id, entries[doc_id], file, keep=True)

    def get(self, doc_id: str, default: Any = None) -> Any:
        entries, file = self._state
        stamp = entries.get(doc_id)
        return default if stamp is None else self._parse(doc_id, stamp, file, keep=True)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._state[0]

    def __len__(self) -> int:
        return len(self._state[0])

    def __iter__(self) -> Iterator[str]:
        return iter(self._state[0])

    def __reversed__(self) -> Iterator[str]:
        return reversed(self._state[0])

    def values(self) -> Iterator[dict[str, Any]]:  # type: ignore[override]
        """Every record, parsed one at a time (a whole scan does not flush the cache)."""
        return (document for _, document in self.items())

    def items(self) -> Iterator[tuple[str, dict[str, Any]]]:  # type: ignore[override]
        """Every (doc id, record), parsed one at a time, as the table was when called."""
        return ((doc_id, decode_record(raw)) for doc_id, raw in self.raw_items())

    def stamp(self, doc_id: str) -> Stamp | None:
        """What the table holds for a record: the same object for as long as the record is unchanged.

        A cache of what was built from a record keeps it to tell an unchanged record (``is``). A
        compaction gives every record a new one (its place in the new snapshot), once.
        """
        return self._state[0].get(doc_id)

    def raw(self, doc_id: str) -> bytes | None:
        """The record's bytes (read from the snapshot if it is there)."""
        entries, file = self._state
        stamp = entries.get(doc_id)
        return None if stamp is None else _bytes_of(stamp, file)

    def raw_items(self) -> Iterator[tuple[str, bytes]]:
        """Every (doc id, bytes) as the table was when called; the snapshot read a window at a time."""
        return ((doc_id, raw) for doc_id, _, raw in self.stamped_raw_items())

    def stamped_raw_items(self) -> Iterator[tuple[str, Stamp, bytes]]:
        """Every (doc id, stamp, bytes) as the table was when called (what a compaction writes)."""
        entries, file = self._state
        return _read_in_order(list(entries.items()), file)

    @property
    def file(self) -> SnapshotFile | None:
        """The snapshot the table reads records from."""
        return self._state[1]

    def in_memory_count(self) -> int:
        """How many records are held as bytes (changed since the snapshot they were read from)."""
        return sum(1 for stamp in self._state[0].values() if type(stamp) is bytes)

    def _parse(self, doc_id: str, stamp: Stamp, file: SnapshotFile | None, *, keep: bool) -> dict[str, Any]:
        kept = self._parsed.get(doc_id)
        if kept is not None and kept[0] is stamp:
            if keep:
                self._parsed.move_to_end(doc_id)
            return kept[1]
        document = decode_record(_bytes_of(stamp, file))
        if keep:
            self._remember(doc_id, stamp, document)
        return document

    def _remember(self, doc_id: str, stamp: Stamp, document: dict[str, Any]) -> None:
        self._parsed[doc_id] = (stamp, document)
        self._parsed.move_to_end(doc_id)
        if len(self._parsed) > PARSED_KEPT:
            self._parsed.popitem(last=False)

    @property
    def parsed_count(self) -> int:
        """How many parsed records are held (bounded by :data:`PARSED_KEPT`)."""
        return len(self._parsed)

    # -- changing (the storage's own calls) -------------------------------------------------------
    def put(self, doc_id: str, document: Mapping[str, Any], raw: bytes | None = None) -> None:
        """Set a record; ``raw`` is its :func:`encode_record` bytes when already made."""
        raw = encode_record(document) if raw is None else raw
        self._state[0][doc_id] = raw
        if isinstance(document, dict):
            self._remember(doc_id, raw, document)  # the writer's record is likely read next

    def remove(self, doc_id: str) -> None:
        """Drop a record if it is there."""
        self._parsed.pop(doc_id, None)
        self._state[0].pop(doc_id, None)

    def relocate(self, file: SnapshotFile, placed: Iterable[tuple[str, Stamp, int]]) -> bool:
        """Read records from a new snapshot: ``placed`` says where each (doc id, stamp captured) went.

        A record changed since it was captured keeps its bytes. False, with nothing changed, if a
        record would be left pointing into the old snapshot (the table was not the one captured).
        """
        entries, _ = self._state
        moved = entries.copy()
        for doc_id, before, place in placed:
            if moved.get(doc_id) is before:
                moved[doc_id] = place
        if any(type(stamp) is int and entries.get(doc_id) is stamp for doc_id, stamp in moved.items()):
            return False
        parsed = self._parsed
        for doc_id, (stamp, document) in list(parsed.items()):
            new = moved.get(doc_id)
            if new is not stamp and type(new) is int and entries.get(doc_id) is stamp:
                parsed[doc_id] = (new, document)  # the same record, now read from the new file
        self._state = (moved, file)
        return True


def _bytes_of(stamp: Stamp, file: SnapshotFile | None) -> bytes:
    if type(stamp) is bytes:
        return stamp
    assert file is not None and isinstance(stamp, int)
    length = stamp & _LENGTH_MASK
    return file.read(stamp >> _LENGTH_BITS, length)


def _read_in_order(
    entries: list[tuple[str, Stamp]], file: SnapshotFile | None
) -> Iterator[tuple[str, Stamp, bytes]]:
    """(doc id, stamp, bytes) for each entry; records next to each other in the snapshot read together."""
    window = b""
    start = end = 0
    for doc_id, stamp in entries:
        if type(stamp) is bytes:
            yield doc_id, stamp, stamp
            continue
        assert file is not None and isinstance(stamp, int)
        offset, length = stamp >> _LENGTH_BITS, stamp & _LENGTH_MASK
        if offset < start or offset + length > end:
            window = file.read(offset, max(length, _READ_WINDOW))
            start, end = offset, offset + len(window)
        yield doc_id, stamp, window[offset - start : offset - start + length]


def release_freed_memory() -> None:
    """Give the memory a large load freed back to the system (glibc keeps it otherwise).

    A cold load parses the whole log into objects and frees most of them again; the C allocator
    keeps the freed pages for the process, scattered among live ones, so without this the server
    would keep a few hundred MB at 100,000 jobs that it never uses again.
    """
    global _malloc_trim
    if _malloc_trim is None:
        try:
            _malloc_trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim: Any = None
