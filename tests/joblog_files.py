"""Reads a job log's files the way the format is documented, independently of the storage's code.

The tests check what is on disk with this reader, so a bug shared by the storage's writer and reader
cannot hide: snapshot ``jobs.json`` (``{"_generation", "_journal_seq": N, "jobs": {...}}``) plus the
journal ``jobs.json.journal`` (a header line, then ``<length> <crc32 hex> [seq, table, id, doc]``
lines; a cut or failing last line is ignored; lines at or below ``N`` are already in the snapshot).
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any


def journal_lines(path: Path) -> tuple[list[list[Any]], int]:
    """The whole, valid lines of a journal and how many bytes after them are a torn tail."""
    data = path.read_bytes() if path.exists() else b""
    lines = []
    position = 0
    while position < len(data):
        end = data.find(b"\n", position)
        if end == -1:
            break
        length_text, crc_text, payload = data[position:end].split(b" ", 2)
        if int(length_text) != len(payload) or int(crc_text, 16) != zlib.crc32(payload):
            break
        lines.append(json.loads(payload))
        position = end + 1
    return lines, len(data) - position


def read_log(snapshot: Path) -> dict[str, dict[str, Any]]:
    """The ``jobs`` table as the files hold it; raises if either file is not a valid job log."""
    raw = snapshot.read_bytes() if snapshot.exists() else b""
    data = json.loads(raw) if raw.strip() else {}
    seq = data.get("_journal_seq", 0)
    jobs = dict(data.get("jobs", {}))
    lines, _torn = journal_lines(snapshot.with_name(snapshot.name + ".journal"))
    if lines:
        base, table, doc_id, document = lines[0]
        assert table is None and doc_id is None and document is None, "the journal starts with a header"
        assert base <= seq, "the journal follows changes the snapshot holds"
        for line_seq, table, doc_id, document in lines[1:]:
            if line_seq <= seq:
                continue
            assert line_seq == seq + 1, "the journal skips no change"
            seq = line_seq
            if table != "jobs":
                continue
            if document is None:
                jobs.pop(doc_id, None)
            else:
                jobs[doc_id] = document
    return jobs
