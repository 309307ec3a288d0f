"""Copies finished result media to local disk, because Legnext deletes it after 30 days.

A result URL comes from the API's answer, so it is treated as untrusted input: it is only fetched from
an allowed host (``settings.media_hosts``; ``*.legnext.ai`` matches any subdomain) or, in sandbox mode,
from loopback; every address the host resolves to must be public (unless loopback is allowed, and then
only loopback besides public); redirects are followed by hand so each hop is checked again; the size
and the total time are bounded. The download uses its own session, which never carries the API key,
cookies from elsewhere, ``.netrc`` credentials or proxy settings from the environment. Files are written
to a temporary name and renamed, so a half-written file never appears under its final name.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests

from legnext_core.hosts import is_loopback_host

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
DEFAULT_TIMEOUT = 120.0
MAX_REDIRECTS = 5
_CHUNK = 64 * 1024
_SAFE_SUFFIX = re.compile(r"^\.[a-z0-9]{1,5}$")
_SAFE_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


class ArchiveError(Exception):
    """A download that failed and may work if tried again (network, server error, timeout)."""


class MediaRefused(ArchiveError):
    """A download refused by policy (host, address, size, scheme); trying again will not help."""


class MediaArchiver:
    """Downloads result media into ``media_dir/<job_id>/`` under the rules in the module docstring."""

    def __init__(
        self,
        media_dir: Path | str,
        allowed_hosts: Iterable[str],
        *,
        allow_loopback: bool = False,
        max_bytes: int = DEFAULT_MAX_BYTES,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.media_dir = Path(media_dir)
        self.allowed_hosts = tuple(h.strip().lower().rstrip(".") for h in allowed_hosts if h.strip())
        self.allow_loopback = allow_loopback
        self.max_bytes = max_bytes
        self.timeout = timeout

    # -- policy ---------------------------------------------------------------------------------
    def host_allowed(self, host: str) -> bool:
        """Whether a host name may be fetched from (before DNS: the address check comes later)."""
        host = host.lower().rstrip(".")
        if self.allow_loopback and is_loopback_host(host):
            return True
        for pattern in self.allowed_hosts:
            if pattern == "*":  # any host: the address check alone decides (public addresses only)
                return True
            if pattern.startswith("*."):
                if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                    return True
            elif host == pattern:
                return True
        return False

    def check_url(self, url: str) -> None:
        """Raise ``MediaRefused`` unless ``url`` may be fetched (scheme, host, resolved addresses)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise MediaRefused(f"Refused a media URL with scheme {parts.scheme or 'none'!r}.")
        if parts.username or parts.password:
            raise MediaRefused("Refused a media URL that carries credentials.")
        host = parts.hostname or ""
        if not host or not self.host_allowed(host):
            raise MediaRefused(f"Refused media from {host or 'no host'}: not an allowed media host.")
        for address in _resolve(host, parts.port or (443 if parts.scheme == "https" else 80)):
            if address.is_loopback and self.allow_loopback:
                continue
            if not address.is_global:
                raise MediaRefused(f"Refused media from {host}: it resolves to a non-public address.")

    # -- downloads ------------------------------------------------------------------------------
    def archive(self, job_id: str, urls: Sequence[str | None]) -> list[str | None]:
        """Download each URL; one local path per URL, None where it failed (the error is logged)."""
        paths: list[str | None] = []
        for index, url in enumerate(urls):
            if not url:
                paths.append(None)
                continue
            try:
                paths.append(str(self.archive_one(job_id, index, url)))
            except ArchiveError as exc:
                log.warning("Archiving output %d of job %s failed: %s", index, job_id, exc)
                paths.append(None)
        return paths

    def archive_one(self, job_id: str, index: int, url: str) -> Path:
        """Download one URL to ``media_dir/<job_id>/<index><suffix>`` and return that path.

        Raises ``MediaRefused`` for a policy refusal, ``ArchiveError`` for anything worth retrying.
        """
        if not _SAFE_JOB_ID.match(job_id):
            raise MediaRefused("Refused to archive media for a malformed job id.")
        target_dir = self.media_dir / job_id
        deadline = time.monotonic() + self.timeout
        with requests.Session() as session:
            # No proxies or .netrc credentials from the environment: the download carries nothing.
            session.trust_env = False
            response = self._open(session, url, deadline)
            with response:
                declared = response.headers.get("Content-Length")
                if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
                    raise MediaRefused(f"Refused media of {int(declared)} bytes: over the size limit.")
                target_dir.mkdir(parents=True, exist_ok=True)
                target = target_dir / f"{index}{_suffix(response.url or url)}"
                self._write(response, target, deadline)
        return target

    def _open(self, session: requests.Session, url: str, deadline: float) -> requests.Response:
        for _hop in range(MAX_REDIRECTS + 1):
            self.check_url(url)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ArchiveError("The media download ran out of time.")
            try:
                response = session.get(url, stream=True, allow_redirects=False, timeout=min(remaining, 30.0))
            except requests.RequestException as exc:
                raise ArchiveError(f"The media request failed ({type(exc).__name__}).") from None
            if response.is_redirect:
                location = response.headers.get("Location", "")
                response.close()
                url = urljoin(url, location)
                continue
            if response.status_code != 200:
                response.close()
                error = MediaRefused if response.status_code in (401, 403, 404, 410) else ArchiveError
                raise error(f"The media server answered HTTP {response.status_code}.")
            return response
        raise MediaRefused(f"Refused media after more than {MAX_REDIRECTS} redirects.")

    def _write(self, response: requests.Response, target: Path, deadline: float) -> None:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, renamed on success
            dir=target.parent, prefix=f".{target.name}.", suffix=".part", delete=False
        )
        received = 0
        try:
            with handle:
                for chunk in response.iter_content(_CHUNK):
                    received += len(chunk)
                    if received > self.max_bytes:
                        raise MediaRefused("Refused media over the size limit.")
                    if time.monotonic() > deadline:
                        raise ArchiveError("The media download ran out of time.")
                    handle.write(chunk)
            if received == 0:
                raise ArchiveError("The media server sent an empty file.")
            os.replace(handle.name, target)
        except requests.RequestException as exc:
            Path(handle.name).unlink(missing_ok=True)
            raise ArchiveError(f"The media download broke off ({type(exc).__name__}).") from None
        except BaseException:
            Path(handle.name).unlink(missing_ok=True)
            raise


# -- checking an image URL a person typed ------------------------------------------------------------

#: The largest image a person may point Legnext at (Midjourney's own upload limit is in this range).
IMAGE_MAX_BYTES = 20 * 1024 * 1024
IMAGE_CHECK_TIMEOUT = 10.0


@dataclass(frozen=True)
class ImageCheck:
    """What checking an image URL found."""

    #: The URL answers with an image within the size limit, from public addresses only.
    ok: bool
    #: What is wrong, in a sentence a person can act on (None when ok).
    problem: str | None = None
    #: The check itself could not run (no answer, no name resolution, time out): the URL may be fine.
    could_not_check: bool = False


def check_image_url(
    url: str,
    *,
    allow_loopback: bool = False,
    max_bytes: int = IMAGE_MAX_BYTES,
    timeout: float = IMAGE_CHECK_TIMEOUT,
) -> ImageCheck:
    """Fetch ``url`` the way the archiver fetches results, and say whether it is a usable image.

    The same rules as archiving (module docstring): no credentials in the URL, every address public
    (loopback only when allowed, for the sandbox), each redirect checked again, size and time bounded,
    nothing of ours sent along. Any host may serve the image.
    """
    fetcher = MediaArchiver(
        Path(), ["*"], allow_loopback=allow_loopback, max_bytes=max_bytes, timeout=timeout
    )
    deadline = time.monotonic() + timeout
    with requests.Session() as session:
        session.trust_env = False
        try:
            response = fetcher._open(session, url, deadline)
        except MediaRefused as exc:
            return ImageCheck(False, _plain_reason(str(exc)))
        except ArchiveError as exc:
            return ImageCheck(False, _plain_reason(str(exc)), could_not_check=True)
        with response:
            kind = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
            if not kind.startswith("image/"):
                return ImageCheck(False, f"It is not an image: the server sends {kind or 'no content type'}.")
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                size = _megabytes(int(declared))
                return ImageCheck(False, f"The image is {size}: over the {_megabytes(max_bytes)} limit.")
            received = 0
            try:
                for chunk in response.iter_content(_CHUNK):
                    received += len(chunk)
                    if received > max_bytes:
                        return ImageCheck(False, f"The image is over the {_megabytes(max_bytes)} limit.")
                    if time.monotonic() > deadline:
                        return ImageCheck(False, "The image took too long to download.", could_not_check=True)
            except requests.RequestException:
                return ImageCheck(False, "The download of the image broke off.", could_not_check=True)
            if received == 0:
                return ImageCheck(False, "The server sends an empty file, not an image.")
    return ImageCheck(True)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB"


_PLAIN_REASONS = (
    ("credentials", "The URL carries a user name or password: use a URL that needs none."),
    ("non-public", "Its host is a private or local address: Legnext can only fetch public images."),
    ("scheme", "It must start with http:// or https://."),
    ("redirects", f"It redirects more than {MAX_REDIRECTS} times."),
    ("could not be resolved", "Its host name could not be looked up from here."),
)


def _plain_reason(message: str) -> str:
    """An archiver refusal worded for the person who typed the URL."""
    for marker, reason in _PLAIN_REASONS:
        if marker in message:
            return reason
    match = re.search(r"HTTP (\d{3})", message)
    if match:
        return f"The server answers HTTP {match.group(1)} instead of an image."
    return message.replace("media ", "")


def _resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise ArchiveError(f"The media host {host} could not be resolved.") from None
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        addresses.append(address)
    if not addresses:
        raise ArchiveError(f"The media host {host} has no address.")
    return addresses


def _suffix(url: str) -> str:
    suffix = Path(urlsplit(url).path).suffix.lower()
    return suffix if _SAFE_SUFFIX.match(suffix) else ".bin"


def recorded_path(raw: str | None, media_dir: Path | None = None) -> Path | None:
    """The file an archived path in the job log names (a relative one is under ``media_dir``), or None.

    The file may have gone since: see :func:`archived_file`.
    """
    if not raw:
        return None
    path = Path(raw)
    return media_dir / path if media_dir is not None and not path.is_absolute() else path


def archived_file(raw: str | None, media_dir: Path | None = None) -> Path | None:
    """An archived file that is still there, or None."""
    path = recorded_path(raw, media_dir)
    return path if path is not None and path.is_file() else None
