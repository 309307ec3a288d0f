"""A replica's part in the cluster, in a process of its own, for ``test_cluster.py``.

python -m tests.cluster_worker URL lead          # prints "leader <pid>" once elected, then waits
python -m tests.cluster_worker URL notify JOB_ID # relays one webhook hint and exits
"""

from __future__ import annotations

import os
import sys
import threading

import psycopg

from legnext_core.cluster import LeaderElection, ReplicaPresence, notify_webhook


def main(argv: list[str]) -> None:
    url, command, *args = argv
    if command == "lead":
        elected = threading.Event()
        LeaderElection(url, retry_interval=0.2, on_elected=elected.set).start()
        elected.wait()
        print(f"leader {os.getpid()}", flush=True)
        threading.Event().wait()  # until killed
    elif command == "present":
        presence = ReplicaPresence(url).start()
        print(f"replica {presence.replica_id}", flush=True)
        threading.Event().wait()  # until killed
    elif command == "notify":
        with psycopg.connect(url, autocommit=True) as conn:
            notify_webhook(conn, job_id=args[0])
        print("sent", flush=True)
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
