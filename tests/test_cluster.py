"""One tracker per cluster: leader election and webhook relay on a real PostgreSQL, with real processes."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from legnext_core.cluster import (
    LeaderElection,
    ReplicaPresence,
    WebhookHint,
    WebhookListener,
    notify_webhook,
)
from tests.helpers import eventually

REPO = Path(__file__).resolve().parent.parent


def _cluster_worker(postgres_url: str, role: str) -> subprocess.Popen[str]:
    """``tests.cluster_worker`` in a process of its own: its first line says what it became."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.cluster_worker", postgres_url, role],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _terminate_backends(url: str, query_like: str) -> int:
    """Cut the server side of other connections (as a network failure or an admin would)."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE pid <> pg_backend_pid() AND datname = current_database() AND query LIKE %s",
            [query_like],
        ).fetchall()
    return len(rows)


@pytest.fixture
def elections(postgres_url: str) -> Iterator[Callable[..., LeaderElection]]:
    made: list[LeaderElection] = []

    def make(**options) -> LeaderElection:
        election = LeaderElection(postgres_url, **options)
        made.append(election)
        return election

    yield make
    for election in made:
        election.release()


def test_one_replica_leads_at_a_time(elections: Callable[..., LeaderElection]) -> None:
    first, second = elections(), elections()
    assert first.try_lead()
    assert not second.try_lead()
    assert first.try_lead()  # still ours
    assert (first.is_leader, second.is_leader) == (True, False)
    first.release()
    assert not first.is_leader
    assert second.try_lead()
    assert not first.try_lead()


def test_elections_for_other_purposes_do_not_collide(elections: Callable[..., LeaderElection]) -> None:
    assert elections().try_lead()
    assert elections(key=12345).try_lead()


def test_a_leader_that_loses_its_connection_steps_down(
    elections: Callable[..., LeaderElection], postgres_url: str
) -> None:
    events: list[str] = []
    first = elections(
        retry_interval=0.2,
        on_elected=lambda: events.append("elected"),
        on_deposed=lambda: events.append("deposed"),
    ).start()
    assert eventually(lambda: first.is_leader, 10)
    second = elections(retry_interval=0.2).start()
    time.sleep(0.5)
    assert not second.is_leader

    assert _terminate_backends(postgres_url, "SELECT 1") == 1  # the leader's connection, cut by the server
    # The old leader notices at its next check; the lock is free for whoever tries first.
    assert eventually(lambda: events[:2] == ["elected", "deposed"], 10), events
    assert eventually(lambda: first.is_leader != second.is_leader, 10)


@pytest.mark.slow
def test_killing_the_leaders_process_hands_the_lead_to_another_within_seconds(
    elections: Callable[..., LeaderElection], postgres_url: str
) -> None:
    leader = _cluster_worker(postgres_url, "lead")
    try:
        assert leader.stdout.readline().strip() == f"leader {leader.pid}"
        follower = elections(retry_interval=0.5).start()
        time.sleep(1.5)
        assert not follower.is_leader  # the leader is alive: nobody else leads

        os.kill(leader.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        assert eventually(lambda: follower.is_leader, 10), "nobody took over from the killed leader"
        print(f"takeover after {time.monotonic() - killed_at:.2f} s")
    finally:
        leader.kill()
        leader.wait(timeout=10)


def test_a_webhook_hint_from_another_process_reaches_the_listener(postgres_url: str) -> None:
    hints: queue.Queue[WebhookHint] = queue.Queue()
    listener = WebhookListener(postgres_url, hints.put).start()
    try:
        subprocess.run(
            [sys.executable, "-m", "tests.cluster_worker", postgres_url, "notify", "job-42"],
            cwd=REPO,
            check=True,
            capture_output=True,
            timeout=60,
        )
        assert hints.get(timeout=10) == WebhookHint(job_id="job-42", token=None)
    finally:
        listener.stop()


def test_a_hint_is_sent_only_when_its_transaction_commits(postgres_url: str) -> None:
    hints: queue.Queue[WebhookHint] = queue.Queue()
    listener = WebhookListener(postgres_url, hints.put).start()
    try:
        with psycopg.connect(postgres_url) as conn:
            notify_webhook(conn, token="ab" * 16)
            conn.rollback()
            notify_webhook(conn, job_id="job-7")
            time.sleep(0.5)
            assert hints.empty()
            conn.commit()
        assert hints.get(timeout=10) == WebhookHint(job_id="job-7", token=None)
        assert hints.empty()
        with pytest.raises(ValueError):
            notify_webhook(conn, job_id="")
    finally:
        listener.stop()


def test_the_listener_reconnects_and_says_so(postgres_url: str) -> None:
    hints: queue.Queue[WebhookHint] = queue.Queue()
    reconnected = threading.Event()
    listener = WebhookListener(postgres_url, hints.put, on_reconnect=reconnected.set, retry_interval=0.2)
    listener.start()
    try:
        assert _terminate_backends(postgres_url, "LISTEN%") == 1
        assert reconnected.wait(10)
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            notify_webhook(conn, job_id="job-after")
        assert hints.get(timeout=10).job_id == "job-after"
    finally:
        listener.stop()


@pytest.mark.slow
def test_a_replica_is_seen_alive_until_its_process_dies(postgres_url: str) -> None:
    other = _cluster_worker(postgres_url, "present")
    here = ReplicaPresence(postgres_url).start()
    try:
        word, number = other.stdout.readline().split()
        other_id = int(number)
        assert word == "replica"
        assert other_id != here.replica_id
        assert here.is_alive(other_id)
        assert here.is_alive(here.replica_id)
        assert not here.is_alive(other_id + 1 if other_id + 1 != here.replica_id else other_id + 2)
        with pytest.raises(RuntimeError):  # an id a live replica holds cannot be taken
            ReplicaPresence(postgres_url, replica_id=other_id).start()

        os.kill(other.pid, signal.SIGKILL)
        assert eventually(lambda: not here.is_alive(other_id), 10)
        assert here.is_alive(here.replica_id)
    finally:
        other.kill()
        other.wait(timeout=10)
        here.stop()
