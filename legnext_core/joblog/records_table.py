"""A table of job records held as their JSON bytes, parsed when read.

A record parsed into a dict takes about twice the memory of its JSON (2 KB of JSON, 4 KB of dict,
strings, floats and lists), and the log holds every record: at 100,000 jobs the dicts alone were
400 MB of the server's memory. :class:`RecordTable` keeps each record as the bytes the log writes
anyway (a journal line's document, a snapshot's entry) and parses one when it is read; a small
cache keeps the records read most recently parsed, so what the tracker and the pages ask again and
again is not parsed again and again.

It is a read-only :class:`~collections.abc.Mapping` of doc id -> record dict, in the order records
were first added (the log's order), as the dict of dicts it replaces. A record read twice may come
back as two equal dicts, not the same one: a cache that remembers what it built from a record tells
an unchanged record by :meth:`RecordTable.raw`, whose bytes object is replaced (never edited) when
the record changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson

__all__ = ["RecordTable", "decode_record", "encode_record", "release_freed_memory"]

#: How many parsed records are kept (the unfinished jobs and the pages shown fit many times over).
PARSED_KEPT = 1_024


def encode_record(document: Mapping[str, Any]) -> bytes:
    """A record's bytes as the table keeps them and the log writes them."""
    # Copied to their exact size: orjson's own bytes object keeps the buffer it grew while writing,
    # about twice the record (4.1 KB held for 2.0 KB of JSON).
    return bytes(memoryview(orjson.dumps(document)))


def decode_record(raw: bytes) -> dict[str, Any]:
    """A record from its bytes (a new dict, not kept by any table)."""
    document: dict[str, Any] = orjson.loads(raw)
    return document


class RecordTable(Mapping[str, dict[str, Any]]):
    """doc id -> record, held as JSON bytes and parsed on access. Never mutate a record read from it."""

    __slots__ = ("_raw", "_parsed")

    def __init__(self, items: Iterable[tuple[str, bytes]] = ()) -> None:
        self._raw: dict[str, bytes] = dict(items)
        # doc id -> (the bytes parsed, the record they gave), least recently read first.
        self._parsed: OrderedDict[str, tuple[bytes, dict[str, Any]]] = OrderedDict()

    @classmethod
    def of_records(cls, records: Mapping[str, Mapping[str, Any]]) -> RecordTable:
        return cls((doc_id, encode_record(document)) for doc_id, document in records.items())

    # -- reading -----------------------------------------------------------------------------------
    def __getitem__(self, doc_id: str) -> dict[str, Any]:
        return self._parse(doc_id, self._raw[doc_id], keep=True)

    def get(self, doc_id: str, default: Any = None) -> Any:
        raw = self._raw.get(doc_id)
        return default if raw is None else self._parse(doc_id, raw, keep=True)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._raw

    def __len__(self) -> int:
        return len(self._raw)

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __reversed__(self) -> Iterator[str]:
        return reversed(self._raw)

    def values(self) -> Iterator[dict[str, Any]]:  # type: ignore[override]
        """Every record, parsed one at a time (a whole scan does not flush the cache)."""
        return (self._parse(doc_id, raw, keep=False) for doc_id, raw in self._raw.items())

    def items(self) -> Iterator[tuple[str, dict[str, Any]]]:  # type: ignore[override]
        return ((doc_id, self._parse(doc_id, raw, keep=False)) for doc_id, raw in self._raw.items())

    def raw(self, doc_id: str) -> bytes | None:
        """The record's bytes: the same object for as long as the record is unchanged."""
        return self._raw.get(doc_id)

    def raw_items(self) -> list[tuple[str, bytes]]:
        """Every (doc id, bytes), a copy (what a snapshot writes)."""
        return list(self._raw.items())

    def _parse(self, doc_id: str, raw: bytes, *, keep: bool) -> dict[str, Any]:
        kept = self._parsed.get(doc_id)
        if kept is not None and kept[0] is raw:
            if keep:
                self._parsed.move_to_end(doc_id)
            return kept[1]
        document = decode_record(raw)
        if keep:
            self._remember(doc_id, raw, document)
        return document

    def _remember(self, doc_id: str, raw: bytes, document: dict[str, Any]) -> None:
        self._parsed[doc_id] = (raw, document)
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
        self._raw[doc_id] = raw
        if isinstance(document, dict):
            self._remember(doc_id, raw, document)  # the writer's record is likely read next

    def remove(self, doc_id: str) -> None:
        """Drop a record if it is there."""
        self._parsed.pop(doc_id, None)
        self._raw.pop(doc_id, None)


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
