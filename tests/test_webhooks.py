"""Callback verification and parsing: signatures, stale timestamps, replays, both body shapes."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from legnext_core.webhooks import (
    PayloadError,
    ReplayedDeliveryError,
    ReplayGuard,
    SignatureError,
    parse_delivery,
    sign,
    verify,
)

SECRET = "whsec-test-only"
NOW = 1_761_043_906.0
JOB_ID = "6a4bd4e7-1e3a-4c57-9a0c-6b1c2f7d8e90"
JOB = {
    "job_id": JOB_ID,
    "model": "midjourney",
    "task_type": "video_diffusion",
    "status": "completed",
    "output": {"video_urls": ["https://cdn.legnext.ai/v/0.mp4"], "seed": "42"},
    "meta": {"created_at": "2025-10-21T10:51:46Z", "usage": {"type": "point", "frozen": 480, "consume": 480}},
    "logs": [],
    "error": {"code": 0, "raw_message": "", "message": "", "detail": None},
}
BODY = json.dumps({"timestamp": int(NOW * 1000), "data": JOB}).encode()


def signed_headers(body: bytes = BODY, ts: float = NOW, secret: str = SECRET) -> dict[str, str]:
    stamp = str(int(ts))
    return {"X-Legnext-Timestamp": stamp, "X-Legnext-Signature": sign(body, secret, stamp)}


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    expected = hmac.new(SECRET.encode(), b"123." + BODY, hashlib.sha256).hexdigest()
    assert sign(BODY, SECRET, "123") == expected
    assert sign(BODY, SECRET) == hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()


def test_a_correctly_signed_delivery_is_accepted():
    verify(BODY, signed_headers(), SECRET, NOW, ReplayGuard())


def test_header_names_are_matched_without_regard_to_case():
    headers = {k.lower(): v for k, v in signed_headers().items()}
    verify(BODY, headers, SECRET, NOW, ReplayGuard())


def test_a_body_only_signature_is_accepted_without_a_timestamp_header():
    verify(BODY, {"X-Legnext-Signature": sign(BODY, SECRET)}, SECRET, NOW, ReplayGuard())


def test_a_wrong_secret_is_rejected():
    with pytest.raises(SignatureError, match="does not match"):
        verify(BODY, signed_headers(secret="someone-else"), SECRET, NOW, ReplayGuard())


def test_a_tampered_body_is_rejected():
    headers = signed_headers()
    with pytest.raises(SignatureError):
        verify(BODY.replace(b"completed", b"failed"), headers, SECRET, NOW, ReplayGuard())


def test_a_missing_signature_is_rejected():
    with pytest.raises(SignatureError, match="not signed"):
        verify(BODY, {"X-Legnext-Timestamp": str(int(NOW))}, SECRET, NOW, ReplayGuard())


@pytest.mark.parametrize("skew", [-301, 301, 3600])
def test_a_stale_or_future_timestamp_is_rejected_even_when_correctly_signed(skew):
    with pytest.raises(SignatureError, match="timestamp"):
        verify(BODY, signed_headers(ts=NOW + skew), SECRET, NOW, ReplayGuard())


def test_a_timestamp_just_inside_the_window_is_accepted():
    verify(BODY, signed_headers(ts=NOW - 299), SECRET, NOW, ReplayGuard())


def test_a_non_numeric_timestamp_is_rejected():
    headers = {"X-Legnext-Timestamp": "yesterday", "X-Legnext-Signature": sign(BODY, SECRET, "yesterday")}
    with pytest.raises(SignatureError):
        verify(BODY, headers, SECRET, NOW, ReplayGuard())


def test_a_replayed_delivery_is_rejected():
    guard = ReplayGuard()
    headers = signed_headers()
    verify(BODY, headers, SECRET, NOW, guard)
    with pytest.raises(ReplayedDeliveryError):
        verify(BODY, headers, SECRET, NOW + 5, guard)


def test_a_badly_signed_delivery_does_not_fill_the_replay_guard():
    guard = ReplayGuard()
    for i in range(20):
        with pytest.raises(SignatureError):
            verify(BODY, {"X-Legnext-Signature": f"{i:064x}"}, SECRET, NOW, guard)
    assert len(guard) == 0


def test_replay_guard_is_bounded_in_count_and_time():
    guard = ReplayGuard(max_entries=3, ttl=60)
    for key in "abcd":
        assert guard.first_sight(key, NOW)
    assert len(guard) == 3
    assert guard.first_sight("a", NOW)  # pushed out by the bound
    assert not guard.first_sight("d", NOW + 10)
    assert guard.first_sight("d", NOW + 61)  # forgotten after the window


def test_parse_accepts_the_wrapped_form():
    job = parse_delivery(BODY)
    assert job.job_id == JOB_ID
    assert job.video_urls == ["https://cdn.legnext.ai/v/0.mp4"]


def test_parse_accepts_the_bare_job():
    assert parse_delivery(json.dumps(JOB).encode()).job_id == JOB_ID


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'"text"',
        b"{}",
        b'{"timestamp": 1, "data": {}}',
        b'{"job_id": 7}',
        b"\xff\xfe",
    ],
)
def test_parse_rejects_bodies_that_are_not_a_job(body):
    with pytest.raises(PayloadError):
        parse_delivery(body)


def test_rejection_messages_never_echo_the_secret():
    with pytest.raises(SignatureError) as caught:
        verify(BODY, signed_headers(secret="x"), SECRET, NOW, ReplayGuard())
    assert SECRET not in str(caught.value)
