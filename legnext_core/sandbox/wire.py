"""Legnext's wire format as the sandbox writes it: the job object, timestamps and error bodies.

Written from the project's API notes, field for field: snake_case keys, underscored ``task_type``,
Go's zero time for unset timestamps, ``error.code`` 0 on success. Nothing here is shared with the
client: the two sides are written separately so a test between them can catch a mismatch.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

#: Go's zero ``time.Time``, which Legnext sends for a timestamp that is not set yet.
ZERO_TIME = "0001-01-01T00:00:00Z"
MODEL = "midjourney"

TASK_TYPES = {
    "text_video": "video_diffusion",
    "image_url_video": "video_diffusion",
    "animate": "video_diffusion",
    "extend": "extend_video",
    "upscale": "video_upscale",
    "image": "diffusion",
}
VIDEO_KINDS = frozenset({"text_video", "image_url_video", "animate", "extend", "upscale"})

#: Message of the live 403 (job-shaped body) for an account without the feature.
PERMISSION_DENIED_MESSAGE = (
    "This feature is only available for whitelisted accounts. Please contact support to enable it."
)


class ApiError(Exception):
    """An HTTP error answer: status, JSON body and extra headers."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status}: {body.get('message') or body.get('error', {}).get('message')}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def top_level_error(code: int, message: str, raw_message: str = "") -> dict[str, Any]:
    """Body shape 1 of the API notes (validation, auth, not found, limits)."""
    return {"code": code, "message": message, "raw_message": raw_message, "detail": None}


def invalid(raw_message: str) -> ApiError:
    """The 400 for a request field that is missing, of the wrong type, or out of range."""
    return ApiError(400, top_level_error(400, "Invalid request parameters", raw_message))


def iso(timestamp: float | None) -> str:
    """RFC 3339 UTC with whole seconds, as Legnext sends them; the zero time when unset."""
    if timestamp is None:
        return ZERO_TIME
    return datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_nanos(timestamp: float) -> str:
    """RFC 3339 UTC with nine fractional digits, as the balance endpoint's ``updated_at`` has them."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}000Z"


def no_error() -> dict[str, Any]:
    return {"code": 0, "raw_message": "", "message": "", "detail": None}


def job_object(
    *,
    job_id: str,
    task_type: str,
    status: str,
    callback: str,
    output: dict[str, Any],
    created_at: float | None,
    started_at: float | None,
    ended_at: float | None,
    frozen: int,
    consume: int,
    logs: list[str],
    error: dict[str, Any] | None = None,
    model: str = MODEL,
    service_mode: str = "public",
) -> dict[str, Any]:
    """A job object in the key order Legnext sends (its Go struct order)."""
    return {
        "job_id": job_id,
        "model": model,
        "task_type": task_type,
        "status": status,
        # The live service never echoes the webhook secret: every captured job has "".
        "config": {"service_mode": service_mode, "webhook_config": {"endpoint": callback, "secret": ""}},
        "input": None,
        "output": output,
        "meta": {
            "created_at": iso(created_at),
            "started_at": iso(started_at),
            "ended_at": iso(ended_at),
            "usage": {"type": "point", "frozen": frozen, "consume": consume},
        },
        "detail": None,
        "logs": logs,
        "error": error or no_error(),
    }


def permission_denied_body() -> dict[str, Any]:
    """Body shape 2: the job-shaped 403 seen live, a job object with empty fields."""
    return job_object(
        job_id="",
        task_type="",
        status="failed",
        callback="",
        output={"video_urls": None, "seed": ""},
        created_at=None,
        started_at=None,
        ended_at=None,
        frozen=0,
        consume=0,
        logs=[],
        error={"code": 403, "raw_message": "", "message": PERMISSION_DENIED_MESSAGE, "detail": None},
        model="",
        service_mode="",
    )
