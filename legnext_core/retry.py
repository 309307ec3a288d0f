"""When the client may send a request again, and how long it waits first. Pure functions only.

The client classifies each failed attempt as a :class:`Failure`, asks :func:`retry_verdict` what to
do, and, for a retry, sleeps :func:`retry_delay` seconds. Keeping the decision here, free of I/O and
clocks, lets the whole policy be tested as tables.
"""

from __future__ import annotations

import email.utils
import math
from enum import StrEnum

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
