"""The journal's line format: one self-checking line per changed record.

A line is ``<length> <crc32 as 8 hex digits> <payload>\\n`` where the payload is the JSON array
``[seq, table, doc_id, document]`` (``document`` null for a removal) and ``length`` counts its bytes.
``seq`` numbers the log's changes 1, 2, 3...; the journal's first line is a header ``[base, null, null,
null]`` saying the journal holds the changes after ``base``. A reader that finds a line cut short or
failing its checksum stops there: a writer killed mid-append leaves exactly such a last line, and a
line being appended right now looks the same to a reader until it is complete.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any, NamedTuple

# orjson (a pinned runtime dependency) parses and encodes several times faster than json; the bytes are
# plain JSON either way.
import orjson

dumps: Callable[[Any], bytes] = orjson.dumps
loads: Callable[[bytes | memoryview], Any] = orjson.loads
SERIALIZER = "orjson"

#: The longest length field a line may have (a record of up to 10**12 bytes).
_MAX_LENGTH_DIGITS = 12
_CRC_DIGITS = 8


class JournalLine(NamedTuple):
    seq: int
    table: str | None
    doc_id: str | None
    document: dict[str, Any] | None


class ScanResult(NamedTuple):
    lines: list[JournalLine]
    #: Bytes from the start of the scanned buffer up to the end of the last whole, valid line.
    valid_end: int
    #: True when bytes after ``valid_end`` hold a line that is whole and valid: the journal is
    #: damaged in the middle, not merely cut short at the end.
    damaged: bool


def encode_line(seq: int, table: str | None, doc_id: str | None, document: Any) -> bytes:
    return encode_raw_line(seq, table, doc_id, None if document is None else dumps(document))


def encode_raw_line(seq: int, table: str | None, doc_id: str | None, document: bytes | None) -> bytes:
    """:func:`encode_line` of a document already encoded (the bytes the log keeps in memory too)."""
    payload = b"[%d,%s,%s,%s]" % (seq, dumps(table), dumps(doc_id), b"null" if document is None else document)
    return b"%d %08x %s\n" % (len(payload), zlib.crc32(payload), payload)


def header_line(base: int) -> bytes:
    return encode_line(base, None, None, None)


def _parse_at(buffer: bytes | memoryview, start: int) -> tuple[JournalLine, int] | None:
    """The line starting at ``start`` and where the next one starts; None if it is cut or bad."""
    view = bytes(buffer[start : start + _MAX_LENGTH_DIGITS + 1])
    space = view.find(b" ")
    if space <= 0 or not view[:space].isdigit():
        return None
    length = int(view[:space])
    crc_start = start + space + 1
    payload_start = crc_start + _CRC_DIGITS + 1
    end = payload_start + length
    if end >= len(buffer):
        return None
    if buffer[payload_start - 1] != 0x20 or buffer[end] != 0x0A:
        return None
    crc_text = bytes(buffer[crc_start : crc_start + _CRC_DIGITS])
    payload = bytes(buffer[payload_start:end])
    try:
        if int(crc_text, 16) != zlib.crc32(payload):
            return None
        seq, table, doc_id, document = loads(payload)
    except ValueError:
        return None
    if not isinstance(seq, int) or (document is not None and not isinstance(document, dict)):
        return None
    return JournalLine(seq, table, doc_id, document), end + 1


def scan_lines(buffer: bytes | memoryview) -> ScanResult:
    """Every whole, valid line from the start of ``buffer``; stops at the first that is not."""
    lines: list[JournalLine] = []
    position = 0
    while position < len(buffer):
        parsed = _parse_at(buffer, position)
        if parsed is None:
            break
        line, position = parsed
        lines.append(line)
    return ScanResult(lines, position, position < len(buffer) and _valid_line_after(buffer, position))


def _valid_line_after(buffer: bytes | memoryview, start: int) -> bool:
    """Whether a whole, valid line starts at some line boundary after ``start`` (a damaged middle)."""
    data = bytes(buffer[start:])
    newline = data.find(b"\n")
    while newline != -1 and newline + 1 < len(data):
        if _parse_at(data, newline + 1) is not None:
            return True
        newline = data.find(b"\n", newline + 1)
    return False
