"""A process that writes to a job log and acknowledges each write once the store has returned.

The crash and concurrency harnesses in ``test_store_crash.py`` run it (forked, or as
``python -m tests.store_writer LOG NAME COUNT [COMPACT_AT_BYTES]``) and compare what it acknowledged
with what the log holds.
Each acknowledgement is one line written to a file descriptor after the store call returned:

* ``add <local_id>``: a new intent was committed;
* ``poll <local_id> <n>``: the record's ``poll_count`` was committed as ``n``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from legnext_core.models import JobKind, JobRequest
from legnext_core.store import JobStore

PROMPT = "A lighthouse on a cliff at dusk, waves rolling in, slow dolly shot, volumetric light " * 2


def write_forever(
    log_path: Path,
    ack_fd: int,
    name: str,
    count: int,
    updates_per_record: int = 2,
    compact_min_bytes: int = 1 << 20,
) -> None:
    """Add ``count`` intents, updating each a few times, acknowledging every committed write.

    A small ``compact_min_bytes`` makes the writer fold its journal into the snapshot often, so a
    kill lands inside compactions as well as appends.
    """
    store = JobStore(log_path, compact_share=0.02, compact_min_bytes=compact_min_bytes)
    for number in range(count):
        request = JobRequest(kind=JobKind.TEXT_VIDEO, prompt=f"{name} {number}: {PROMPT}")
        record = store.add_intent(
            request, api_mode="sandbox", api_base_url="http://127.0.0.1:1/api", estimated_points=480
        )
        os.write(ack_fd, f"add {record.local_id}\n".encode())
        for poll in range(1, updates_per_record + 1):
            store.update_tracking(record.local_id, poll_count=poll)
            os.write(ack_fd, f"poll {record.local_id} {poll}\n".encode())
    store.close()


def parse_acks(text: str) -> tuple[set[str], dict[str, int]]:
    """Added local ids and the highest acknowledged poll count per record; a cut last line is ignored."""
    added: set[str] = set()
    polls: dict[str, int] = {}
    for line in text.splitlines(keepends=True):
        if not line.endswith("\n"):
            break  # killed while writing the acknowledgement: not acknowledged
        parts = line.split()
        if parts[0] == "add":
            added.add(parts[1])
        elif parts[0] == "poll":
            polls[parts[1]] = max(polls.get(parts[1], 0), int(parts[2]))
    return added, polls


if __name__ == "__main__":
    compact_at = int(sys.argv[4]) if len(sys.argv) > 4 else 1 << 20
    log_path, name, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    write_forever(log_path, sys.stdout.fileno(), name, count, compact_min_bytes=compact_at)
