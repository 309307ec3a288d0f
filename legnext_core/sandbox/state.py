"""The sandbox's jobs, their lifecycle, the accounts' points, and the state file.

A job's status is a pure function of the clock: each job is created with the times at which it
becomes staged, processing and terminal (demo durations, divided by the time scale), and every read
computes the status for "now". :meth:`SandboxState.tick` finalises jobs that have become terminal
(queues their callback, records it in the state file); a background thread calls it on a real clock,
and a :class:`~.clock.ManualClock` calls it synchronously on every ``advance``.

Accounts are per API key; the key itself is never stored, only a hash of it. Points: an account's
balance is its initial points less what completed jobs consumed; the points frozen by unfinished
jobs are not spendable, so a submission whose cost exceeds ``balance - frozen`` gets 402.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import random
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from .callbacks import CallbackDeliverer
from .clock import ManualClock
from .config import SandboxConfig
from .faults import FaultInjector
from .fetch import FETCH_FAILURE, fetch_image, will_fetch
from .validate import Submission
from .wire import (
    TASK_TYPES,
    ApiError,
    invalid,
    iso,
    iso_nanos,
    job_object,
    top_level_error,
)

STATE_VERSION = 1
TERMINAL = frozenset({"completed", "failed"})
MAX_EXTENSIONS = 4
VARIANTS = 4
#: Demo durations at time scale 1 (a tenth of Legnext's documented ones), in seconds.
DURATIONS = {
    "text_video": (18.0, 30.0),
    "image_url_video": (18.0, 30.0),
    "animate": (18.0, 30.0),
    "extend": (18.0, 30.0),
    "upscale": (24.0, 36.0),
    "image": (3.0, 9.0),
}
#: How a job's time splits between pending, staged and processing.
PHASE_SHARES = (0.15, 0.10, 0.75)
POINTS_IMAGE = 80
POINTS_VIDEO = {0: 480, 1: 1536}
POINTS_UPSCALE = 480
#: Turbo speed costs this many times fast; a batch of ``--bs N`` videos costs N/4 of four.
TURBO_FACTOR = 2
ALERT_THRESHOLD_USD = 5
#: Distinct "METHOD /path" request counters kept; later new paths are counted together under OTHER_PATHS.
MAX_COUNTED_PATHS = 2000
OTHER_PATHS = "(other paths)"
#: The failures a failed job may carry: (code, user-facing message, underlying cause).
FAILURES = (
    (10001, "Video generation failed. Please try again.", "render worker exited with status 137"),
    (10002, "The request timed out on the generation service.", "upstream task timed out after 600s"),
    (10003, "Your prompt may violate our content policy.", "output flagged by post-generation moderation"),
)
VIDEO_SAMPLE = "video_{}.mp4"
UPSCALE_SAMPLE = "upscaled.mp4"
IMAGE_SAMPLE = "image_{}.png"
GRID_SAMPLE = "image_grid.png"
MEDIA_DIR = Path(__file__).resolve().parent / "media"


def key_hash(api_key: str) -> str:
    """What the sandbox keeps instead of a key (inspection and the state file)."""
    return hashlib.sha256(b"legnext-sandbox:" + api_key.encode()).hexdigest()[:24]


def cost_of(kind: str, video_type: int | None, batch_size: int = VARIANTS, speed: str = "fast") -> int:
    if kind == "image":
        return POINTS_IMAGE
    cost = POINTS_UPSCALE if kind == "upscale" else POINTS_VIDEO[video_type or 0]
    if speed == "turbo":
        cost *= TURBO_FACTOR
    return cost * batch_size // VARIANTS


class SandboxState:
    """Every job the sandbox made, and the machinery that moves them on."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.clock = config.clock
        self.faults = FaultInjector(config.faults, seed=config.seed)
        self.deliverer = CallbackDeliverer(
            config.webhook_secret,
            retry_delays=config.callback_retry_delays,
            timeout=config.callback_timeout,
            allow_remote=config.allow_remote_callbacks,
        )
        self._rng = random.Random(config.seed)
        self._lock = threading.RLock()
        self._jobs: dict[str, dict[str, Any]] = {}
        self._unfinalized: set[str] = set()
        self._adjustments: dict[str, int] = {}
        self._requests: Counter[str] = Counter()
        #: Whether ``GET /account/active_tasks`` is served; switched at run time by the control route.
        self.active_tasks_enabled = config.active_tasks
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()
        #: Start and end images are fetched here, never on the server's event loop.
        self._fetcher = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sandbox-image-fetch")
        self._fetches: set[Future[None]] = set()
        #: Where a corrupt state file was moved on start, if one was.
        self.recovered_from: Path | None = None
        self._load()
        if isinstance(self.clock, ManualClock):
            self.clock.subscribe(self.tick)

    def __repr__(self) -> str:
        return f"SandboxState(jobs={len(self._jobs)}, clock={self.clock!r})"

    # -- background ---------------------------------------------------------------------------

    def start_background(self) -> None:
        """Start the ticker (idempotent). Callbacks then fire at terminal status without any poll."""
        with self._lock:
            if self._ticker is not None or self._stop.is_set():
                return
            self._ticker = threading.Thread(target=self._tick_forever, name="sandbox-ticker", daemon=True)
            self._ticker.start()
            # Images the sandbox stopped before fetching; not sooner, since a sandbox mounted in the
            # dashboard starts before the dashboard (which may serve them) answers.
            for job_id, job in self._jobs.items():
                if job.get("inputs_pending"):
                    self._queue_fetch(job_id, job)

    def close(self) -> None:
        """Stop the ticker and the callback worker; unhook from a manual clock."""
        self._stop.set()
        if isinstance(self.clock, ManualClock):
            self.clock.unsubscribe(self.tick)
        ticker = self._ticker
        if ticker is not None and ticker is not threading.current_thread():
            ticker.join(5)
        self._fetcher.shutdown(wait=False, cancel_futures=True)
        self.deliverer.stop()

    def settle(self, timeout: float = 10.0) -> bool:
        """Fetch pending images, finish due jobs and wait until their callbacks are delivered or given
        up. False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            fetches = set(self._fetches)
        if wait(fetches, timeout=timeout).not_done:
            return False
        self.tick()
        return self.deliverer.wait_idle(max(0.0, deadline - time.monotonic()))

    def _tick_forever(self) -> None:
        while not self._stop.wait(self.config.tick_interval):
            with contextlib.suppress(Exception):
                self.tick()

    def advance(self, seconds: float) -> float:
        """Advance a manual clock (and so finish due jobs). Only for a sandbox on a ManualClock."""
        if not isinstance(self.clock, ManualClock):
            raise TypeError("this sandbox runs on real time; only a ManualClock can be advanced")
        return self.clock.advance(seconds)

    # -- accounts -----------------------------------------------------------------------------

    def authenticate(self, api_key: str | None) -> str | None:
        """The account (key hash) for ``api_key``, or None when the key is missing or not accepted."""
        if not api_key:
            return None
        accepted = self.config.accepted_keys
        if accepted is not None and api_key not in accepted:
            return None
        return key_hash(api_key)

    def may_make_videos(self, api_key: str) -> bool:
        return api_key not in self.config.video_denied_keys

    def adjust_points(self, api_key: str, delta: int) -> None:
        """Add (or take away) points of one account, as a top-up would."""
        account = key_hash(api_key)
        with self._lock:
            self._adjustments[account] = self._adjustments.get(account, 0) + int(delta)
            self._save()

    def _points(self, account: str, now: float) -> tuple[int, int]:
        """(balance, frozen by unfinished jobs) of an account at ``now``."""
        consumed = frozen = 0
        for job in self._jobs.values():
            if job["account"] != account:
                continue
            status = self._status(job, now)
            if status == "completed":
                consumed += job["cost"]
            elif status not in TERMINAL:
                frozen += job["cost"]
        return self.config.initial_points + self._adjustments.get(account, 0) - consumed, frozen

    def balance(self, account: str) -> dict[str, Any]:
        """The ``data`` of ``GET /account/balance``."""
        with self._lock:
            points, _frozen = self._points(account, self.clock.now())
        usd = round(points / 1000, 3)
        return {
            "account_id": int(account[:6], 16),
            "balance_usd": usd,
            "available_credits": 0,
            "available_points": points,
            "alert_threshold": ALERT_THRESHOLD_USD,
            "low_balance_alert": usd < ALERT_THRESHOLD_USD,
            "updated_at": iso_nanos(self.clock.now()),
        }

    # -- jobs ---------------------------------------------------------------------------------

    def create_job(self, account: str, submission: Submission, media_base: str) -> dict[str, Any]:
        """Check follow-up rules, limits and points; make the job; return its wire object."""
        with self._lock:
            now = self.clock.now()
            video_type = submission.video_type
            depth = 0
            if submission.parent_job_id is not None:
                parent = self._parent(account, submission, now)
                if submission.kind in ("extend", "upscale"):
                    video_type = parent["video_type"]
                if submission.kind == "extend":
                    depth = parent["depth"] + 1
            if submission.kind != "image" and video_type is None:
                video_type = 0
            self._check_capacity(account, now)
            batch_size = (
                submission.options.batch_size if submission.kind not in ("image", "upscale") else VARIANTS
            )
            cost = cost_of(submission.kind, video_type, batch_size, submission.options.speed)
            balance, frozen = self._points(account, now)
            if balance - frozen < cost:
                raise ApiError(
                    402,
                    top_level_error(
                        402,
                        "Insufficient balance",
                        f"this job needs {cost} points; {max(balance - frozen, 0)} are available",
                    ),
                )
            low, high = DURATIONS[submission.kind]
            total = self._rng.uniform(low, high) / self.config.time_scale
            staged_at = now + total * PHASE_SHARES[0]
            processing_at = staged_at + total * PHASE_SHARES[1]
            fails = self._rng.random() < self.config.failure_rate
            job: dict[str, Any] = {
                "job_id": str(uuid.uuid4()),
                "account": account,
                "kind": submission.kind,
                "prompt": submission.prompt,
                "video_type": video_type if submission.kind != "image" else None,
                "parent_job_id": submission.parent_job_id,
                "parent_index": submission.parent_index,
                "callback": submission.callback,
                "cost": cost,
                "batch_size": batch_size,
                "speed": submission.options.speed,
                "loop": submission.options.loop,
                "end_url": submission.options.end_url,
                "depth": depth,
                "created_at": now,
                "staged_at": staged_at,
                "processing_at": processing_at,
                "ended_at": now + total,
                "failure": list(self._rng.choice(FAILURES)) if fails else None,
                "seed": str(self._rng.randrange(10**9, 10**10)),
                "media_base": media_base,
                "finalized": False,
            }
            images = _images(submission)
            if any(will_fetch(url, allow_remote=self.config.allow_remote_fetches) for _role, url in images):
                job["images"] = [{"role": role, "url": url} for role, url in images]
                job["inputs_pending"] = True
            self._jobs[job["job_id"]] = job
            self._unfinalized.add(job["job_id"])
            self._save()
            if job.get("inputs_pending"):
                self._queue_fetch(job["job_id"], job)
            return self._wire(job, now)

    # -- start and end images (see .fetch) -------------------------------------------------------

    def _queue_fetch(self, job_id: str, job: dict[str, Any]) -> None:
        images = [(image["role"], image["url"]) for image in job.get("images") or ()]
        with self._lock:
            try:
                future = self._fetcher.submit(self._fetch_images, job_id, images)
            except RuntimeError:  # closed: the next start fetches them
                return
            self._fetches.add(future)
        future.add_done_callback(self._fetches.discard)

    def _fetch_images(self, job_id: str, images: list[tuple[str, str]]) -> None:
        allow_remote = self.config.allow_remote_fetches
        found = [
            fetch_image(role, url, allow_remote=allow_remote, timeout=self.config.image_fetch_timeout)
            for role, url in images
        ]
        unusable = [f for f in found if f.fetched and not f.ok]
        with self._lock:
            job = self._jobs[job_id]
            job["images"] = [f.as_dict() for f in found]
            job["inputs_pending"] = False
            if unusable:
                # It fails now (not at its planned end): nothing can be rendered without the image.
                code, message = FETCH_FAILURE
                raw = "; ".join(f"{f.role} image {f.url[:200]}: {f.problem}" for f in unusable)
                job["failure"] = [code, message, raw]
                now = self.clock.now()
                if now < job["ended_at"]:
                    job["ended_at"] = max(now, job["created_at"])
                    job["processing_at"] = min(job["processing_at"], job["ended_at"])
                    job["staged_at"] = min(job["staged_at"], job["ended_at"])
            self._save()
        self.tick()

    def _parent(self, account: str, submission: Submission, now: float) -> dict[str, Any]:
        parent = self._jobs.get(submission.parent_job_id or "")
        if parent is None or parent["account"] != account:
            raise ApiError(404, top_level_error(404, "Job not found", f"no job {submission.parent_job_id}"))
        status = self._status(parent, now)
        index = submission.parent_index
        if submission.kind == "animate":
            if parent["kind"] != "image":
                raise invalid(f"jobId: animate needs an image job, not {TASK_TYPES[parent['kind']]}")
            if status != "completed":
                raise invalid(f"jobId: the image job is {status}; only a completed job can be animated")
            if index not in range(VARIANTS):
                raise invalid(f"imageNo: {index} is not one of the job's images")
            return parent
        field_name = "videoNo"
        if parent["kind"] not in ("text_video", "image_url_video", "animate", "extend"):
            raise invalid(f"jobId: {submission.kind} needs a video job, not {TASK_TYPES[parent['kind']]}")
        if status != "completed":
            raise invalid(f"jobId: the job is {status}; only a completed job can be {submission.kind}ed")
        if submission.kind == "extend" and parent["depth"] >= MAX_EXTENSIONS:
            raise invalid(f"jobId: the video was already extended {MAX_EXTENSIONS} times (20 s), the maximum")
        actions = self._actions(parent).get(submission.kind, [])
        if index not in actions:
            raise invalid(
                f"{field_name}: {index} is not in the job's available_actions.{submission.kind} = {actions}"
            )
        return parent

    def _check_capacity(self, account: str, now: float) -> None:
        ends = [
            job["ended_at"]
            for job in self._jobs.values()
            if job["account"] == account and self._status(job, now) not in TERMINAL
        ]
        if len(ends) >= self.config.max_unfinished:
            retry_after = max(1, math.ceil(min(ends) - now))
            raise ApiError(
                429,
                top_level_error(
                    429,
                    "Too many concurrent tasks",
                    f"{len(ends)} tasks are unfinished; the limit is {self.config.max_unfinished}",
                ),
                {"Retry-After": str(retry_after)},
            )

    def get_job(self, account: str, job_id: str) -> dict[str, Any]:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job["account"] != account:
                raise ApiError(404, top_level_error(404, "Job not found", f"no job {job_id[:64]}"))
            now = self.clock.now()
            wire = self._wire(job, now)
        if wire["status"] in TERMINAL and not job["finalized"]:
            self.tick()
        return wire

    def active_tasks(self, account: str) -> dict[str, Any]:
        """``GET /account/active_tasks``: every unfinished job of the account, with its progress.

        Bare (no ``code``/``data`` envelope), as ``ActiveTasksResponse`` in openapi-complete.yaml.
        Progress is the one the job's logs report (the processing phase's share of time elapsed).
        """
        with self._lock:
            now = self.clock.now()
            tasks = []
            for job in sorted(self._jobs.values(), key=lambda j: j["created_at"]):
                if job["account"] != account:
                    continue
                status = self._status(job, now)
                if status in TERMINAL:
                    continue
                tasks.append(
                    {
                        "job_id": job["job_id"],
                        "task_type": TASK_TYPES[job["kind"]],
                        "status": status,
                        "created_at": iso(job["created_at"]),
                        "progress": _progress(job, status, now),
                        "estimated_time": max(0, math.ceil(job["ended_at"] - now)),
                    }
                )
        return {
            "account_id": str(uuid.UUID(hex=account[:32].ljust(32, "0"))),
            "total_active": len(tasks),
            "concurrent_limit": self.config.max_unfinished,
            "tasks": tasks,
            "updated_at": iso(now),
        }

    def job_status(self, job_id: str) -> str:
        """The status of any job at the clock's now (for tests)."""
        with self._lock:
            return self._status(self._jobs[job_id], self.clock.now())

    def tick(self) -> int:
        """Finalise jobs that became terminal: queue their callbacks, save. Returns how many."""
        due: list[tuple[str, str, dict[str, Any]]] = []
        finished = 0
        with self._lock:
            now = self.clock.now()
            for job_id in sorted(self._unfinalized, key=lambda j: self._jobs[j]["ended_at"]):
                job = self._jobs[job_id]
                if now < job["ended_at"] or job.get("inputs_pending"):
                    continue
                job["finalized"] = True
                self._unfinalized.discard(job_id)
                finished += 1
                if job["callback"]:
                    due.append((job_id, job["callback"], self._wire(job, now)))
            if finished:
                self._save()
        for job_id, url, wire in due:
            self.deliverer.enqueue(job_id, url, wire)
        return finished

    # -- the job object -----------------------------------------------------------------------

    @staticmethod
    def _status(job: dict[str, Any], now: float) -> str:
        if now < job["staged_at"]:
            return "pending"
        if now < job["processing_at"]:
            return "staged"
        if now < job["ended_at"] or job.get("inputs_pending"):
            # Nothing is rendered from an image that has not been fetched yet.
            return "processing"
        return "failed" if job["failure"] else "completed"

    @staticmethod
    def _videos(job: dict[str, Any]) -> int:
        """How many videos a video job made: its ``--bs`` (state files from before it: four)."""
        return 1 if job["kind"] == "upscale" else int(job.get("batch_size") or VARIANTS)

    @classmethod
    def _actions(cls, job: dict[str, Any]) -> dict[str, list[int]]:
        if job["kind"] == "image":
            return {"upscale": list(range(VARIANTS)), "variation": list(range(VARIANTS))}
        if job["kind"] == "upscale":
            return {}
        videos = list(range(cls._videos(job)))
        return {"extend": videos if job["depth"] < MAX_EXTENSIONS else [], "upscale": videos}

    def _output(self, job: dict[str, Any], status: str) -> dict[str, Any]:
        base = f"{job['media_base']}"
        job_id = job["job_id"]
        if job["kind"] == "image":
            if status != "completed":
                return {"image_url": "", "image_urls": None, "seed": ""}
            return {
                "image_url": f"{base}image/{job_id}/grid.png",
                "image_urls": [f"{base}image/{job_id}/{i}.png" for i in range(VARIANTS)],
                "seed": job["seed"],
                "available_actions": self._actions(job),
            }
        if status != "completed":
            return {"video_urls": None, "seed": ""}
        count = self._videos(job)
        return {
            "video_urls": [f"{base}video/{job_id}/{i}.mp4" for i in range(count)],
            "seed": job["seed"],
            "available_actions": self._actions(job),
        }

    def _wire(self, job: dict[str, Any], now: float) -> dict[str, Any]:
        status = self._status(job, now)
        logs: list[str] = []
        if status == "processing":
            logs = [f"Processing {_progress(job, status, now)}%"]
        error = None
        if status == "failed":
            code, message, raw_message = job["failure"]
            error = {"code": code, "raw_message": raw_message, "message": message, "detail": None}
        return job_object(
            job_id=job["job_id"],
            task_type=TASK_TYPES[job["kind"]],
            status=status,
            callback=job["callback"],
            output=self._output(job, status),
            created_at=job["created_at"],
            started_at=job["processing_at"] if status not in ("pending", "staged") else None,
            ended_at=job["ended_at"] if status in TERMINAL else None,
            frozen=job["cost"],
            consume=job["cost"] if status == "completed" else 0,
            logs=logs,
            error=error,
        )

    # -- media --------------------------------------------------------------------------------

    def media_file(self, path: str) -> Path | None:
        """The sample file behind a result URL's path (``video/<job>/<n>.mp4``...), or None."""
        parts = path.split("/")
        if len(parts) != 3:
            return None
        family, job_id, name = parts
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or self._status(job, self.clock.now()) != "completed":
                return None
            kind = job["kind"]
            videos = self._videos(job)
        if family == "image" and kind == "image":
            if name == "grid.png":
                return MEDIA_DIR / GRID_SAMPLE
            names = {f"{i}.png": IMAGE_SAMPLE.format(i) for i in range(VARIANTS)}
        elif family == "video" and kind == "upscale":
            names = {"0.mp4": UPSCALE_SAMPLE}
        elif family == "video" and kind != "image":
            names = {f"{i}.mp4": VIDEO_SAMPLE.format(i) for i in range(videos)}
        else:
            return None
        sample = names.get(name)
        return MEDIA_DIR / sample if sample else None

    # -- inspection ---------------------------------------------------------------------------

    def inspect_jobs(self) -> list[dict[str, Any]]:
        """Every job ever made, oldest first, with what was asked; keys appear only as hashes."""
        with self._lock:
            now = self.clock.now()
            return [
                {
                    "job_id": job["job_id"],
                    "key_hash": job["account"],
                    "kind": job["kind"],
                    "task_type": TASK_TYPES[job["kind"]],
                    "status": self._status(job, now),
                    "prompt": job["prompt"],
                    "video_type": job["video_type"],
                    "parent_job_id": job["parent_job_id"],
                    "parent_index": job["parent_index"],
                    "callback": job["callback"],
                    "cost": job["cost"],
                    "batch_size": self._videos(job) if job["kind"] != "image" else None,
                    "speed": job.get("speed", "fast"),
                    "loop": job.get("loop", False),
                    "end_url": job.get("end_url"),
                    "images": job.get("images") or [],
                    "extensions": job["depth"],
                    "will_fail": bool(job["failure"]),
                    "finalized": job["finalized"],
                    "job": self._wire(job, now),
                }
                for job in sorted(self._jobs.values(), key=lambda j: j["created_at"])
            ]

    def count_request(self, method: str, path: str) -> None:
        """Count one request by method and path; past MAX_COUNTED_PATHS distinct ones, under one key.

        Paths carry job ids and anything a client types, so per-path keys alone would grow without bound.
        """
        key = f"{method} {path}"
        with self._lock:
            if key not in self._requests and len(self._requests) >= MAX_COUNTED_PATHS:
                key = f"{method} {OTHER_PATHS}"
            self._requests[key] += 1

    def request_counts(self) -> dict[str, int]:
        """Requests seen so far, by ``"METHOD /path"`` (path relative to the sandbox's root)."""
        with self._lock:
            return dict(self._requests)

    def reset_request_counts(self) -> None:
        with self._lock:
            self._requests.clear()

    # -- persistence --------------------------------------------------------------------------

    def _save(self) -> None:
        path = self.config.state_path
        if path is None:
            return
        data = {
            "version": STATE_VERSION,
            "saved_at": time.time(),
            "jobs": list(self._jobs.values()),
            "adjustments": self._adjustments,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, separators=(",", ":"))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _load(self) -> None:
        path = self.config.state_path
        if path is None or not path.exists():
            return
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
                raise ValueError("not a sandbox state file of this version")
            jobs = {job["job_id"]: _checked_job(job) for job in data["jobs"]}
            adjustments = {str(k): int(v) for k, v in dict(data.get("adjustments") or {}).items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
            os.replace(path, aside)
            self.recovered_from = aside
            return
        self._jobs = jobs
        self._adjustments = adjustments
        self._unfinalized = {job_id for job_id, job in jobs.items() if not job["finalized"]}


def _images(submission: Submission) -> list[tuple[str, str]]:
    """(role, url) of the images Legnext downloads for a submission: the start image, the end frame."""
    images = []
    if submission.kind == "image_url_video" and submission.prompt:
        images.append(("start", submission.prompt.split(maxsplit=1)[0]))
    if submission.options.end_url:
        images.append(("end", submission.options.end_url))
    return images


def _progress(job: dict[str, Any], status: str, now: float) -> int:
    """0 until processing starts, then the share of the processing phase elapsed (at most 99)."""
    if status in ("pending", "staged"):
        return 0
    if status in TERMINAL:
        return 100
    span = job["ended_at"] - job["processing_at"]
    progress = int(100 * (now - job["processing_at"]) / span) if span > 0 else 99
    return min(max(progress, 0), 99)


_JOB_FIELDS = {
    "job_id": str,
    "account": str,
    "kind": str,
    "callback": str,
    "cost": int,
    "depth": int,
    "created_at": float,
    "staged_at": float,
    "processing_at": float,
    "ended_at": float,
    "seed": str,
    "media_base": str,
    "finalized": bool,
}


def _checked_job(job: Any) -> dict[str, Any]:
    if not isinstance(job, dict) or job.get("kind") not in TASK_TYPES:
        raise ValueError("bad job record")
    for name, kind in _JOB_FIELDS.items():
        value = job[name]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            job[name] = float(value)
        elif not isinstance(value, kind):
            raise ValueError(f"bad job field {name}")
    return job
