"""The retry policy as tables: which failures are retried for GET and POST, and how long the client waits."""

from __future__ import annotations

import email.utils

import pytest

from legnext_core.retry import (
    BACKOFF_MAX,
    RETRY_AFTER_CAP,
    Failure,
    Verdict,
    backoff_delay,
    client_verdict,
    parse_retry_after,
    retry_delay,
    retry_verdict,
)

NOW = 1_761_043_906.0  # 2025-10-21T10:51:46Z, pinned
HTTP_DATE_IN_7S = email.utils.formatdate(NOW + 7, usegmt=True)
HTTP_DATE_PAST = email.utils.formatdate(NOW - 60, usegmt=True)
HTTP_DATE_FAR = email.utils.formatdate(NOW + 86_400, usegmt=True)


@pytest.mark.parametrize(
    ("failure", "get", "post"),
    [
        (Failure.CONNECT_ERROR, Verdict.RETRY, Verdict.RETRY),
        (Failure.CONNECT_TIMEOUT, Verdict.RETRY, Verdict.RETRY),
        (Failure.RATE_LIMITED, Verdict.RETRY, Verdict.RETRY),
        (Failure.READ_TIMEOUT, Verdict.RETRY, Verdict.OUTCOME_UNKNOWN),
        (Failure.SERVER_ERROR, Verdict.RETRY, Verdict.OUTCOME_UNKNOWN),
        (Failure.CONNECTION_DROPPED, Verdict.RETRY, Verdict.OUTCOME_UNKNOWN),
        (Failure.UNREADABLE_BODY, Verdict.RETRY, Verdict.OUTCOME_UNKNOWN),
    ],
)
def test_post_is_retried_only_when_no_job_can_exist(failure, get, post):
    assert retry_verdict("GET", failure, 0, 3) is get
    assert retry_verdict("POST", failure, 0, 3) is post


@pytest.mark.parametrize("failure", list(Failure))
def test_retries_stop_at_the_limit(failure):
    for attempt in range(3):
        assert retry_verdict("GET", failure, attempt, 3) is Verdict.RETRY
    assert retry_verdict("GET", failure, 3, 3) is Verdict.GIVE_UP
    assert retry_verdict("GET", failure, 0, 0) is Verdict.GIVE_UP


def test_outcome_unknown_wins_even_with_no_retries_left():
    assert retry_verdict("POST", Failure.READ_TIMEOUT, 3, 3) is Verdict.OUTCOME_UNKNOWN
    assert retry_verdict("POST", Failure.RATE_LIMITED, 3, 3) is Verdict.GIVE_UP


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("5", 5.0),
        (" 5 ", 5.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("-3", None),
        ("nan", None),
        ("inf", None),
        ("soon", None),
        ("Mon, 99 Foo 2025 25:61:00 GMT", None),
        (HTTP_DATE_IN_7S, 7.0),
        (HTTP_DATE_PAST, 0.0),
        (HTTP_DATE_FAR, 86_400.0),
    ],
)
def test_parse_retry_after(header, expected):
    assert parse_retry_after(header, NOW) == expected


@pytest.mark.parametrize(
    ("attempt", "header", "jitter", "expected"),
    [
        # Missing or unusable: exponential backoff, half the step plus jitter.
        (0, None, 0.0, 0.25),
        (0, None, 0.999999, 0.5),
        (1, None, 0.0, 0.5),
        (2, None, 0.5, 1.5),
        (10, None, 0.0, BACKOFF_MAX / 2),
        (10, None, 0.999999, BACKOFF_MAX),
        (0, "-1", 0.0, 0.25),
        (1, "garbage", 0.0, 0.5),
        # Usable: the server's word, capped.
        (0, "2", 0.7, 2.0),
        (3, "0", 0.7, 0.0),
        (0, HTTP_DATE_IN_7S, 0.7, 7.0),
        (0, HTTP_DATE_PAST, 0.7, 0.0),
        (0, "100000", 0.7, RETRY_AFTER_CAP),
        (0, HTTP_DATE_FAR, 0.7, RETRY_AFTER_CAP),
    ],
)
def test_retry_delay(attempt, header, jitter, expected):
    assert retry_delay(attempt, header, now=NOW, jitter=jitter) == pytest.approx(expected, abs=1e-5)


def test_retry_after_cap_is_configurable():
    assert retry_delay(0, "100", now=NOW, jitter=0.0, retry_after_cap=3.0) == 3.0


def test_backoff_grows_and_stays_within_bounds():
    delays = [backoff_delay(n, 0.0) for n in range(8)]
    assert delays == sorted(delays)
    assert all(0 < d <= BACKOFF_MAX for d in delays)


@pytest.mark.parametrize(
    ("failure", "get", "post"),
    [
        # Retried by urllib3's Retry already (GET), or never left (POST connect): final here.
        (Failure.CONNECT_ERROR, Verdict.GIVE_UP, Verdict.GIVE_UP),
        (Failure.CONNECT_TIMEOUT, Verdict.GIVE_UP, Verdict.GIVE_UP),
        (Failure.READ_TIMEOUT, Verdict.GIVE_UP, Verdict.OUTCOME_UNKNOWN),
        (Failure.SERVER_ERROR, Verdict.GIVE_UP, Verdict.OUTCOME_UNKNOWN),
        (Failure.CONNECTION_DROPPED, Verdict.GIVE_UP, Verdict.OUTCOME_UNKNOWN),
        # What urllib3 cannot express: the client's own loop retries it.
        (Failure.RATE_LIMITED, Verdict.GIVE_UP, Verdict.RETRY),
        (Failure.UNREADABLE_BODY, Verdict.RETRY, Verdict.OUTCOME_UNKNOWN),
    ],
)
def test_the_client_loop_retries_only_what_urllib3_cannot(failure, get, post):
    assert client_verdict("GET", failure, 0, 3) is get
    assert client_verdict("POST", failure, 0, 3) is post
    assert client_verdict("POST", failure, 3, 3) is not Verdict.RETRY
