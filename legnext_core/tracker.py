"""The one background tracker of a server process: polls active jobs politely and archives results.

However many browser tabs are open, the pages only read the job store; this tracker is the only thing
that polls Legnext. It reads the active jobs from the store and polls each on its own schedule
(:mod:`legnext_core.schedule`): the first poll near the earliest likely finish, then inside Legnext's
10-30 s advice, slower once a job runs late, slowly but forever once it looks stuck (flagged ``stuck``).
The schedule lives in the records (``next_poll_at``, ``last_poll_at``, ``poll_count``), so after a
restart every unfinished job is resumed from its record; an overdue one is polled soon.

- **One request for every running job.** Where the server offers ``GET /account/active_tasks``, the
  tracker reads it once per tick (:func:`schedule.active_list_interval`) for the whole account: status and
  progress of every listed job in one request and one write. A listed job gets no GETs of its own; a
  job that leaves the list is confirmed with one GET. A job the list does not cover (confirmed still
  running while unlisted) goes back to its own schedule. Without the list (404/405/501), every job is
  polled on its schedule and its progress is estimated from elapsed time (``progress_estimated``).
- **Outcome unknown.** A listed job id the log does not know is fetched once; if its callback carries
  the token of an "outcome unknown" submission, the job is linked to it exactly (see
  :mod:`legnext_core.reconcile`, which also judges "most likely not created" and likely matches).
- A webhook delivery is a hint: :meth:`Tracker.wake` makes the tracker confirm that job with a GET at
  once, at most once per job per :data:`HINT_INTERVAL` whatever arrives. Once woken GETs have
  confirmed finished jobs, webhooks are trusted and jobs submitted with a callback are only polled
  as a safety net; a finish found by a poll long after the fact, with no delivery for it, withdraws
  that trust and brings every job back to the normal schedule. Deliveries reach the tracker only
  through a submission's own callback token (or a valid signature), so a forged one cannot.
- A 429 pauses every poll (``Retry-After`` when the answer carries one, else a growing backoff) and
  stretches every interval for a while.
- A 404 is only believed when a separate, later poll confirms it; then the record is marked lost.
- A job is always polled with the client ``clients(record)`` gives for it; a record without one (the
  key may not be sent to its API) is left alone with a note.
- At most ``max_in_flight`` GETs run at once; media downloads run on their own single thread and are
  retried a few times.
"""

from __future__ import annotations

import itertools
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from typing import Any

from legnext_core import reconcile, schedule
from legnext_core.errors import InvalidInputError, LegnextError, NotFoundError, RateLimitError
from legnext_core.media import ArchiveError, MediaArchiver, MediaRefused
from legnext_core.models import ActiveTask, ActiveTasks, Job
from legnext_core.records import JobRecord
from legnext_core.store import ProgressUpdate
from legnext_core.thumbnails import make_thumbnails, needs_thumbnails
from legnext_core.webhooks import token_of_callback

log = logging.getLogger(__name__)

Record = JobRecord

#: A 404 is believed after this many, on separate polls.
NOT_FOUND_CONFIRMATIONS = 2
#: A 429 without Retry-After pauses this long (live seconds, scaled), doubling per 429 in a row.
RATE_LIMIT_PAUSE = 15.0
RATE_LIMIT_PAUSE_MAX = 240.0
#: Intervals are stretched up to this factor after 429s; it halves again once this long has passed
#: without one (live seconds, scaled).
MAX_SLOWDOWN = 4.0
SLOWDOWN_HOLD = 300.0
#: A poll that finds a job finished longer ago than this, with no delivery for it, means webhooks
#: are not arriving (live seconds, scaled; never less than MIN_WEBHOOK_GRACE real seconds).
WEBHOOK_GRACE = 30.0
MIN_WEBHOOK_GRACE = 2.0
#: Media downloads are tried this many times, the retries this far apart (live seconds, scaled).
MEDIA_ATTEMPTS = 3
MEDIA_RETRY_DELAY = 60.0
#: Legnext keeps result media this long; older missing files are not fetched after a restart.
MEDIA_RETENTION = 30 * 24 * 3600.0
#: No Legnext job runs anywhere near this long: a job that ended after a time was submitted at most this
#: long before it (what lets the look for missing media ask for recent submissions only).
LONGEST_JOB_RUN = 7 * 24 * 3600.0
#: The tracker thread re-reads the store at least this often (real seconds), so new jobs and
#: clock changes are noticed without anyone calling ``wake``.
MAX_IDLE = 1.0
MIN_IDLE = 0.01
#: At most one confirming GET per job per this long, whatever deliveries arrive (live seconds,
#: scaled; never less than MIN_HINT_INTERVAL real seconds).
HINT_INTERVAL = 10.0
MIN_HINT_INTERVAL = 0.5
#: The account's active list is read at ``schedule.active_list_interval`` (10 s while a job could be
#: finishing or a lost submission is looked for, 30 s while all are early; live seconds, scaled),
#: never more often than every MIN_ACTIVE_LIST_INTERVAL real seconds.
MIN_ACTIVE_LIST_INTERVAL = 0.1
#: A server that does not offer the list is asked again after this long (live seconds, scaled).
ACTIVE_LIST_RECHECK = 600.0
#: List reads and jobs seen in it are remembered this long (live seconds, scaled): the evidence of
#: reconciliation for a submission can only reach back this far.
LIST_MEMORY = 3600.0

NOT_POLLED_NOTE = (
    "Not followed here: this job was made on another Legnext API or with another key, and the "
    "dashboard only sends its key to the API it is configured for."
)


@dataclass(frozen=True)
class TrackerHealth:
    """What the UI and ``/healthz`` show about the tracker. Holds no secrets."""

    last_sweep_at: float | None
    in_flight: int
    active_jobs: int
    last_error: str | None
    running: bool = False
    paused_until: float | None = None
    webhooks_trusted: bool = False
    #: True when the server offers ``GET /account/active_tasks``, False when not, None before asking.
    active_list_offered: bool | None = None
    active_list_reads: int = 0
    #: True on a replica whose tracker waits while another replica's tracks (see :attr:`Tracker.relay`).
    standby: bool = False
    #: False until the look for missing media after the last start has been through the whole log.
    media_scan_done: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Tracker:
    """Polls the store's active jobs on their schedules; see the module docstring."""

    def __init__(
        self,
        store: Any,
        clients: Callable[[Record], Any],
        *,
        duration_scale: float = 1.0,
        archiver: MediaArchiver | None = None,
        clock: Callable[[], float] = time.time,
        max_in_flight: int = 3,
        webhooks_expected: bool = True,
        rng: random.Random | None = None,
        account_client: Any = None,
        media_candidates: Callable[[float], list[str]] | None = None,
    ) -> None:
        self.store = store
        #: After a (re)start, the local ids worth a look for missing media: at least every completed job
        #: submitted after the time given (the dashboard asks its History table). None: the whole log.
        self.media_candidates = media_candidates
        self.clients = clients
        self.duration_scale = duration_scale
        self.archiver = archiver
        self.clock = clock
        self.max_in_flight = max(1, max_in_flight)
        #: False when no callback URL is configured: webhooks are then never trusted.
        self.webhooks_expected = webhooks_expected
        self._rng = rng or random.Random()
        #: The client whose account's active list is read; records polled with it are covered by it.
        self.account_client = account_client

        self._lock = threading.Lock()
        self._woken: set[str] = set()
        self._in_flight: set[str] = set()
        self._requests_in_flight = 0
        self._paused_until = 0.0
        self._rate_limits_in_a_row = 0
        self._slowdown = 1.0
        self._slowdown_until = 0.0
        self._webhooks_trusted = False
        self._hinted: set[str] = set()
        self._reschedule_all = True
        self._media_due: dict[str, tuple[int, float]] = {}
        self._media_busy: set[str] = set()
        #: The look for missing media after a (re)start, while it is under way.
        self._media_scan: _MediaScan | None = None
        #: "Not polled" notes the last sweep found missing (local_id -> fields), written between sweeps.
        self._notes_due: dict[str, dict[str, Any]] = {}
        self._last_sweep_at: float | None = None
        self._active_jobs = 0
        self._last_error: str | None = None
        self._last_woken: dict[str, float] = {}
        self._next_due_at: float | None = None
        # The active list: whether offered, when read next, what it held, and what it taught.
        self._list_offered: bool | None = None
        self._list_busy = False
        self._list_next_at = 0.0
        self._list_recheck_at = 0.0
        self._list_reads: list[float] = []
        self._list_read_count = 0
        self._listed: set[str] = set()
        self._departed: set[str] = set()
        self._unlisted: set[str] = set()
        #: Listed jobs not in the log whose callback carries no token of ours, for likely matches.
        self._foreign: dict[str, tuple[ActiveTask | None, float]] = {}
        #: Job ids a delivery on an unknown submission's token named: (local_id, client) to check.
        self._link_checks: dict[str, tuple[str, Any]] = {}
        #: Submissions whose POST is under way (the list is read often meanwhile).
        self._posting: set[str] = set()

        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._polls: ThreadPoolExecutor | None = None
        self._downloads: ThreadPoolExecutor | None = None
        self._resumed = False
        #: Set on replicas sharing one log (see :mod:`legnext_core.replicas`): while this tracker is not
        #: running, another replica's is, and a webhook hint is passed on with
        #: ``relay(job_id=..., token=...)`` (a submission to look for: ``relay(local_id=...)``) instead
        #: of waking this one.
        self.relay: Callable[..., Any] | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the tracker thread (once; a second call does nothing)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping.clear()
            self._ensure_pools()
            # Every start resumes from the log: unfinished jobs from their records, missing media too.
            self._resumed = False
            self._reschedule_all = True
            self._thread = threading.Thread(target=self._run, name="legnext-tracker", daemon=True)
            self._thread.start()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Stop the thread and wait for polls and downloads under way (bounded by their timeouts)."""
        self._stopping.set()
        self._wakeup.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
        polls, downloads = self._polls, self._downloads
        self._polls = self._downloads = None
        for pool in (polls, downloads):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wake(self, job_id: str) -> bool:
        """Confirm ``job_id`` with a GET as soon as possible (a webhook said something happened).

        Returns False, doing nothing, for a job not in the store, already finished, or not followed
        by this process. On a standby replica the hint is relayed to the tracking one (True).
        """
        if self._relaying():
            assert self.relay is not None
            self.relay(job_id=job_id, token=None)
            return True
        record = self.store.by_job_id(job_id)
        if record is None or self.clients(record) is None:
            return False
        if record.status not in _ACTIVE:
            if record.status in ("completed", "failed") and record.callback:
                # A poll saw the finish first, but the delivery came: webhooks do arrive.
                with self._lock:
                    self._webhooks_trusted = self.webhooks_expected
            return False
        now = self.clock()
        with self._lock:
            self._hinted.add(job_id)
            last = self._last_woken.get(job_id)
            if last is not None and now - last < self._hint_interval():
                return False  # one confirming GET per job per interval, however many deliveries
            self._last_woken[job_id] = now
            self._woken.add(job_id)
        self._wakeup.set()
        return True

    def hint_delivery(self, record: Record, delivered_job_id: str | None) -> bool:
        """A delivery arrived on ``record``'s own callback token; True if a GET will follow.

        For a record with a job, it is a hint for that job only (the body's job id is not trusted). For
        an "outcome unknown" record, the body names the job its POST may have made: that job is fetched
        once and linked only if its own callback carries the record's token.
        """
        if self._relaying() and record.callback_token:
            assert self.relay is not None
            self.relay(job_id=delivered_job_id, token=record.callback_token)
            return True
        if record.job_id:
            return self.wake(record.job_id)
        if record.status != "unknown" or not delivered_job_id or self.clients(record) is None:
            return False
        now = self.clock()
        with self._lock:
            key = f"local:{record.local_id}"
            last = self._last_woken.get(key)
            if last is not None and now - last < self._hint_interval():
                return False
            self._last_woken[key] = now
            self._link_checks[delivered_job_id] = (record.local_id, self.clients(record))
        self._wakeup.set()
        return True

    def _relaying(self) -> bool:
        return self.relay is not None and not self.running

    def refresh(self) -> None:
        """Re-read the store now (a job was just submitted); no request is sent before it is due."""
        self._wakeup.set()

    def health(self) -> TrackerHealth:
        now = self.clock()
        with self._lock:
            return TrackerHealth(
                last_sweep_at=self._last_sweep_at,
                in_flight=self._requests_in_flight,
                active_jobs=self._active_jobs,
                last_error=self._last_error,
                running=self.running,
                paused_until=self._paused_until if self._paused_until > now else None,
                webhooks_trusted=self._webhooks_trusted,
                active_list_offered=self._list_offered,
                active_list_reads=self._list_read_count,
                standby=self._relaying(),
                media_scan_done=self._resumed and self._media_scan is None,
            )

    # -- sweeps ----------------------------------------------------------------------------------
    def sweep_once(self, now: float | None = None) -> list[str]:
        """Poll every job that is due (or woken) at ``now`` and wait for the polls and downloads.

        Returns the job ids polled. The thread does the same continuously; tests call this with a
        manual clock instead.
        """
        self._ensure_pools()
        now = self.clock() if now is None else now
        futures, polled = self._start_polls(now, limit_to_free_slots=False)
        while self._write_notes():
            pass
        self._scan_for_missing_media(now)
        wait(futures)
        downloads = self._start_downloads(now)
        wait(downloads)
        return polled

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wakeup.clear()
            idle = MAX_IDLE
            try:
                now = self.clock()
                self._start_polls(now, limit_to_free_slots=True)
                self._start_downloads(now)
                self._catch_up_while_quiet(now)
                idle = self._idle_time(now)
            except Exception as exc:  # noqa: BLE001 - the tracker must outlive any one bad sweep
                log.exception("Tracker sweep failed")
                self._note_error(f"Tracking paused briefly after an internal error ({type(exc).__name__}).")
            self._wakeup.wait(idle)

    def _ensure_pools(self) -> None:
        if self._polls is None:
            self._polls = ThreadPoolExecutor(self.max_in_flight, thread_name_prefix="legnext-poll")
        if self._downloads is None:
            self._downloads = ThreadPoolExecutor(1, thread_name_prefix="legnext-media")

    def _poll_time(
        self, record: Record, now: float, *, reschedule_all: bool, to_write: dict[str, dict[str, Any]]
    ) -> float:
        """When ``record`` (pollable) is next polled; a first or rescheduled time (and the end of a
        "not polled" note) is added to ``to_write``, which the sweep writes in one go."""
        fields: dict[str, Any] = {}
        if record.note == NOT_POLLED_NOTE:
            fields["note"] = None
        next_at = record.next_poll_at
        if next_at is None or reschedule_all:
            fresh = now + self._delay(record, record.poll_count or 0, now)
            if next_at is None or fresh < next_at:
                next_at = fields["next_poll_at"] = fresh
        if fields:
            to_write[record.local_id] = fields
        return next_at

    def _start_polls(self, now: float, *, limit_to_free_slots: bool) -> tuple[list[Future], list[str]]:
        """Start the polls that are due (and the list read), and note which jobs this process cannot poll.

        Active jobs come first whatever the log's size: the first poll times are written in one write
        before the polls start; the "not polled" notes and the look for missing media after a restart
        come after them, in bounded steps (see :meth:`_catch_up_while_quiet`).
        """
        if not self._resumed:
            self._resumed = True
            self._begin_media_scan()
        records = self.store.active()
        with self._lock:
            self._active_jobs = len(records)
            reschedule_all, self._reschedule_all = self._reschedule_all, False
            paused = now < self._paused_until
            woken = set(self._woken)
            busy = set(self._in_flight)
            listed = self._listed - self._unlisted if self._list_offered else set()
            departed = set(self._departed)
        due: list[tuple[bool, float, Record, Any]] = []
        soonest: float | None = None
        schedules: dict[str, dict[str, Any]] = {}
        notes: dict[str, dict[str, Any]] = {}
        for record in records:
            if record.local_id in busy:
                continue
            client = self.clients(record)
            if client is None:
                if record.note != NOT_POLLED_NOTE:
                    notes[record.local_id] = {"note": NOT_POLLED_NOTE}
                continue
            next_at = self._poll_time(record, now, reschedule_all=reschedule_all, to_write=schedules)
            is_woken = record.job_id in woken
            if not is_woken and record.job_id in listed and client is self.account_client:
                continue  # the active list reports this job: no GET of its own
            soonest = next_at if soonest is None else min(soonest, next_at)
            if not paused and (is_woken or next_at <= now):
                due.append((not is_woken, next_at, record, client))
        due.sort(key=lambda item: (item[0], item[1]))
        if limit_to_free_slots:
            with self._lock:
                free = self.max_in_flight - len(self._in_flight)
            due = due[: max(free, 0)]
        # Written before the polls start: a poll's own write of its next time must come after this one.
        self.store.update_tracking_many(schedules)
        futures = []
        polled = []
        for not_woken, _next_at, record, client in due:
            with self._lock:
                self._in_flight.add(record.local_id)
                self._woken.discard(record.job_id)
            assert self._polls is not None
            # A GET that confirms a job's leaving the list was not asked for by a delivery.
            hinted = not not_woken and record.job_id not in departed
            futures.append(self._polls.submit(self._poll, record, client, hinted, now))
            polled.append(record.legnext_id)
        if not paused:
            futures += self._start_link_checks(now)
            futures += self._start_active_list_read(records, now)
        with self._lock:
            # Written after the polls have started, a few at a time (see _write_notes); each sweep
            # says afresh which records still lack one.
            self._notes_due = notes
            self._last_sweep_at = now
            self._next_due_at = soonest
        return futures, polled

    def _idle_time(self, now: float) -> float:
        with self._lock:
            if (self._woken or self._link_checks) and now >= self._paused_until:
                return MIN_IDLE
            if self._notes_due or self._media_scan is not None:
                return MIN_IDLE  # more notes to write, or the next slice of the look for missing media
            if now < self._paused_until:
                return min(max(self._paused_until - now, MIN_IDLE), MAX_IDLE)
            moments = [self._next_due_at]
            if self.account_client is not None:
                moments.append(self._list_next_at)
        soonest = min((m for m in moments if m is not None), default=None)
        if soonest is None:
            return MAX_IDLE
        return min(max(soonest - now, MIN_IDLE), MAX_IDLE)

    # -- the account's active list -----------------------------------------------------------------
    def submission_started(self, local_id: str) -> None:
        """A paid POST is about to be sent: read the list now and at the short interval until it ends.

        If its answer is lost, the job it made must have been looked for all through the POST.
        """
        with self._lock:
            self._posting.add(local_id)
            self._list_next_at = 0.0
        self._wakeup.set()

    def submission_finished(self, local_id: str) -> None:
        with self._lock:
            self._posting.discard(local_id)

    def look_for(self, local_id: str) -> None:
        """A submission's outcome is unknown: read the active list at the next tick, not an interval later."""
        if self._relaying():
            assert self.relay is not None
            self.relay(local_id=local_id)
            return
        with self._lock:
            self._list_next_at = 0.0
        self._wakeup.set()

    def _list_interval(self, covered: list[Record], *, searching: bool, now: float) -> float:
        interval = schedule.active_list_interval(
            ((r.kind or "", self._age(r, now)) for r in covered),
            searching=searching,
            duration_scale=self.duration_scale,
        )
        return max(interval, MIN_ACTIVE_LIST_INTERVAL)

    def _hint_interval(self) -> float:
        return max(HINT_INTERVAL * self.duration_scale, MIN_HINT_INTERVAL)

    def _start_active_list_read(self, records: list[Record], now: float) -> list[Future]:
        """Read the account's active list once per interval while there is something to learn from it."""
        if self.account_client is None:
            return []
        with self._lock:
            if self._list_busy or now < self._list_next_at:
                return []
            offered = self._list_offered
            recheck_due = now >= self._list_recheck_at
        covered = [r for r in records if self.clients(r) is self.account_client]
        unknowns = [r for r in self.store.unresolved_unknowns() if self.clients(r) is self.account_client]
        with self._lock:
            posting = bool(self._posting)
        searching = posting or any(
            (r.reconciliation or {}).get("state") in (None, "searching") for r in unknowns
        )
        with self._lock:
            self._list_next_at = now + self._list_interval(covered, searching=searching, now=now)
        if not covered and not unknowns and not posting:
            return []
        if offered is False and not recheck_due:
            self._estimate_progress(covered, now)
            self._judge_unknowns(unknowns, now)
            return []
        with self._lock:
            self._list_busy = True
        assert self._polls is not None
        return [self._polls.submit(self._read_active_list, covered, unknowns, now)]

    def _read_active_list(self, covered: list[Record], unknowns: list[Record], now: float) -> None:
        try:
            with self._lock:
                self._requests_in_flight += 1
            try:
                listing = self.account_client.get_active_tasks()
            finally:
                with self._lock:
                    self._requests_in_flight -= 1
            if listing is None:
                with self._lock:
                    self._list_offered = False
                    self._list_recheck_at = now + ACTIVE_LIST_RECHECK * self.duration_scale
                    self._listed = set()
                self._estimate_progress(covered, now)
                self._judge_unknowns(unknowns, now)
                return
            self._take_listing(listing, covered, unknowns, now)
        except RateLimitError as exc:
            self._pause(exc, now)
            self._note_error(exc.user_message)
        except LegnextError as exc:
            self._note_error(f"Reading the running jobs: {exc.user_message}")
        except Exception as exc:  # noqa: BLE001 - a bad answer must not stop the tracker
            log.exception("Reading the active list failed")
            self._note_error(f"Reading the running jobs failed ({type(exc).__name__}).")
        finally:
            with self._lock:
                self._list_busy = False
            self._wakeup.set()

    def _take_listing(
        self, listing: ActiveTasks, covered: list[Record], unknowns: list[Record], now: float
    ) -> None:
        running = {task.job_id: task for task in listing.tasks if not task.status.is_terminal}
        with self._lock:
            self._list_offered = True
            self._list_reads.append(now)
            self._list_read_count += 1
            self._forget_old_listings(now)
            self._listed = set(running)
        known = {record.job_id for record in covered}
        self.store.apply_progress(
            ProgressUpdate(task.job_id, task.status.value, task.progress)
            for job_id, task in running.items()
            if job_id in known
        )
        for record in covered:
            job_id = record.legnext_id
            with self._lock:
                if job_id in running:
                    self._unlisted.discard(job_id)
                    self._departed.discard(job_id)
                elif job_id not in self._unlisted and job_id not in self._departed:
                    # Left the list (finished, or never listed): one GET says which.
                    self._departed.add(job_id)
                    self._woken.add(job_id)
        if unknowns:
            for job_id, task in running.items():
                if job_id in known or job_id in self._foreign or self.store.by_job_id(job_id) is not None:
                    continue
                self._check_listed_job(task, now)
            self._judge_unknowns(self.store.unresolved_unknowns(), now, listed=running)

    def _check_listed_job(self, task: ActiveTask, now: float) -> None:
        """Fetch a listed job the log does not know, once; link it if its callback names a submission."""
        try:
            job = self.account_client.get_job(task.job_id)
        except InvalidInputError:
            with self._lock:
                self._foreign[task.job_id] = (None, now)  # not a job id we could ever fetch
            return
        except LegnextError as exc:
            self._note_error(f"Checking job {task.job_id}: {exc.user_message}")
            return  # looked at again on the next read
        self._link_or_remember(job, task, now, how="token_in_active_list")

    def _link_or_remember(self, job: Job, task: ActiveTask | None, now: float, *, how: str) -> bool:
        token = token_of_callback(job.callback)
        record = self.store.by_callback_token(token) if token else None
        if record is not None and record.status == "unknown" and not record.job_id:
            linked = self.store.link_unknown(record.local_id, job, how=how)
            if linked is not None:
                log.info("Job %s linked to its submission %s (%s)", job.job_id, record.local_id, how)
                if linked.status == "completed":
                    self._queue_media_for(linked, now, attempts=0, due_at=now)
                self._wakeup.set()
                return True
        with self._lock:
            # A job with a token of ours belongs to another submission: never a likely match.
            self._foreign[job.job_id] = (task if token is None else None, now)
        return False

    def _start_link_checks(self, now: float) -> list[Future]:
        with self._lock:
            checks, self._link_checks = self._link_checks, {}
        assert self._polls is not None
        return [
            self._polls.submit(self._check_delivered_job, job_id, client, now)
            for job_id, (_local_id, client) in checks.items()
        ]

    def _check_delivered_job(self, job_id: str, client: Any, now: float) -> None:
        try:
            job = client.get_job(job_id)
        except LegnextError as exc:
            self._note_error(f"Checking job {job_id[:64]}: {exc.user_message}")
            return
        except Exception:  # noqa: BLE001 - one bad delivery must not stop the tracker
            log.exception("Checking a delivered job failed")
            return
        self._link_or_remember(job, None, now, how="token_delivery")

    def _judge_unknowns(
        self, unknowns: list[Record], now: float, *, listed: dict[str, ActiveTask] | None = None
    ) -> None:
        """Update each unknown submission's evidence (see :func:`reconcile.judge`)."""
        with self._lock:
            reads = list(self._list_reads) if self._list_offered else []
            foreign = dict(self._foreign)
        seen = [task for task, _ in foreign.values() if task is not None]
        seen = [task for task in seen if self.store.by_job_id(task.job_id) is None]
        unresolved = sum(
            1 for job_id in (listed or {}) if job_id not in foreign and self.store.by_job_id(job_id) is None
        )
        for record in unknowns:
            if self.clients(record) is not self.account_client:
                continue
            evidence = reconcile.judge(
                record,
                reads=reads,
                seen=seen,
                unresolved_jobs=unresolved,
                now=now,
                duration_scale=self.duration_scale,
            )
            if evidence is not None and evidence != record.reconciliation:
                self.store.set_reconciliation(record.local_id, evidence)

    def _forget_old_listings(self, now: float) -> None:
        """Drop list reads and foreign jobs older than LIST_MEMORY (called under the lock)."""
        horizon = now - LIST_MEMORY * self.duration_scale
        if self._list_reads and self._list_reads[0] < horizon:
            self._list_reads = [t for t in self._list_reads if t >= horizon]
        if len(self._foreign) > 1000:
            self._foreign = {k: v for k, v in self._foreign.items() if v[1] >= horizon}

    def _estimate_progress(self, records: list[Record], now: float) -> None:
        """Without the active list: progress from elapsed time, for jobs with no reported figure."""
        self.store.apply_progress(
            ProgressUpdate(
                record.legnext_id,
                None,
                schedule.estimated_progress(
                    record.kind or "", self._age(record, now), duration_scale=self.duration_scale
                ),
                estimated=True,
            )
            for record in records
            if record.progress is None or record.progress_estimated
        )

    # -- one poll --------------------------------------------------------------------------------
    def _poll(self, record: Record, client: Any, woken: bool, now: float) -> None:
        local_id, job_id = record.local_id, record.legnext_id
        try:
            with self._lock:
                paused_until = self._paused_until
                if now < paused_until and woken:
                    self._woken.add(job_id)
                if now >= paused_until:
                    self._requests_in_flight += 1
            if now < paused_until:
                # A 429 arrived while this poll waited for a slot: it waits for the pause too.
                self.store.update_tracking(local_id, next_poll_at=paused_until)
                return
            try:
                job = client.get_job(job_id)
            finally:
                with self._lock:
                    self._requests_in_flight -= 1
            self._polled(record, job, woken, now)
        except NotFoundError:
            self._not_found(record, now)
        except RateLimitError as exc:
            self._rate_limited(record, exc, woken, now)
        except LegnextError as exc:
            self._note_error(f"Checking job {job_id}: {exc.user_message}")
            self._reschedule(record, now, polls=(record.poll_count or 0) + 1)
        except Exception as exc:  # noqa: BLE001 - one broken record must not stop the others
            log.exception("Polling job %s failed", job_id)
            self._note_error(f"Checking job {job_id} failed ({type(exc).__name__}).")
            self._reschedule(record, now, polls=(record.poll_count or 0) + 1)
        finally:
            with self._lock:
                self._in_flight.discard(local_id)
            self._wakeup.set()

    def _polled(self, record: Record, job: Job, woken: bool, now: float) -> None:
        local_id, job_id = record.local_id, record.legnext_id
        updated = self.store.apply_job(job) or record
        polls = (record.poll_count or 0) + 1
        finished = job.status.is_terminal or updated.status not in _ACTIVE
        with self._lock:
            self._rate_limits_in_a_row = 0
            if self._slowdown > 1.0 and now >= self._slowdown_until:
                self._slowdown = max(1.0, self._slowdown / 2)
                self._slowdown_until = now + SLOWDOWN_HOLD * self.duration_scale
            self._last_error = None
            if finished:
                self._learn_about_webhooks(updated, job, woken, now)
                self._hinted.discard(job_id)
                self._last_woken.pop(job_id, None)
                self._unlisted.discard(job_id)
                self._departed.discard(job_id)
            elif job_id in self._departed:
                # Running, yet not listed: the list does not cover it; it keeps its own schedule.
                self._departed.discard(job_id)
                self._unlisted.add(job_id)
        fields: dict[str, Any] = {"last_poll_at": now, "poll_count": polls, "not_found_count": None}
        if finished:
            fields.update(next_poll_at=None, stuck=None)
        else:
            fields["next_poll_at"] = now + self._delay(updated, polls, now)
            stuck = schedule.is_stuck(
                updated.kind or "", self._age(updated, now), duration_scale=self.duration_scale
            )
            fields["stuck"] = True if stuck else None
        self.store.update_tracking(local_id, **fields)
        if finished and updated.status == "completed":
            self._queue_media_for(updated, now, attempts=0, due_at=now)

    def _learn_about_webhooks(self, record: Record, job: Job, woken: bool, now: float) -> None:
        """Trust webhooks once a delivery proved right; withdraw trust when one went missing."""
        if not self.webhooks_expected or not record.callback:
            return
        if woken or job.job_id in self._hinted:
            self._webhooks_trusted = True
            return
        ended = job.ended_at.timestamp() if job.ended_at is not None else None
        grace = max(WEBHOOK_GRACE * self.duration_scale, MIN_WEBHOOK_GRACE)
        if ended is not None and now - ended > grace and self._webhooks_trusted:
            log.warning("No webhook arrived for finished job %s; polling on the normal schedule", job.job_id)
            self._webhooks_trusted = False
            self._reschedule_all = True

    def _not_found(self, record: Record, now: float) -> None:
        count = (record.not_found_count or 0) + 1
        polls = (record.poll_count or 0) + 1
        if count >= NOT_FOUND_CONFIRMATIONS:
            self.store.update_tracking(
                record.local_id,
                last_poll_at=now,
                poll_count=polls,
                not_found_count=count,
                next_poll_at=None,
            )
            self.store.mark_lost(
                record.local_id,
                f"Legnext no longer knows job {record.job_id} (HTTP 404 on {count} separate checks); "
                "it may have expired or been made with another account.",
            )
            return
        self.store.update_tracking(
            record.local_id,
            last_poll_at=now,
            poll_count=polls,
            not_found_count=count,
            next_poll_at=now + self._confirmation_delay(),
        )

    def _pause(self, exc: RateLimitError, now: float) -> float:
        """Pause every request after a 429; returns when they resume."""
        with self._lock:
            self._rate_limits_in_a_row += 1
            if exc.retry_after is not None and exc.retry_after > 0:
                pause = exc.retry_after
            else:
                backoff = RATE_LIMIT_PAUSE * 2 ** (self._rate_limits_in_a_row - 1)
                pause = min(backoff, RATE_LIMIT_PAUSE_MAX) * self.duration_scale
            self._paused_until = max(self._paused_until, now + pause)
            self._slowdown = min(self._slowdown * 2, MAX_SLOWDOWN)
            self._slowdown_until = self._paused_until + SLOWDOWN_HOLD * self.duration_scale
            return self._paused_until

    def _rate_limited(self, record: Record, exc: RateLimitError, woken: bool, now: float) -> None:
        resume_at = self._pause(exc, now)
        if woken:
            with self._lock:
                self._woken.add(record.legnext_id)
        self._note_error(exc.user_message)
        self.store.update_tracking(
            record.local_id,
            last_poll_at=now,
            poll_count=(record.poll_count or 0) + 1,
            next_poll_at=resume_at,
        )

    def _reschedule(self, record: Record, now: float, *, polls: int) -> None:
        self.store.update_tracking(
            record.local_id,
            last_poll_at=now,
            poll_count=polls,
            next_poll_at=now + self._delay(record, polls, now),
        )

    # -- schedule --------------------------------------------------------------------------------
    def _delay(self, record: Record, polls: int, now: float) -> float:
        with self._lock:
            trusted = self._webhooks_trusted and self.webhooks_expected and bool(record.callback)
            slowdown = self._slowdown
        return schedule.next_poll_delay(
            record.kind or "",
            polls,
            self._age(record, now),
            duration_scale=self.duration_scale,
            rng=self._rng,
            webhooks_trusted=trusted,
            slowdown=slowdown,
        )

    def _confirmation_delay(self) -> float:
        return schedule.MIN_INTERVAL * self.duration_scale * (1.0 + self._rng.uniform(0, schedule.JITTER))

    @staticmethod
    def _age(record: Record, now: float) -> float:
        started = record.created_at or record.submitted_at or now
        return max(now - started, 0.0)

    # -- media -----------------------------------------------------------------------------------
    def _begin_media_scan(self) -> None:
        """After a (re)start: look through the records, in slices between sweeps, for media to archive.

        Only jobs that ended within :data:`MEDIA_RETENTION` can have media left to fetch; with
        ``media_candidates`` the look is over the jobs submitted since then (and a margin), not the
        whole log: at 100,000 jobs the walk through every record kept pages slow for many seconds.
        """
        if self.archiver is None:
            ids: list[str] = []
        elif self.media_candidates is not None:
            ids = self.media_candidates(self.clock() - MEDIA_RETENTION - LONGEST_JOB_RUN)
        else:
            ids = self.store.local_ids()
        with self._lock:
            self._media_scan = _MediaScan(ids) if ids else None

    def _catch_up_while_quiet(self, now: float) -> None:
        """Between sweeps: "not polled" notes, then slices of the look for missing media, for up to
        BOOKKEEPING_BUDGET or until something wakes the tracker (a poll ended, a delivery came), so
        that polls never wait for either."""
        deadline = time.monotonic() + BOOKKEEPING_BUDGET
        while True:  # at least one step per sweep, so a busy tracker still gets through them
            if not self._write_notes():
                if self._media_scan is None:
                    return
                self._scan_for_missing_media(now)
            if self._wakeup.is_set() or time.monotonic() >= deadline:
                return

    def _write_notes(self) -> bool:
        """Write up to NOTES_PER_WRITE of the notes the last sweep found due, in one write; False if none."""
        with self._lock:
            if not self._notes_due:
                return False
            batch = dict(itertools.islice(self._notes_due.items(), NOTES_PER_WRITE))
            for local_id in batch:
                del self._notes_due[local_id]
        self.store.update_tracking_many(batch)
        return True

    def _scan_for_missing_media(self, now: float) -> None:
        """One slice of the look after a restart: completed jobs (within retention) whose media or
        posters are not all on disk yet are queued for the download thread.

        Each record is looked at once per start, by a few of its stored fields; only the completed
        ones within retention are built. Jobs that finish meanwhile are queued by their poll.
        """
        with self._lock:
            scan = self._media_scan
            if scan is None:
                return
            chunk = scan.next_slice()
        horizon = now - MEDIA_RETENTION
        for record in self.store.records_where(lambda data: _completed_after(data, horizon), chunk):
            if _needs_archiving(record):
                self._queue_media_for(record, now, attempts=0, due_at=now)
        if scan.done:
            with self._lock:
                if self._media_scan is scan:
                    self._media_scan = None

    def _queue_media_for(self, record: Record, now: float, *, attempts: int, due_at: float) -> None:
        if self.archiver is None or not _output_urls(record) or not _needs_archiving(record):
            return
        if self.clients(record) is None:
            return
        with self._lock:
            self._media_due[record.local_id] = (attempts, due_at)

    def _start_downloads(self, now: float) -> list[Future]:
        with self._lock:
            ready = [
                (local_id, attempts)
                for local_id, (attempts, due_at) in self._media_due.items()
                if due_at <= now and local_id not in self._media_busy
            ]
            for local_id, _ in ready:
                del self._media_due[local_id]
                self._media_busy.add(local_id)
        assert self._downloads is not None
        return [
            self._downloads.submit(self._archive, local_id, attempts, now) for local_id, attempts in ready
        ]

    def _archive(self, local_id: str, attempts: int, now: float) -> None:
        try:
            record = self.store.get(local_id)
            if record is None or self.archiver is None:
                return
            urls = _output_urls(record)
            paths = list(record.media_paths or [])
            paths += [None] * (len(urls) - len(paths))
            retry = False
            for index, url in enumerate(urls):
                if paths[index] is not None or not url:
                    continue
                try:
                    paths[index] = str(self.archiver.archive_one(record.job_id, index, url))
                except MediaRefused as exc:
                    log.warning("Media %d of job %s not archived: %s", index, record.job_id, exc)
                except ArchiveError as exc:
                    log.warning("Media %d of job %s failed, will retry: %s", index, record.job_id, exc)
                    retry = True
            paths = paths[: len(urls)]
            # Posters and previews are made here, once, so no page ever decodes a video to show it.
            thumbnails = make_thumbnails(paths, record.thumbnails or ())
            self.store.update_tracking(local_id, media_paths=paths, thumbnails=thumbnails)
            if retry and attempts + 1 < MEDIA_ATTEMPTS:
                record = record.replace(media_paths=paths)
                self._queue_media_for(
                    record, now, attempts=attempts + 1, due_at=now + MEDIA_RETRY_DELAY * self.duration_scale
                )
        except Exception:  # noqa: BLE001 - a failed download must not take the tracker down
            log.exception("Archiving media of %s failed", local_id)
        finally:
            with self._lock:
                self._media_busy.discard(local_id)

    def _note_error(self, message: str) -> None:
        with self._lock:
            self._last_error = message


_ACTIVE = frozenset({"pending", "staged", "processing"})

#: Records looked at per slice by the look for missing media after a restart (a few ms of work,
#: holding the log that long).
MEDIA_SCAN_SLICE = 5_000
#: "Not polled" notes per write (each rewrites its record: ~2 KB of journal, ~0.1 ms of work).
NOTES_PER_WRITE = 1_000
#: How long the tracker thread spends on notes and the media scan between sweeps (real seconds).
BOOKKEEPING_BUDGET = 0.5


class _MediaScan:
    """Where the look for missing media after a restart stands: the log's ids, and how far it got."""

    def __init__(self, local_ids: list[str]) -> None:
        self.local_ids = local_ids
        self.position = 0

    def next_slice(self) -> list[str]:
        chunk = self.local_ids[self.position : self.position + MEDIA_SCAN_SLICE]
        self.position += len(chunk)
        return chunk

    @property
    def done(self) -> bool:
        return self.position >= len(self.local_ids)


def _completed_after(data: Mapping[str, Any], horizon: float) -> bool:
    """A stored record of a completed job that ended after ``horizon`` (or has no end time)."""
    if data.get("status") != "completed":
        return False
    ended = data.get("ended_at") or data.get("updated_at")
    return ended is None or ended > horizon


def _output_urls(record: Record) -> list[str | None]:
    """The URLs ``media_paths`` follows, index by index: videos, or an image job's four images."""
    if record.kind == "image":
        return list(record.image_urls or [])
    return list(record.video_urls or [])


def _needs_archiving(record: Record) -> bool:
    """Outputs still to download, or downloaded ones still without a poster."""
    return _missing_media(record) or needs_thumbnails(list(record.media_paths or []), record.thumbnails)


def _missing_media(record: Record) -> bool:
    urls = _output_urls(record)
    paths = list(record.media_paths or [])
    return any(url and (i >= len(paths) or paths[i] is None) for i, url in enumerate(urls))
