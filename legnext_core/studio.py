"""The Studio: the one set of long-lived parts a server process runs.

A Streamlit server runs every browser session in its own thread and re-executes the page scripts on
every interaction, while the server routes (webhooks, health) run on the event loop. All of them must
share one job log (TinyDB is not safe with two writers in one process), one HTTP connection pool and one
tracker thread, so the number of API requests never grows with the number of open tabs. ``get_studio``
hands out that single instance; ``app.py``'s lifespan starts it with the server and stops it on shutdown.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from legnext_core.balance_log import BalanceLog
from legnext_core.client import LegnextClient
from legnext_core.errors import LegnextError
from legnext_core.history import HistoryTable
from legnext_core.joblog.backend import open_log_storage, spending_guard
from legnext_core.media import MediaArchiver
from legnext_core.models import Balance, validate_job_id
from legnext_core.records import JobRecord
from legnext_core.settings import Settings
from legnext_core.store import JobStore
from legnext_core.submit import dispatch_queued
from legnext_core.tracker import Tracker

if TYPE_CHECKING:
    from legnext_core.replicas import TrackerLeadership

log = logging.getLogger(__name__)

#: The balance is read at most this often per server, however many tabs show it.
BALANCE_TTL_SECONDS = 30.0
#: How often queued batch lines are checked against free concurrency slots (live speed).
DISPATCH_INTERVAL_SECONDS = 5.0


@dataclass(frozen=True)
class BalanceReading:
    """The last balance read, or why it could not be read (a message fit for the page)."""

    balance: Balance | None
    error: str | None
    read_at: float


class Studio:
    """Owns the job store, the API client, the tracker and the media archiver of one process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # The TinyDB file in the data folder, or the PostgreSQL log every replica shares.
        storage = open_log_storage(settings.database_url)
        self.store = JobStore(settings.job_log_path if storage is None else None, storage=storage)
        #: The History table, shared by every open tab and kept current from the records that change.
        self.history = HistoryTable(self.store)
        self.client = LegnextClient(
            settings.api_key, base_url=settings.base_url, timeout=settings.request_timeout
        )
        # The tracker handles 429 and failures itself (a global pause, its own schedule), so its polls
        # are not retried and slept on inside the client.
        self._poll_client = LegnextClient(
            settings.api_key, base_url=settings.base_url, timeout=settings.request_timeout, max_retries=0
        )
        self.archiver = MediaArchiver(
            settings.media_dir,
            settings.media_hosts,
            allow_loopback=settings.is_sandbox,
        )
        self.tracker = Tracker(
            self.store,
            self.client_for,
            duration_scale=settings.sandbox_duration_scale,
            archiver=self.archiver,
            webhooks_expected=settings.webhook_url is not None,
            account_client=self._poll_client,
            media_candidates=self._completed_since,
        )
        #: With replicas on one PostgreSQL log, only the elected one runs its tracker (None: one process).
        self.leadership: TrackerLeadership | None = None
        if settings.database_url:
            from legnext_core.replicas import TrackerLeadership

            if settings.sandbox_embedded:
                log.warning(
                    "The job log is shared (LEGNEXT_DATABASE_URL) but the sandbox is this process's own: "
                    "other replicas cannot follow its jobs. Give every replica one LEGNEXT_SANDBOX_URL."
                )

            self.leadership = TrackerLeadership(settings.database_url, self.tracker, self.store)
        #: The sidebar's readings over time, for the Usage page.
        self.balance_log = BalanceLog(settings.data_dir / "balance.jsonl")
        self._balance_lock = threading.Lock()
        self._balance: BalanceReading | None = None
        self._started = False
        self._stopping = threading.Event()
        self._dispatcher: threading.Thread | None = None

    def _completed_since(self, since: float) -> list[str]:
        """The completed jobs submitted since ``since``, from the History table's columns (no record read)."""
        return self.history.local_ids(statuses=("completed",), since=since)

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        if not self._started:
            self.history.sync()
            # The log and the table are long-lived: move them out of the garbage collector's sight, so
            # the full collection Streamlit runs after every script run does not walk 100,000 records.
            gc.freeze()
            if self.leadership is not None:
                self.leadership.start()
            else:
                self.tracker.start()
            self._stopping.clear()
            self._dispatcher = threading.Thread(
                target=self._dispatch_loop, name="legnext-dispatcher", daemon=True
            )
            self._dispatcher.start()
            self._started = True

    def stop(self) -> None:
        if self._started:
            self._stopping.set()
            # Wait for both threads to finish what they are doing, however long a write of a large
            # log takes: a thread left running writes into the data folder after "stop", which
            # then cannot be removed (benchmarks.history saw that) or is written by two processes.
            if self.leadership is not None:
                self.leadership.stop()  # another replica takes over at its next try
            self.tracker.stop(timeout=None)
            if self._dispatcher is not None:
                self._dispatcher.join()
            self._started = False
        self.client.close()
        self._poll_client.close()
        self.store.close()

    def _dispatch_loop(self) -> None:
        """Send queued batch lines as running jobs finish and free Legnext's concurrency slots."""
        # A sped-up sandbox frees its slots sooner, so its queue is looked at as much more often.
        speedup = self.settings.sandbox_time_scale if self.settings.is_sandbox else 1.0
        interval = max(0.5, DISPATCH_INTERVAL_SECONDS / max(1.0, speedup))
        while not self._stopping.wait(interval):
            try:
                if self.leadership is not None:
                    # A replica that died mid-POST never records its answer: once no POST could still
                    # be running, its submission shows "outcome unknown" (a restart does it on one log).
                    self.store.resolve_interrupted_submissions()
                dispatch_queued(self)
            except Exception:  # noqa: BLE001 - the loop must survive; the next round tries again
                log.exception("Sending queued jobs failed")

    @contextlib.contextmanager
    def spending_guard(self) -> Iterator[None]:
        """Submissions take turns between their spending check and their intent, in every process
        and replica on this job log, so two cannot both fit under a cap only one of them fits under."""
        with spending_guard(self.store.storage, self.settings.data_dir / "spending.lock"):
            yield

    # -- a job made elsewhere -------------------------------------------------------------------
    def track_job(self, raw_id: str, *, field: str = "job_id") -> tuple[JobRecord, bool]:
        """The log's record of a job by its id; one made elsewhere is fetched, logged and tracked.

        Returns the record and whether it was new to the log. Raises ``InvalidInputError`` (naming
        ``field``) for something that is not a job id, and the client's errors otherwise.
        """
        job_id = validate_job_id(raw_id, field)
        record = self.store.by_job_id(job_id)
        if record is not None:
            return record, False
        job = self.client.get_job(job_id)
        settings = self.settings
        record = self.store.track_external(job, api_mode=settings.mode, api_base_url=settings.base_url)
        if not job.status.is_terminal:
            self.tracker.wake(job.job_id)
        return record, True

    # -- which API a record lives on ------------------------------------------------------------
    def client_for(self, record: JobRecord) -> LegnextClient | None:
        """The client to poll a record with, or None when this process may not poll it.

        A job is always polled on the API it was made on. The key is only ever sent to the configured
        host, so a live job recorded against another base URL (or while no key is set) is left alone,
        and so is a sandbox job while the dashboard runs against the live API.
        """
        mode = record.api_mode
        if mode == "sandbox":
            # The embedded sandbox's URL follows the server's port, which may change between runs;
            # its state file keeps the jobs, so any sandbox record is polled on the current sandbox.
            return self._poll_client if self.settings.is_sandbox else None
        if not self.settings.is_sandbox and record.api_base_url == self.settings.base_url:
            return self._poll_client
        return None

    def unreachable_reason(self, record: JobRecord) -> str | None:
        """Why a record is not followed by this process (for the page), or None when it is."""
        if self.client_for(record) is not None:
            return None
        if record.api_mode == "sandbox":
            return "Made in the sandbox: start the dashboard without an API key to follow it."
        return "Made on another Legnext API or key: it is not polled with the current key."

    # -- balance --------------------------------------------------------------------------------
    def balance(self, *, max_age: float = BALANCE_TTL_SECONDS) -> BalanceReading:
        """The account balance, read from the API at most once per ``max_age`` seconds.

        Every page draws it, so it must never hold a page up: once a figure exists, a session that finds
        it stale while another session is already reading it gets the slightly old figure rather than
        waiting, and the read is not retried (a failure is shown, and tried again after ``max_age``).
        """
        reading = self._balance
        if reading is not None and time.time() - reading.read_at < max_age:
            return reading
        if reading is None:
            self._balance_lock.acquire()  # nothing to show yet: wait for the read under way
        elif not self._balance_lock.acquire(blocking=False):
            return reading
        try:
            current = self._balance
            if current is not None and current is not reading and time.time() - current.read_at < max_age:
                return current  # read by another session while this one waited
            try:
                fresh = BalanceReading(self._poll_client.get_balance(), None, time.time())
            except LegnextError as exc:
                fresh = BalanceReading(None, exc.user_message, time.time())
            else:
                self._keep_balance(fresh)
            self._balance = fresh
            return fresh
        finally:
            self._balance_lock.release()

    def _keep_balance(self, reading: BalanceReading) -> None:
        balance = reading.balance
        # A reading without both figures (a failed read, or an answer missing one) says nothing to keep.
        if balance is None or balance.available_points is None or balance.balance_usd is None:
            return
        try:
            self.balance_log.record(reading.read_at, balance.available_points, balance.balance_usd)
        except OSError:
            log.warning("The balance reading could not be kept for the Usage page", exc_info=True)

    def forget_balance(self) -> None:
        """Read the balance afresh next time (after a submission has frozen points)."""
        with self._balance_lock:
            self._balance = None


_instance_lock = threading.Lock()
_instance: Studio | None = None


def get_studio(settings_factory: Callable[[], Settings]) -> Studio:
    """The process's one Studio, created and started on first use from ``settings_factory()``."""
    global _instance
    with _instance_lock:
        if _instance is None:
            studio = Studio(settings_factory())
            studio.start()
            _instance = studio
        return _instance


def current_studio() -> Studio | None:
    """The process's Studio if one has been started, else None (for server routes)."""
    return _instance


def shutdown_studio() -> None:
    """Stop and forget the process's Studio (server shutdown, and between tests)."""
    global _instance
    with _instance_lock:
        studio, _instance = _instance, None
    if studio is not None:
        studio.stop()
