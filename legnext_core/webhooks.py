"""Legnext callback deliveries: signature checks, replay protection and parsing.

Legnext POSTs a job to its ``callback`` URL when the job finishes. Its web app receives the wrapped
form ``{"timestamp": ..., "data": <job>}``; its Python SDK expects the bare job; both are accepted.
Signing appears only in the Python SDK (``X-Legnext-Signature`` = hex HMAC-SHA256 of
``"<X-Legnext-Timestamp>.<body>"``, or of the body alone without the timestamp header), and every
captured live job has an empty secret, so a delivery is only ever a hint: the tracker confirms the job
with a GET and never takes its status from the body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Mapping

from legnext_core.models import Job

SIGNATURE_HEADER = "X-Legnext-Signature"
TIMESTAMP_HEADER = "X-Legnext-Timestamp"
#: Larger than any job object (a job with four URLs and its logs is a few KiB).
MAX_BODY_BYTES = 256 * 1024
#: How far a signed timestamp may be from our clock, either way.
TIMESTAMP_TOLERANCE_SECONDS = 300.0


class WebhookError(Exception):
    """A delivery that is not accepted; the message is safe to return to the sender."""


class SignatureError(WebhookError):
    """The delivery is unsigned, wrongly signed or stale while a secret is configured (HTTP 401)."""


class ReplayedDeliveryError(WebhookError):
    """A correctly signed delivery that has been accepted before (HTTP 409)."""


class PayloadError(WebhookError):
    """The body is not a job, wrapped or bare (HTTP 400)."""


class ReplayGuard:
    """Remembers recently accepted signatures, bounded in time and in count. Thread-safe.

    A delivery with a timestamp cannot be replayed once it falls outside the tolerance window, so its
    entry only needs to outlive that window; one signed without a timestamp is remembered until the
    bound pushes it out (the oldest go first).
    """

    def __init__(self, max_entries: int = 10_000, ttl: float = 2 * TIMESTAMP_TOLERANCE_SECONDS) -> None:
        self._max_entries = max_entries
        self._ttl = ttl
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_sight(self, key: str, now: float) -> bool:
        """Record ``key``; True when it had not been seen (within the window), False for a replay."""
        with self._lock:
            while self._seen:
                oldest_key, seen_at = next(iter(self._seen.items()))
                if now - seen_at <= self._ttl and len(self._seen) < self._max_entries:
                    break
                del self._seen[oldest_key]
            if key in self._seen:
                return False
            self._seen[key] = now
            return True

    def __len__(self) -> int:
        return len(self._seen)


def sign(body: bytes, secret: str, timestamp: str | int | None = None) -> str:
    """The hex signature Legnext's SDK expects for ``body`` (with ``timestamp`` when given)."""
    message = body if timestamp is None else f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    now: float,
    replay_guard: ReplayGuard | None = None,
) -> None:
    """Raise ``SignatureError`` or ``ReplayedDeliveryError`` unless the delivery is signed with ``secret``.

    ``headers`` may be any mapping; names are matched without regard to case.
    """
    signature = _header(headers, SIGNATURE_HEADER)
    if not signature:
        raise SignatureError("The delivery is not signed.")
    timestamp = _header(headers, TIMESTAMP_HEADER)
    if timestamp is not None:
        try:
            sent_at = float(timestamp)
        except ValueError:
            raise SignatureError("The delivery's timestamp is not a number.") from None
        if abs(now - sent_at) > TIMESTAMP_TOLERANCE_SECONDS:
            raise SignatureError("The delivery's timestamp is too far from the current time.")
    provided = signature.strip().lower().removeprefix("sha256=")
    expected = sign(body, secret, timestamp)
    if not hmac.compare_digest(expected.encode(), provided.encode("utf-8", "replace")):
        raise SignatureError("The delivery's signature does not match.")
    if replay_guard is not None and not replay_guard.first_sight(f"{timestamp}:{expected}", now):
        raise ReplayedDeliveryError("This delivery has already been received.")


def parse_delivery(body: bytes) -> Job:
    """The job a delivery carries, from the wrapped ``{"timestamp", "data"}`` or the bare form."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        # RecursionError: deeply nested arrays or objects (a few KiB of "[" is enough).
        raise PayloadError("The body is not JSON.") from None
    if not isinstance(payload, dict):
        raise PayloadError("The body is not a job object.")
    if isinstance(payload.get("data"), dict) and "job_id" not in payload:
        payload = payload["data"]
    job_id = payload.get("job_id")
    if not isinstance(job_id, str) or not job_id.strip():
        raise PayloadError("The body has no job_id.")
    try:
        return Job.from_api(payload)
    except Exception as exc:  # noqa: BLE001 - any parse failure of a foreign body is a bad request
        raise PayloadError(f"The body is not a job ({type(exc).__name__}).") from None


#: A callback token: 32 lowercase hex characters (128 bits), see ``submit.new_callback_token``.
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


def is_callback_token(text: str) -> bool:
    """Whether ``text`` has the shape of a callback token (nothing is looked up)."""
    return bool(_TOKEN.match(text))


def token_of_callback(url: str | None) -> str | None:
    """The token a callback URL of ours ends in (``.../webhooks/legnext/<token>``), or None."""
    if not url:
        return None
    tail = url.rstrip("/").rsplit("/", 1)[-1]
    return tail if is_callback_token(tail) else None


class DeliveryCounts:
    """How many deliveries were answered how: counted, never logged one by one. Thread-safe.

    A flood of forged deliveries must not flood the log either; ``/healthz`` shows these counts.
    """

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, outcome: str) -> None:
        with self._lock:
            self._counts[outcome] += 1

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value
