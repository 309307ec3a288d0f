"""The sandbox downloads a job's start and end images, as Legnext must before it can render.

Legnext takes images only as URLs (the first word of an image-URL prompt, and ``--end <url>``) and
fetches them itself; its docs ask for a public URL of an image. What it does with one it cannot fetch
is not documented. Decision: the job is accepted (the POST answers at once, as every submission does),
the images are fetched in the background, and a job whose image cannot be used ends ``failed`` with
:data:`FETCH_FAILURE`'s code and message, and a raw message naming the image and what was wrong.

An image is usable when its URL answers 200 within :data:`MAX_REDIRECTS` redirects and
:data:`TIMEOUT` seconds, says ``Content-Type: image/...``, holds at most :data:`MAX_BYTES` bytes and
starts as a PNG, JPEG, WebP or GIF file does. Unless remote fetches are allowed, only loopback hosts
are fetched (each redirect too): the sandbox is a local stand-in and never reaches beyond this machine;
an image elsewhere is recorded as not fetched and the job goes on, as before the sandbox fetched.
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

MAX_BYTES = 20 * 1024 * 1024
MAX_REDIRECTS = 5
TIMEOUT = 10.0
#: What a job whose image could not be used fails with (Legnext's own wording is not known).
FETCH_FAILURE = (10004, "Failed to fetch the image. Use a public URL of a PNG, JPEG, WebP or GIF picture.")
_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class ImageFetch:
    """What fetching one image of a job found (kept with the job, shown by ``GET /_sandbox/jobs``)."""

    #: "start" (the image-URL prompt's first word) or "end" (``--end``).
    role: str
    url: str
    #: False when the sandbox did not try (a host beyond this machine, remote fetches off).
    fetched: bool
    #: The image was fetched and is usable.
    ok: bool
    status: int | None = None
    content_type: str | None = None
    size: int | None = None
    sha256: str | None = None
    #: What was wrong, or why it was not fetched.
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_loopback_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def will_fetch(url: str, *, allow_remote: bool) -> bool:
    return allow_remote or is_loopback_host(urlsplit(url).hostname or "")


def fetch_image(role: str, url: str, *, allow_remote: bool = False, timeout: float = TIMEOUT) -> ImageFetch:
    """Download ``url`` (never on the event loop) and say whether Legnext could render from it."""
    if not will_fetch(url, allow_remote=allow_remote):
        return ImageFetch(role, url, fetched=False, ok=False, problem="not fetched: beyond this machine")
    deadline = time.monotonic() + timeout

    def failed(problem: str, status: int | None = None, content_type: str | None = None) -> ImageFetch:
        return ImageFetch(role, url, True, False, status, content_type, problem=problem)

    with requests.Session() as session:
        session.trust_env = False
        answer = _follow(session, url, allow_remote=allow_remote, deadline=deadline)
        if isinstance(answer, str):
            return failed(answer)
        response = answer
        with response:
            content_type = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
            if response.status_code != 200:
                return failed(f"HTTP {response.status_code}", response.status_code, content_type)
            if not content_type.startswith("image/"):
                return failed(f"not an image ({content_type or 'no content type'})", 200, content_type)
            digest = hashlib.sha256()
            head = b""
            size = 0
            try:
                for chunk in response.iter_content(_CHUNK):
                    size += len(chunk)
                    if size > MAX_BYTES:
                        return failed(f"larger than {MAX_BYTES} bytes", 200, content_type)
                    if time.monotonic() > deadline:
                        return failed(f"took longer than {timeout:g} s", 200, content_type)
                    if len(head) < 16:
                        head += chunk[:16]
                    digest.update(chunk)
            except requests.RequestException as exc:
                return failed(f"the download broke off ({type(exc).__name__})", 200, content_type)
    if not _looks_like_a_picture(head):
        return failed("the file is not a PNG, JPEG, WebP or GIF picture", 200, content_type)
    return ImageFetch(role, url, True, True, 200, content_type, size, digest.hexdigest())


def _follow(
    session: requests.Session, url: str, *, allow_remote: bool, deadline: float
) -> requests.Response | str:
    """The answer at the end of ``url``'s redirects (each re-checked), or what went wrong."""
    target = url
    for _hop in range(MAX_REDIRECTS + 1):
        if not will_fetch(target, allow_remote=allow_remote):
            return f"redirected beyond this machine ({urlsplit(target).hostname})"
        try:
            response = session.get(
                target, stream=True, allow_redirects=False, timeout=max(0.1, deadline - time.monotonic())
            )
        except requests.RequestException as exc:
            return f"no answer ({type(exc).__name__})"
        if not response.is_redirect:
            return response
        response.close()
        target = urljoin(target, response.headers.get("Location", ""))
    return f"more than {MAX_REDIRECTS} redirects"


def _looks_like_a_picture(head: bytes) -> bool:
    if head.startswith(_SIGNATURES):
        return True
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
