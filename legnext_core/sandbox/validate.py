"""Checks of request bodies, field by field, as Legnext documents them.

Each function takes the decoded JSON object of one endpoint and returns the normalised fields, or
raises the 400 (``ApiError``) whose ``raw_message`` names the field and what is wrong with it. Request
fields are camelCase; unknown fields are ignored, as Legnext does. A JSON ``true`` is not an integer.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .wire import ApiError, invalid, top_level_error

PROMPT_MAX = 8192
CALLBACK_MAX = 2048
MAX_BODY_BYTES = 64 * 1024
#: The sandbox's demo moderation: a prompt containing one of these words is rejected with a 400.
BLOCKED_WORDS = ("nsfw", "gore", "nude")
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class PromptOptions:
    """The Midjourney options a prompt carries, as the sandbox honours them."""

    batch_size: int = 4
    speed: str = "fast"
    loop: bool = False
    end_url: str | None = None


@dataclass(frozen=True)
class Submission:
    """One validated job request."""

    kind: str
    prompt: str | None = None
    video_type: int | None = None
    parent_job_id: str | None = None
    parent_index: int | None = None
    callback: str = ""
    #: Midjourney options read from the prompt (``--bs``, ``--turbo``, ``--loop``, ``--end``).
    options: PromptOptions = PromptOptions()


def _present(body: dict[str, Any], name: str) -> bool:
    return body.get(name) is not None


def _text(body: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise invalid(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise invalid(f"{name} must be a string, got {_type_name(value)}")
    if not value.strip():
        raise invalid(f"{name} must not be empty (1-{PROMPT_MAX} characters)")
    if len(value) > PROMPT_MAX:
        raise invalid(f"{name} is {len(value)} characters long; the limit is {PROMPT_MAX}")
    return value


def _int(body: dict[str, Any], name: str, allowed: range, *, required: bool) -> int | None:
    value = body.get(name)
    if value is None:
        if required:
            raise invalid(f"{name} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"{name} must be an integer, got {_type_name(value)}")
    if value not in allowed:
        raise invalid(f"{name} must be between {allowed.start} and {allowed.stop - 1}, got {value}")
    return value


def _job_id(body: dict[str, Any], name: str = "jobId") -> str:
    value = body.get(name)
    if value is None:
        raise invalid(f"{name} is required")
    if not isinstance(value, str):
        raise invalid(f"{name} must be a string, got {_type_name(value)}")
    try:
        uuid.UUID(value)
    except ValueError:
        raise invalid(f"{name} must be a job id (a UUID), got {value[:64]!r}") from None
    return value


def _callback(body: dict[str, Any]) -> str:
    value = body.get("callback")
    # An empty callback is what the live service reports for "none", so it is accepted as none.
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        raise invalid(f"callback must be a string, got {_type_name(value)}")
    if len(value) > CALLBACK_MAX or not _is_http_url(value):
        raise invalid("callback must be an http(s) URL")
    return value


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in value)


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array"}.get(
        type(value), "an object" if isinstance(value, dict) else "null"
    )


BATCH_SIZES = ("1", "2", "4")


def _check_options(prompt: str | None) -> PromptOptions:
    """Midjourney options travel inside the prompt; a malformed one is a 400 naming it.

    ``--motion low|high``, ``--raw``, ``--end <http(s) image url>`` (Legnext's docs), ``--loop`` and
    ``--bs 1|2|4`` (Midjourney's, honoured here), ``--fast`` / ``--turbo`` (speed; turbo costs double).
    """
    if not prompt:
        return PromptOptions()
    words = prompt.split()
    batch_size, speed, loop, end_url = 4, "fast", False, None
    for position, word in enumerate(words):
        value = words[position + 1] if position + 1 < len(words) else ""
        if word == "--motion" and value not in ("low", "high"):
            raise invalid(f"prompt: --motion must be followed by low or high, got {value!r}")
        if word == "--bs":
            if value not in BATCH_SIZES:
                raise invalid(f"prompt: --bs must be followed by 1, 2 or 4, got {value[:32]!r}")
            batch_size = int(value)
        elif word == "--end":
            if not _is_http_url(value):
                raise invalid(f"prompt: --end must be followed by an http(s) image URL, got {value[:64]!r}")
            end_url = value
        elif word == "--loop":
            loop = True
        elif word in ("--fast", "--turbo"):
            speed = word[2:]
    return PromptOptions(batch_size, speed, loop, end_url)


def moderate(prompt: str | None) -> None:
    """The demo moderation rule: a blocked word anywhere in the prompt is a 400."""
    if not prompt:
        return
    words = set(_WORD.findall(prompt.lower()))
    for word in BLOCKED_WORDS:
        if word in words:
            raise ApiError(
                400,
                top_level_error(
                    400,
                    "Your prompt was rejected by content moderation",
                    f"banned prompt detected: {word!r}",
                ),
            )


def video_diffusion(body: dict[str, Any]) -> Submission:
    callback = _callback(body)
    video_type = _int(body, "videoType", range(0, 2), required=False)
    if _present(body, "jobId"):
        job_id, image_no = _parent(body, "imageNo")
        prompt = _text(body, "prompt", required=False)
        return _prompted("animate", prompt, video_type, job_id, image_no, callback)
    if _present(body, "imageNo"):
        raise invalid("imageNo is only allowed together with jobId (animate mode)")
    prompt = _text(body, "prompt", required=True)
    assert prompt is not None
    first = prompt.split(maxsplit=1)[0]
    kind = "text_video"
    if first.lower().startswith(("http://", "https://")):
        if not _is_http_url(first):
            raise invalid("prompt: the image URL at the start of the prompt is not a valid http(s) URL")
        kind = "image_url_video"
    return _prompted(kind, prompt, video_type, None, None, callback)


def extend_video(body: dict[str, Any]) -> Submission:
    callback = _callback(body)
    job_id, video_no = _parent(body, "videoNo")
    prompt = _text(body, "prompt", required=False)
    return _prompted("extend", prompt, None, job_id, video_no, callback)


def video_upscale(body: dict[str, Any]) -> Submission:
    callback = _callback(body)
    job_id, video_no = _parent(body, "videoNo")
    return Submission("upscale", None, None, job_id, video_no, callback)


def _parent(body: dict[str, Any], index_field: str) -> tuple[str, int]:
    """The job a submission is made from (``jobId``) and which of its four outputs (``index_field``)."""
    job_id = _job_id(body)
    index = _int(body, index_field, range(0, 4), required=True)
    assert index is not None
    return job_id, index


def _prompted(
    kind: str,
    prompt: str | None,
    video_type: int | None,
    parent_job_id: str | None,
    parent_index: int | None,
    callback: str,
) -> Submission:
    """A video submission: the options its prompt carries are read, and the prompt is moderated."""
    options = _check_options(prompt)
    moderate(prompt)
    return Submission(kind, prompt, video_type, parent_job_id, parent_index, callback, options)


def diffusion(body: dict[str, Any]) -> Submission:
    callback = _callback(body)
    text = _text(body, "text", required=True)
    moderate(text)
    return Submission("image", text, None, None, None, callback)
