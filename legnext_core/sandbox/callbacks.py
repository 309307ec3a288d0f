"""Delivery of job callbacks (webhooks), on a worker thread, with retries.

When a job reaches a terminal status the sandbox POSTs it to the job's ``callback`` URL in the
wrapped form Legnext's own web app receives: ``{"timestamp": <unix seconds>, "data": <job object>}``.
With a webhook secret configured, the delivery is signed as the official Python SDK expects:
``X-Legnext-Timestamp: <unix seconds>`` and ``X-Legnext-Signature: hex(HMAC-SHA256(secret,
f"{timestamp}.{body}"))``. The timestamp is wall-clock time (the moment of delivery), also when the
sandbox runs on a manual clock, so a receiver's replay window sees a current timestamp.

Legnext's retry policy is not documented; the sandbox retries a failed delivery (no answer, or a
non-2xx answer) after each of ``retry_delays`` seconds, then gives up. Deliveries never run on the
server's event loop. Unless ``allow_remote`` is set, callbacks go only to loopback hosts: the sandbox
is a local stand-in, and a stray test URL (``https://your-domain.com/webhook``) must not leave the machine.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from legnext_core.sandbox.fetch import is_loopback_host

DEFAULT_RETRY_DELAYS = (1.0, 4.0, 15.0)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


@dataclass(order=True)
class _Pending:
    due: float
    order: int
    job_id: str = field(compare=False)
    url: str = field(compare=False)
    job: dict[str, Any] = field(compare=False)
    attempt: int = field(compare=False, default=1)


class CallbackDeliverer:
    """A queue of callback deliveries and the one thread that sends them."""

    def __init__(
        self,
        secret: str | None = None,
        *,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        timeout: float = 5.0,
        wall_clock: Callable[[], float] = time.time,
        allow_remote: bool = False,
    ) -> None:
        self._allow_remote = allow_remote
        self._secret = secret
        self._retry_delays = tuple(retry_delays)
        self._timeout = timeout
        self._wall_clock = wall_clock
        self._queue: list[_Pending] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._in_flight = 0
        self._stopping = False
        self._thread: threading.Thread | None = None
        #: One entry per attempt: job_id, url, attempt, status (int | None), error (str | None), at.
        self.attempts: list[dict[str, Any]] = []

    def __repr__(self) -> str:
        return f"CallbackDeliverer(signed={self._secret is not None}, queued={len(self._queue)})"

    def enqueue(self, job_id: str, url: str, job: dict[str, Any]) -> None:
        with self._cond:
            if self._stopping:
                return
            heapq.heappush(self._queue, _Pending(time.monotonic(), next(self._order), job_id, url, job))
            self._ensure_thread()
            self._cond.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until nothing is queued or being sent (retries included). False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.05))
            return True

    def pending(self) -> int:
        with self._cond:
            return len(self._queue) + self._in_flight

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._queue.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="sandbox-callbacks", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        session = requests.Session()
        try:
            while True:
                with self._cond:
                    item = self._next_due()
                    if item is None:
                        return
                    self._in_flight += 1
                try:
                    self._attempt(session, item)
                finally:
                    with self._cond:
                        self._in_flight -= 1
                        self._cond.notify_all()
        finally:
            session.close()

    def _next_due(self) -> _Pending | None:
        while not self._stopping:
            if self._queue:
                wait = self._queue[0].due - time.monotonic()
                if wait <= 0:
                    return heapq.heappop(self._queue)
                self._cond.wait(wait)
            else:
                self._cond.wait(1.0)
        return None

    def _attempt(self, session: requests.Session, item: _Pending) -> None:
        timestamp = int(self._wall_clock())
        body = json.dumps({"timestamp": timestamp, "data": item.job}, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "legnext-sandbox"}
        if self._secret:
            headers["X-Legnext-Timestamp"] = str(timestamp)
            headers["X-Legnext-Signature"] = sign(self._secret, timestamp, body)
        status: int | None = None
        error: str | None = None
        if not self._allow_remote and not is_loopback_host(urlsplit(item.url).hostname or ""):
            self._record(item, timestamp, None, "remote callbacks are disabled in this sandbox", retry=False)
            return
        try:
            response = session.post(item.url, data=body, headers=headers, timeout=self._timeout)
            status = response.status_code
            response.close()
        except requests.RequestException as exc:
            error = type(exc).__name__
        self._record(item, timestamp, status, error, retry=True)

    def _record(
        self, item: _Pending, timestamp: int, status: int | None, error: str | None, *, retry: bool
    ) -> None:
        delivered = status is not None and 200 <= status < 300
        with self._cond:
            self.attempts.append(
                {
                    "job_id": item.job_id,
                    "url": item.url,
                    "attempt": item.attempt,
                    "status": status,
                    "error": error,
                    "delivered": delivered,
                    "at": timestamp,
                }
            )
            if retry and not delivered and item.attempt <= len(self._retry_delays) and not self._stopping:
                delay = self._retry_delays[item.attempt - 1]
                again = _Pending(
                    time.monotonic() + delay,
                    next(self._order),
                    item.job_id,
                    item.url,
                    item.job,
                    item.attempt + 1,
                )
                heapq.heappush(self._queue, again)
