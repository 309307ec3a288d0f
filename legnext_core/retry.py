"""When the client may send a request again, and how long it waits first.

The policy is written once, as pure functions tested as tables: :func:`retry_verdict` says which
:class:`Failure` may be retried for which method, :func:`retry_delay` how long to wait. Two parts
carry it out:

- **urllib3's** :class:`~urllib3.util.Retry`, mounted on the client's ``requests`` session
  (:func:`transport_retry`), retries every GET whose failure it can see: connect errors and
  timeouts, read timeouts and dropped connections (its ``read`` errors, for GET only through
  ``allowed_methods``), and the statuses of :data:`GET_RETRY_STATUSES` (``status_forcelist``),
  honouring ``Retry-After`` (``respect_retry_after_header``, bounded by ``retry_after_max``). It
  also retries connection attempts for POST, which is safe: urllib3 counts as a connect error only
  a failure before the request was written (``ConnectTimeoutError``, ``NewConnectionError``).
- **the client's own loop** retries what that ``Retry`` cannot express (:data:`CLIENT_RETRIED`):

  * a 429 on a POST. ``allowed_methods`` is one list for statuses and read errors alike, so letting
    urllib3 resend a POST after a 429 would let it resend one after a read timeout or a 5xx too,
    which may bill a job twice;
  * a GET whose answer could not be read (cut short, or a success that is not JSON). urllib3's
    retries end when the status line and headers arrive; ``requests`` reads the body afterwards,
    outside them.

  And it alone decides "outcome unknown": a POST that may have reached Legnext is never sent again
  by either part (urllib3 never retries a POST's read error or status), and becomes
  :class:`~legnext_core.errors.SubmissionOutcomeUnknownError` for the caller to look up.

Kept in the subclass (:class:`_TransportRetry`), through urllib3's public overridable methods: the
injected sleep, clock and random source (tests run without waiting, with a pinned clock); a
``Retry-After`` that cannot be parsed falls back to backoff (urllib3 would raise ``InvalidHeader``);
and the backoff's shape (:func:`backoff_delay`: half a step plus jitter, so the first retry is never
immediate, where urllib3's own formula retries the first failure at once). Its knobs are still
urllib3's ``backoff_factor`` and ``backoff_max``. TLS and other unclassified errors are retried by
neither part (``other=0``): urllib3 cannot tell one after a POST was written from one before.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from urllib3.response import BaseHTTPResponse
from urllib3.util import Retry

#: Exponential backoff starts here (seconds) and doubles per attempt.
BACKOFF_BASE = 0.5
#: No backoff step is longer than this.
BACKOFF_MAX = 8.0
#: A server's ``Retry-After`` is honoured up to this many seconds.
RETRY_AFTER_CAP = 30.0


class Failure(StrEnum):
    """What went wrong with one attempt, as far as the client could tell."""

    #: The TCP/TLS connection was never established (refused, DNS, TLS handshake): nothing was sent.
    CONNECT_ERROR = "connect error"
    #: Establishing the connection timed out: nothing was sent.
    CONNECT_TIMEOUT = "connect timeout"
    #: The request was sent, no answer came in time. The server may be working on it.
    READ_TIMEOUT = "read timeout"
    #: The connection closed after the request was (or may have been) sent, with no answer.
    CONNECTION_DROPPED = "connection dropped"
    #: An answer arrived but could not be read (cut short, not JSON where JSON was due).
    UNREADABLE_BODY = "unreadable answer"
    #: HTTP 429: the server refused the request before doing anything.
    RATE_LIMITED = "rate limited (HTTP 429)"
    #: HTTP 5xx: the server (or a proxy) failed at some point of handling the request.
    SERVER_ERROR = "server error"


class Verdict(StrEnum):
    RETRY = "retry"
    #: Raise the plain error (connection error, timeout, rate limit, server error).
    GIVE_UP = "give up"
    #: A POST that may have created a job: raise SubmissionOutcomeUnknownError, never retry.
    OUTCOME_UNKNOWN = "outcome unknown"


#: Failures after which no job can exist, so even a paid POST may be sent again.
_NOTHING_CREATED = frozenset({Failure.CONNECT_ERROR, Failure.CONNECT_TIMEOUT, Failure.RATE_LIMITED})

#: HTTP statuses after which urllib3 sends a GET again: rate limited, and every server error.
GET_RETRY_STATUSES = frozenset({429, *range(500, 600)})

#: Failures the client's own loop retries, per method: what urllib3's ``Retry`` cannot express (see
#: the module docstring). Every other retryable failure has been retried by urllib3 already.
CLIENT_RETRIED = {
    "GET": frozenset({Failure.UNREADABLE_BODY}),
    "POST": frozenset({Failure.RATE_LIMITED}),
}


def retry_verdict(method: str, failure: Failure, attempt: int, max_retries: int) -> Verdict:
    """Decide what follows a failed attempt (``attempt`` counts from 0; ``max_retries`` extra tries).

    Reads (GET) change nothing on the server, so every transient failure is retried: connection
    errors, timeouts, dropped connections, unreadable answers, 429 and 5xx.

    A POST creates and bills a job. Per RFC 9110 a non-idempotent request is not repeated once it
    may have reached the server, and Legnext offers no idempotency key, so a POST is retried only
    when no job can have been created:

    - the connection was never made (connect error, connect timeout): the request never left;
    - a 429: Legnext refused it up front (too many running tasks or requests).

    After a read timeout, a 5xx (the job may have been created before the failure, or the 5xx came
    from a proxy in front of a server that did create it), a dropped connection or an unreadable
    answer the job may exist; sending again could create and bill it twice, which is what the
    official SDKs do and this client must not. Those become "outcome unknown" and the caller looks
    the job up before resubmitting.

    Once ``max_retries`` retries are spent, retryable failures give up with their plain error.
    """
    is_post = method.upper() != "GET"
    if is_post and failure not in _NOTHING_CREATED:
        return Verdict.OUTCOME_UNKNOWN
    if attempt >= max_retries:
        return Verdict.GIVE_UP
    return Verdict.RETRY


def client_verdict(method: str, failure: Failure, attempt: int, max_retries: int) -> Verdict:
    """What the client's own loop does with a failure that came out of urllib3's retries.

    The policy is :func:`retry_verdict`'s; a retry it allows is the loop's only for the failures of
    :data:`CLIENT_RETRIED`, as urllib3 has spent its own retries on the others.
    """
    verdict = retry_verdict(method, failure, attempt, max_retries)
    method_key = "GET" if method.upper() == "GET" else "POST"
    if verdict is Verdict.RETRY and failure not in CLIENT_RETRIED[method_key]:
        return Verdict.GIVE_UP
    return verdict


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delay-seconds or HTTP-date), or None if unusable.

    ``now`` is the current epoch time, given so the HTTP-date form can be tested with a pinned clock.
    Negative, non-finite and garbage values are None (the caller falls back to backoff); a date in the
    past is 0.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None:
        if not math.isfinite(seconds) or seconds < 0:
            return None
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now)


def backoff_delay(
    attempt: int, jitter: float, *, base: float = BACKOFF_BASE, cap: float = BACKOFF_MAX
) -> float:
    """Exponential backoff with jitter: between half and all of ``min(cap, base * 2**attempt)``.

    ``jitter`` is a number in [0, 1) the caller draws; half the step is kept so retries of many clients
    spread out without ever firing immediately.
    """
    step = min(cap, base * (2 ** max(0, attempt)))
    return step / 2 + step / 2 * min(max(jitter, 0.0), 1.0)


def retry_delay(
    attempt: int,
    retry_after: str | None,
    *,
    now: float,
    jitter: float,
    retry_after_cap: float = RETRY_AFTER_CAP,
    base: float = BACKOFF_BASE,
    cap: float = BACKOFF_MAX,
) -> float:
    """Seconds to sleep before retry number ``attempt + 1``: the server's ``Retry-After`` when usable
    (capped at ``retry_after_cap``), else exponential backoff with jitter."""
    asked = parse_retry_after(retry_after, now)
    if asked is not None:
        return min(asked, retry_after_cap)
    return backoff_delay(attempt, jitter, base=base, cap=cap)


class _TransportRetry(Retry):
    """urllib3's ``Retry`` with the client's sleep, clock and random source, and its backoff shape.

    Only public, documented-as-overridable methods are replaced (``new``, ``parse_retry_after``,
    ``get_backoff_time``, ``sleep``); urllib3 keeps deciding what is retried and counting attempts.
    """

    def __init__(
        self,
        *args: Any,
        pause: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.pause = pause
        self.clock = clock
        self.rng = rng or random.Random()

    def new(self, **kw: Any) -> _TransportRetry:
        # urllib3 makes a fresh Retry per attempt from its own parameters; carry ours over.
        fresh = super().new(**kw)
        fresh.pause, fresh.clock, fresh.rng = self.pause, self.clock, self.rng
        return fresh

    def parse_retry_after(self, retry_after: str) -> float:
        # An unusable value means "no advice" (backoff), not an InvalidHeader escaping the request.
        seconds = parse_retry_after(retry_after, self.clock())
        return 0.0 if seconds is None else min(seconds, self.retry_after_max)

    def get_backoff_time(self) -> float:
        return backoff_delay(
            len(self.history) - 1, self.rng.random(), base=self.backoff_factor, cap=self.backoff_max
        )

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        # As urllib3's own: the server's Retry-After when it gave a usable one, else backoff. Unlike
        # urllib3's, every retry waits (and goes through the injected pause).
        asked = self.get_retry_after(response) if response and self.respect_retry_after_header else None
        self.pause(asked if asked else self.get_backoff_time())


def transport_retry(
    max_retries: int,
    *,
    retry_after_cap: float = RETRY_AFTER_CAP,
    pause: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
    rng: random.Random | None = None,
) -> Retry:
    """The ``Retry`` to mount on the client's ``HTTPAdapter``: GETs retried ``max_retries`` times.

    ``raise_on_status=False`` hands the last failed answer back once retries are spent, so the
    client reads Legnext's error body from it like any other. Redirects are never followed (the
    client refuses them), so ``redirect=0``.
    """
    return _TransportRetry(
        total=max_retries,
        other=0,
        redirect=0,
        allowed_methods=frozenset({"GET"}),
        status_forcelist=GET_RETRY_STATUSES,
        backoff_factor=BACKOFF_BASE,
        backoff_max=BACKOFF_MAX,
        respect_retry_after_header=True,
        retry_after_max=math.ceil(retry_after_cap),
        raise_on_status=False,
        pause=pause,
        clock=clock,
        rng=rng,
    )
