"""Replicas sharing one PostgreSQL job log: which one tracks, and how webhooks reach it.

Only one replica may poll Legnext, or the API requests would grow with the number of replicas. We do
not build our own consensus: PostgreSQL's session-level advisory locks already give it.

* :class:`LeaderElection`: each replica keeps one dedicated connection and tries
  ``pg_try_advisory_lock`` on it every second or so. The one that holds the lock is the tracker. The
  lock belongs to the connection, so when the tracker's process dies (even by ``kill -9``) its
  connection closes, PostgreSQL frees the lock and another replica takes it at its next try. A machine
  that vanishes without closing its socket is noticed by TCP keepalives on both ends within ~15 s.
  The leader checks its own connection at every tick and steps down (``on_deposed``) as soon as it is
  lost, since by then another replica may hold the lock.
* :func:`notify_webhook` / :class:`WebhookListener`: a webhook may arrive at any replica (the load
  balancer picks one); that replica records it and sends a ``NOTIFY`` with the job id or callback
  token; the tracker's replica ``LISTEN``s and wakes its tracker for that job. A notification sent while
  a listener was reconnecting is lost, so the listener calls ``on_reconnect`` after every reconnection
  for the tracker to re-read the log.
* :class:`ReplicaPresence`: each replica holds an advisory lock named by its replica id, so any replica
  can tell whether the one that began a submission is still alive (a process id says that only on its
  own machine).

No streamlit here: the app wires these to its tracker.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import threading
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

import psycopg

from legnext_core.joblog.postgres import CONNECTION_KEEPALIVES, first_value

__all__ = [
    "PRESENCE_LOCK_CLASS",
    "ReplicaPresence",
    "TRACKER_LOCK_KEY",
    "WEBHOOK_CHANNEL",
    "LeaderElection",
    "WebhookHint",
    "WebhookListener",
    "notify_webhook",
]

log = logging.getLogger(__name__)

#: The advisory lock whose holder is the cluster's tracker ("LEGN" in the high half, like the schema's).
TRACKER_LOCK_KEY = 0x4C45474E_00000010
#: The first half of the two-number advisory locks by which replicas show they are alive ("LEGN").
PRESENCE_LOCK_CLASS = 0x4C45474E
#: The notification channel webhooks are relayed on.
WEBHOOK_CHANNEL = "legnext_webhook"

# The server notices a vanished replica (its machine gone, no FIN sent) and frees its lock.
_SERVER_KEEPALIVES = "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3"


def _connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=True, options=_SERVER_KEEPALIVES, **CONNECTION_KEEPALIVES)


def _close_quietly(conn: psycopg.Connection | None) -> None:
    if conn is not None:
        # A broken connection has nothing left to say.
        with contextlib.suppress(Exception):
            conn.close()


class _DatabaseThread:
    """A daemon thread that works against the job log database at ``url`` until stopped, and retries
    every ``retry_interval`` seconds after a failure."""

    #: The thread's name, as debuggers and ``threading.enumerate()`` show it.
    _thread_name: ClassVar[str]

    def __init__(self, url: str, retry_interval: float) -> None:
        self.url = url
        self.retry_interval = retry_interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _start_thread(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self._thread_name, daemon=True)
            self._thread.start()

    def _stop_thread(self) -> None:
        """Ask the thread to end and wait for it (unless this is that thread: a callback stopping it)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        raise NotImplementedError


class LeaderElection(_DatabaseThread):
    """One replica's part in electing the cluster's tracker. Thread-safe.

    Call :meth:`try_lead` yourself, or :meth:`start` a thread that tries every ``retry_interval``
    seconds while not leading and checks the connection as often while leading. ``on_elected`` and
    ``on_deposed`` are called from that thread (or from the caller of :meth:`try_lead`).
    """

    _thread_name = "legnext-election"

    def __init__(
        self,
        url: str,
        *,
        key: int = TRACKER_LOCK_KEY,
        retry_interval: float = 1.0,
        on_elected: Callable[[], None] | None = None,
        on_deposed: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(url, retry_interval)
        self.key = key
        self._on_elected = on_elected
        self._on_deposed = on_deposed
        self._lock = threading.Lock()
        self._conn: psycopg.Connection | None = None
        self._leader = False

    @property
    def is_leader(self) -> bool:
        return self._leader

    def try_lead(self) -> bool:
        """Take the lead if nobody holds it; while leading, check the lead is still ours. Is it ours?"""
        changed = None
        with self._lock:
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = _connect(self.url)
                if self._leader:
                    self._conn.execute("SELECT 1")
                else:
                    if first_value(self._conn.execute("SELECT pg_try_advisory_lock(%s)", [self.key])):
                        self._leader = True
                        changed = "elected"
            except psycopg.Error as exc:
                # The lock went with the connection: another replica may hold it already.
                log.warning("tracker election: connection to the job log database lost: %s", exc)
                _close_quietly(self._conn)
                self._conn = None
                if self._leader:
                    self._leader = False
                    changed = "deposed"
            leading = self._leader
        self._announce(changed)
        return leading

    def release(self) -> None:
        """Stop trying, and give up the lead if we hold it (another replica takes it at its next try)."""
        self._stop_thread()
        changed = None
        with self._lock:
            if self._conn is not None:
                if self._leader:
                    # Closing the connection below frees the lock all the same.
                    with contextlib.suppress(psycopg.Error):
                        self._conn.execute("SELECT pg_advisory_unlock(%s)", [self.key])
                _close_quietly(self._conn)
                self._conn = None
            if self._leader:
                self._leader = False
                changed = "deposed"
        self._announce(changed)

    def start(self) -> LeaderElection:
        self._start_thread()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.try_lead()
            except Exception:  # a callback's failure must not end the election
                log.exception("tracker election: a callback failed")
            self._stop.wait(self.retry_interval)

    def _announce(self, changed: str | None) -> None:
        callback = {"elected": self._on_elected, "deposed": self._on_deposed}.get(changed or "")
        if callback is not None:
            callback()


class ReplicaPresence:
    """This process, seen as alive by every replica for as long as its connection to the database lives.

    A ``submitting`` record must become "outcome unknown" when the process sending its POST is gone.
    A process id says that only on its own machine; with replicas, a record can carry
    :attr:`replica_id` instead, and any replica asks :meth:`is_alive` about it. Each replica holds a
    session-level advisory lock ``(PRESENCE_LOCK_CLASS, replica_id)``; PostgreSQL frees it when the
    process dies (or, for a vanished machine, when keepalives give up on its connection).
    """

    def __init__(self, url: str, *, replica_id: int | None = None) -> None:
        self.url = url
        #: A random positive 31-bit number, unique among live replicas (a clash is retried).
        self.replica_id = replica_id or 0
        self._conn: psycopg.Connection | None = None
        self._lock = threading.Lock()

    def start(self) -> ReplicaPresence:
        with self._lock:
            if self._conn is not None:
                return self
            conn = _connect(self.url)
            for _ in range(100):
                candidate = self.replica_id or secrets.randbelow(2**31 - 1) + 1
                held = first_value(
                    conn.execute("SELECT pg_try_advisory_lock(%s, %s)", [PRESENCE_LOCK_CLASS, candidate])
                )
                if held:
                    self.replica_id = candidate
                    self._conn = conn
                    return self
                if self.replica_id:
                    break
            _close_quietly(conn)
            raise RuntimeError("no free replica id: the one asked for is held by a live replica")

    def stop(self) -> None:
        with self._lock:
            _close_quietly(self._conn)
            self._conn = None

    def is_alive(self, replica_id: int) -> bool:
        """Whether the replica that took ``replica_id`` is still connected to the database."""
        with self._lock:
            conn = self._conn if self._conn is not None and not self._conn.closed else None
            if conn is None:
                raise RuntimeError("start the presence before asking about others")
            return bool(first_value(conn.execute(_PRESENCE_QUERY, [PRESENCE_LOCK_CLASS, replica_id])))


# A two-number advisory lock shows in pg_locks as (classid, objid, objsubid = 2), in its database.
_PRESENCE_QUERY = (
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND classid = %s::bigint::oid AND objid = %s::bigint::oid AND objsubid = 2)"
)


class WebhookHint(NamedTuple):
    """What a relayed webhook says: the job it is about, by Legnext's job id or our callback token.

    Or, with ``local_id``, that a submission made on another replica has an unknown outcome: the tracker
    looks for the job it may have made at once.
    """

    job_id: str | None
    token: str | None
    local_id: str | None = None


def notify_webhook(
    conn: psycopg.Connection,
    *,
    job_id: str | None = None,
    token: str | None = None,
    local_id: str | None = None,
) -> None:
    """Tell the tracker's replica a webhook came for this job. Delivered when ``conn``'s transaction commits.

    Send it in the transaction that recorded the webhook, and the tracker never hears of a change
    it cannot yet read. ``local_id`` alone: that submission's outcome is unknown (see :class:`WebhookHint`).
    """
    if not job_id and not token and not local_id:
        raise ValueError("a webhook hint needs a job id, a callback token or a submission")
    payload = json.dumps({"job_id": job_id, "token": token, "local_id": local_id})
    conn.execute("SELECT pg_notify(%s, %s)", [WEBHOOK_CHANNEL, payload])


class WebhookListener(_DatabaseThread):
    """A thread that listens for relayed webhooks and hands each to ``callback(WebhookHint)``.

    It reconnects after a lost connection (every ``retry_interval`` seconds) and then calls
    ``on_reconnect()``: notifications sent meanwhile were lost, so the log must be re-read.
    """

    _thread_name = "legnext-webhook-listener"

    def __init__(
        self,
        url: str,
        callback: Callable[[WebhookHint], Any],
        *,
        on_reconnect: Callable[[], Any] | None = None,
        retry_interval: float = 1.0,
        channel: str = WEBHOOK_CHANNEL,
    ) -> None:
        super().__init__(url, retry_interval)
        self._callback = callback
        self._on_reconnect = on_reconnect
        self._channel = channel
        self._listening = threading.Event()
        #: How many times the listener (re)connected.
        self.connections = 0

    def start(self, *, wait: float | None = 10.0) -> WebhookListener:
        """Start listening; by default wait until the first ``LISTEN`` is in place."""
        self._start_thread()
        if wait is not None and not self._listening.wait(wait):
            raise TimeoutError("the webhook listener could not reach the job log database")
        return self

    def stop(self) -> None:
        self._stop_thread()

    def _run(self) -> None:
        while not self._stop.is_set():
            conn = None
            try:
                conn = _connect(self.url)
                conn.execute(f'LISTEN "{self._channel}"')
                self.connections += 1
                self._listening.set()
                if self.connections > 1 and self._on_reconnect is not None:
                    self._on_reconnect()
                while not self._stop.is_set():
                    for notice in conn.notifies(timeout=0.5):
                        self._deliver(notice.payload)
            except psycopg.Error as exc:
                log.warning("webhook listener: connection lost, reconnecting: %s", exc)
                self._stop.wait(self.retry_interval)
            finally:
                _close_quietly(conn)

    def _deliver(self, payload: str) -> None:
        try:
            data = json.loads(payload)
            hint = WebhookHint(data.get("job_id"), data.get("token"), data.get("local_id"))
        except (ValueError, AttributeError):
            log.warning("webhook listener: ignored a notification that is not a webhook hint")
            return
        try:
            self._callback(hint)
        except Exception:
            log.exception("webhook listener: the callback failed")
