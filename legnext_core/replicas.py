"""One tracker per cluster: replicas sharing a PostgreSQL job log elect the one whose tracker polls Legnext.

Every replica builds its :class:`~legnext_core.tracker.Tracker`, but only the elected one runs it
(:class:`~legnext_core.cluster.LeaderElection`, an advisory lock): the number of API requests does not grow
with the number of replicas. The tracker keeps each job's schedule in its record, so a replica that takes
over (the leader died, or stepped down) starts its tracker and resumes every unfinished job from the log:
an overdue one is polled soon, the others when they were due anyway.

A webhook may reach any replica (the load balancer picks). A standby replica's tracker relays the hint
(``NOTIFY``, see :func:`~legnext_core.cluster.notify_webhook`); every replica listens, and the leader's
tracker takes the hint as if the delivery had come to it. So does a submission on a standby replica whose
outcome is unknown: the leader reads the account's active list at once to look for its job. A hint sent
while no replica leads is lost; the tracker's own polls still find the job, as they find a job whose
webhook never came.

No streamlit here: :class:`~legnext_core.studio.Studio` starts this when ``LEGNEXT_DATABASE_URL`` is set.
"""

from __future__ import annotations

import logging
import threading

import psycopg

from legnext_core.cluster import LeaderElection, WebhookHint, WebhookListener, notify_webhook
from legnext_core.joblog.postgres import CONNECTION_KEEPALIVES
from legnext_core.store import JobStore
from legnext_core.tracker import Tracker

__all__ = ["TrackerLeadership"]

log = logging.getLogger(__name__)


class TrackerLeadership:
    """Runs ``tracker`` while this replica leads; relays webhook hints to the replica that does."""

    def __init__(self, url: str, tracker: Tracker, store: JobStore, *, retry_interval: float = 1.0) -> None:
        self.url = url
        self.tracker = tracker
        self.store = store
        self._relay_lock = threading.Lock()
        self._relay_conn: psycopg.Connection | None = None
        self.election = LeaderElection(
            url, retry_interval=retry_interval, on_elected=self._elected, on_deposed=self._deposed
        )
        # After a reconnection the hints sent meanwhile are lost: the tracker re-reads the log at once.
        self.listener = WebhookListener(url, self._hint_arrived, on_reconnect=tracker.refresh)
        tracker.relay = self.relay

    @property
    def is_leader(self) -> bool:
        return self.election.is_leader

    def start(self) -> TrackerLeadership:
        self.listener.start()
        # The first try is made now, so a lone replica tracks from its first page on.
        self.election.try_lead()
        self.election.start()
        return self

    def stop(self) -> None:
        """Step down (another replica takes over at its next try) and stop listening."""
        self.election.release()
        self.listener.stop()
        with self._relay_lock:
            if self._relay_conn is not None:
                self._relay_conn.close()
                self._relay_conn = None

    # -- the lead --------------------------------------------------------------------------------------
    def _elected(self) -> None:
        log.info("This replica now tracks the cluster's jobs")
        self.tracker.start()

    def _deposed(self) -> None:
        log.warning("This replica no longer tracks the cluster's jobs")
        self.tracker.stop(timeout=None)

    # -- webhook hints ---------------------------------------------------------------------------------
    def relay(
        self, *, job_id: str | None = None, token: str | None = None, local_id: str | None = None
    ) -> None:
        """Pass a hint to the leader (called by this replica's tracker while it stands by): a webhook
        for a job or a callback token, or a submission whose outcome is unknown."""
        with self._relay_lock:
            for attempt in range(2):
                try:
                    if self._relay_conn is None or self._relay_conn.closed:
                        self._relay_conn = psycopg.connect(self.url, autocommit=True, **CONNECTION_KEEPALIVES)
                    notify_webhook(self._relay_conn, job_id=job_id, token=token, local_id=local_id)
                    return
                except psycopg.OperationalError:
                    self._relay_conn = None
                    if attempt:
                        raise

    def _hint_arrived(self, hint: WebhookHint) -> None:
        if not self.election.is_leader:
            return
        if hint.local_id:
            self.tracker.look_for(hint.local_id)
        elif hint.token:
            record = self.store.by_callback_token(hint.token)
            if record is not None:
                self.tracker.hint_delivery(record, hint.job_id)
        elif hint.job_id:
            self.tracker.wake(hint.job_id)
