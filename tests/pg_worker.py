"""A separate process that races others on one PostgreSQL job log, for the contract tests.

    python -m tests.pg_worker URL START_AT COMMAND [ARGS...]

Every worker sleeps until the wall-clock time ``START_AT`` so workers started one after the other
race for real, then runs one command and prints its result as one JSON line:

* ``claim ID...``: claims each queued line; prints the ids this process won.
* ``forward ID...``: moves each record pending -> processing -> completed, forward-only.
* ``backwards DONE_FILE ID...``: keeps writing ``processing`` over each record (a stale snapshot
  applied blindly) until ``DONE_FILE`` exists, then once more over all; prints how many writes the
  database refused in that last pass and in all.
* ``churn NAME N``: adds records ``NAME-0`` .. ``NAME-(N-1)``, changing each twice right after.
* ``migrate``: opens the storage (which creates or upgrades the schema); prints the version.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from legnext_core.joblog.postgres import PostgresRecordStorage, StatusRegressionError
from legnext_core.records import STATUS_RANK


def _forward(storage: PostgresRecordStorage, ids: list[str]) -> dict[str, int]:
    """A correct tracker: each step is a forward-only transition (no change once the job is past it)."""
    for local_id in ids:
        for status in ("pending", "processing", "completed"):

            def step(record: dict, status: str = status) -> dict | None:
                if STATUS_RANK[record["status"]] >= STATUS_RANK[status]:
                    return None
                return {**record, "status": status, "job_id": f"job-{record['local_id']}"}

            storage.change(local_id, step)
    return {"done": len(ids)}


def _backwards(storage: PostgresRecordStorage, done_file: Path, ids: list[str]) -> dict[str, int]:
    refused_total = 0

    def one_pass() -> int:
        refused = 0
        for local_id in ids:
            try:
                storage.change(local_id, lambda r: {**r, "status": "processing", "progress": 50})
            except StatusRegressionError:
                refused += 1
        return refused

    while not done_file.exists():
        refused_total += one_pass()
    last = one_pass()
    return {"refused_last_pass": last, "refused_total": refused_total + last}


def main(argv: list[str]) -> None:
    url, start_at, command, *args = argv
    time.sleep(max(0.0, float(start_at) - time.time()))
    storage = PostgresRecordStorage(url, max_connections=1)
    try:
        if command == "claim":
            won = [i for i in args if storage.claim_queued(i, {"submitter_pid": os.getpid()}) is not None]
            result: dict[str, object] = {"won": won}
        elif command == "forward":
            result = _forward(storage, args)
        elif command == "backwards":
            result = _backwards(storage, Path(args[0]), args[1:])
        elif command == "churn":
            name, count = args[0], int(args[1])
            for number in range(count):
                local_id = f"{name}-{number}"
                storage.insert({"local_id": local_id, "status": "submitting", "poll_count": 0})
                for _ in range(2):
                    storage.change(local_id, lambda r: {**r, "poll_count": r["poll_count"] + 1})
            result = {"records": count}
        elif command == "migrate":
            result = {"version": storage.schema_version}
        else:
            raise SystemExit(f"unknown command {command!r}")
    finally:
        storage.close()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
