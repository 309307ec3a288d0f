"""LegnextClient: the one place that talks HTTP to Legnext (or to the sandbox, which speaks the same wire).

What it does differently from the official SDKs, on purpose:

- a paid POST is never sent twice when it may have created a job (read timeout, 5xx, dropped
  connection, unreadable answer): it raises :class:`SubmissionOutcomeUnknownError` instead, and the
  caller looks for the job before resubmitting (the policy and its reasons: :mod:`legnext_core.retry`);
- GETs are retried by urllib3's ``Retry`` on the session's adapter; the client's own loop keeps only
  what that cannot express (a 429 on a POST, an answer that could not be read), see
  :mod:`legnext_core.retry`;
- it can send every mode, including animate-image (``jobId`` + ``imageNo`` on ``/v1/video-diffusion``);
- it reads every documented error body and keeps Legnext's message (:func:`errors.error_from_response`);
- input is validated before anything is sent (:class:`InvalidInputError`, naming the field).

Security: every request has a (connect, read) timeout. The key travels only in the ``x-api-key``
header of requests to the configured base URL: redirects are never followed (requests' ``rebuild_auth``
strips ``Authorization`` on a cross-host redirect but not custom headers, so a followed redirect would
hand the key to the other host), job ids are checked to be UUIDs before they go into a path, and the
key is scrubbed from any answer text kept in an error. The key is in no exception, repr or log line.
The client never downloads result media.

Sharing across threads: one ``requests.Session`` serves all threads (the tracker's pollers, page
submissions). This is safe because the session's state is never changed after construction: headers,
timeouts and ``allow_redirects=False`` are passed per request, cookies are refused by policy (the jar
stays empty, so no thread writes it), and redirects (the one path where requests mutates per-request
state from a response) are never followed. Connections come from urllib3's thread-safe pool, sized by
``pool_maxsize`` for the tracker's parallel polls plus submissions.
"""

from __future__ import annotations

import http.cookiejar
import json
import logging
import random
import time
from collections.abc import Callable
from typing import Any, NamedTuple, NoReturn
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NewConnectionError, ReadTimeoutError
from urllib3.exceptions import ProxyError as Urllib3ProxyError

from legnext_core.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    InvalidInputError,
    LegnextError,
    SubmissionOutcomeUnknownError,
    error_from_response,
)
from legnext_core.models import (
    ActiveTasks,
    Balance,
    Job,
    JobKind,
    JobRequest,
    validate_callback,
    validate_index,
    validate_job_id,
    validate_prompt,
    validate_video_type,
)
from legnext_core.retry import (
    RETRY_AFTER_CAP,
    Failure,
    Verdict,
    client_verdict,
    parse_retry_after,
    retry_delay,
    transport_retry,
)
from legnext_core.settings import LIVE_BASE_URL

logger = logging.getLogger(__name__)

#: Connecting should never take long; a slow connect means the host is unreachable.
DEFAULT_CONNECT_TIMEOUT = 10.0
#: Connections kept per host: the tracker polls a few jobs in parallel while pages submit.
DEFAULT_POOL_MAXSIZE = 10
#: Answers to ``GET /account/active_tasks`` that mean the server does not offer it.
ACTIVE_TASKS_NOT_OFFERED = frozenset({404, 405, 501})
_REDACTED = "[redacted]"
_USER_AGENT = "legnext-video-studio"


def _check_api_key(api_key: Any) -> str:
    # requests echoes an invalid header value in its exception message, so a key with a newline or
    # other control character would leak; refuse it here with a message that does not contain it.
    if not isinstance(api_key, str) or not api_key:
        raise InvalidInputError(
            "api_key",
            "No Legnext API key. Set LEGNEXT_API_KEY in the environment or in .streamlit/secrets.toml.",
        )
    if not all(33 <= ord(ch) <= 126 for ch in api_key):
        raise InvalidInputError(
            "api_key",
            "The Legnext API key contains spaces or unusual characters. Copy it again into LEGNEXT_API_KEY.",
        )
    return api_key


def _check_base_url(base_url: str) -> str:
    parts = urlsplit(base_url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInputError(
            "base_url", "The Legnext base URL must be an http(s) URL, such as " + LIVE_BASE_URL
        )
    return base_url.rstrip("/")


def _classify(exc: requests.RequestException) -> Failure:
    """Which :class:`Failure` a requests exception is: above all, whether the request can have been sent."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Failure.CONNECT_TIMEOUT
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return Failure.READ_TIMEOUT
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        return Failure.UNREADABLE_BODY
    if isinstance(exc, requests.exceptions.SSLError):
        # urllib3 reports TLS failures the same way whenever they happen; handshake failures (which
        # are before anything is sent) name the certificate or the protocol.
        text = str(exc).lower()
        if any(word in text for word in ("certificate", "handshake", "wrong version", "hostname")):
            return Failure.CONNECT_ERROR
        return Failure.CONNECTION_DROPPED
    if isinstance(exc, requests.exceptions.ProxyError):
        return Failure.CONNECT_ERROR
    if isinstance(exc, requests.exceptions.ConnectionError):
        inner = exc.args[0] if exc.args else None
        if isinstance(inner, MaxRetryError):
            inner = inner.reason
        if isinstance(inner, NewConnectionError | Urllib3ProxyError):
            return Failure.CONNECT_ERROR
        # requests raises a body read that timed out as a ConnectionError wrapping ReadTimeoutError.
        if isinstance(inner, ReadTimeoutError):
            return Failure.READ_TIMEOUT
        return Failure.CONNECTION_DROPPED
    if isinstance(exc, requests.exceptions.Timeout):
        return Failure.READ_TIMEOUT
    # Anything else is unexpected; assume the worst for a POST (it may have been sent).
    return Failure.CONNECTION_DROPPED


class _Failed(NamedTuple):
    """One attempt that did not succeed: what kind of failure, in words, and the error if not retried."""

    failure: Failure
    reason: str
    error: LegnextError
    status: int | None = None
    #: The raw ``Retry-After`` header, when the answer had one.
    retry_after: str | None = None


class LegnextClient:
    """A Legnext API client. Methods return models (:class:`Job`, :class:`Balance`), never dicts.

    ``timeout`` is the read timeout in seconds; ``connect_timeout`` defaults to the smaller of it and
    10 s. ``max_retries`` extra attempts are made for retryable failures (see
    :func:`legnext_core.retry.retry_verdict`), by urllib3 or by the client's own loop. ``sleep``,
    ``clock`` and ``rng`` are injectable (into both) so tests run without waiting and with a pinned
    clock. A ``session`` passed in is used as is (its owner keeps it safe: this client then neither
    mounts an adapter, so urllib3 retries nothing it does not retry itself, nor sets a cookie policy).
    """

    def __init__(
        self,
        api_key: str,
        base_url: str = LIVE_BASE_URL,
        timeout: float = 30.0,
        *,
        max_retries: int = 3,
        session: requests.Session | None = None,
        connect_timeout: float | None = None,
        retry_after_cap: float = RETRY_AFTER_CAP,
        pool_maxsize: int = DEFAULT_POOL_MAXSIZE,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._api_key = _check_api_key(api_key)
        self._base_url = _check_base_url(base_url)
        self._host = urlsplit(self._base_url).netloc
        if timeout <= 0 or max_retries < 0:
            raise ValueError("timeout must be positive and max_retries not negative")
        self._timeout = (
            min(DEFAULT_CONNECT_TIMEOUT, timeout) if connect_timeout is None else connect_timeout,
            timeout,
        )
        self.max_retries = max_retries
        self._retry_after_cap = retry_after_cap
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._owns_session = session is None
        if session is None:
            session = requests.Session()
            retry = transport_retry(
                max_retries, retry_after_cap=retry_after_cap, pause=sleep, clock=clock, rng=self._rng
            )
            adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool_maxsize, max_retries=retry)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            # Legnext needs no cookies; refusing them keeps the shared session's state read-only.
            session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        self._session = session

    # -- plumbing ------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def host(self) -> str:
        """Host (and port) of the API: the only place the key is sent."""
        return self._host

    def __repr__(self) -> str:
        return f"LegnextClient(host={self._host!r})"

    def __enter__(self) -> LegnextClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release pooled connections (only of a session this client created)."""
        if self._owns_session:
            self._session.close()

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, _REDACTED) if self._api_key in text else text

    def _headers(self) -> dict[str, str]:
        return {"x-api-key": self._api_key, "Accept": "application/json", "User-Agent": _USER_AGENT}

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one API call with the retry policy; return the JSON object answered, or raise.

        ``self._session.request`` comes back after urllib3's retries; this loop adds only the retries
        urllib3 cannot express (:func:`legnext_core.retry.client_verdict`).
        """
        url = self._base_url + path
        attempt = 0
        while True:
            try:
                response = self._session.request(
                    method,
                    url,
                    json=body,
                    headers=self._headers(),
                    timeout=self._timeout,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                failed = self._no_answer(method, path, exc)
            else:
                answer = self._read_answer(method, path, response)
                if isinstance(answer, dict):
                    return answer
                failed = answer
            verdict = client_verdict(method, failed.failure, attempt, self.max_retries)
            if verdict is Verdict.OUTCOME_UNKNOWN:
                logger.warning("%s %s: outcome unknown after %s; not resent", method, path, failed.reason)
                raise SubmissionOutcomeUnknownError(method, path, failed.reason, status=failed.status)
            if verdict is Verdict.GIVE_UP:
                logger.warning(
                    "%s %s: giving up (retries spent or not retryable): %s", method, path, failed.reason
                )
                raise failed.error
            delay = retry_delay(
                attempt,
                failed.retry_after,
                now=self._clock(),
                jitter=self._rng.random(),
                retry_after_cap=self._retry_after_cap,
            )
            logger.info("%s %s: %s; retry %d in %.2f s", method, path, failed.reason, attempt + 1, delay)
            self._sleep(delay)
            attempt += 1

    def _no_answer(self, method: str, path: str, exc: requests.RequestException) -> _Failed:
        """A request that got no answer: which failure it was, and the error to raise if not retried."""
        failure = _classify(exc)
        if failure is Failure.READ_TIMEOUT:
            reason = f"no answer within {self._timeout[1]:g} s"
            return _Failed(failure, reason, APITimeoutError(method, path, reason))
        detail = self._scrub(f"{failure} ({type(exc).__name__})")
        return _Failed(failure, str(failure), APIConnectionError(method, path, detail))

    def _read_answer(self, method: str, path: str, response: requests.Response) -> dict[str, Any] | _Failed:
        """The JSON object of a success, a retryable failure, or raise (a redirect, a final error)."""
        status = response.status_code
        text = self._scrub(response.text)
        if 200 <= status < 300:
            try:
                data = json.loads(text)
            except ValueError:
                data = None
            if isinstance(data, dict):
                logger.debug("%s %s -> %s", method, path, status)
                return data
            reason = f"HTTP {status} with an unreadable answer"
            return _Failed(Failure.UNREADABLE_BODY, reason, APIConnectionError(method, path, reason), status)
        if 300 <= status < 400:
            self._refuse_redirect(method, path, response)
        retry_after = response.headers.get("Retry-After")
        error = error_from_response(status, text, retry_after=parse_retry_after(retry_after, self._clock()))
        if status == 429:
            return _Failed(Failure.RATE_LIMITED, f"HTTP {status}", error, status, retry_after)
        if status >= 500:
            return _Failed(Failure.SERVER_ERROR, f"HTTP {status}", error, status, retry_after)
        logger.info("%s %s -> %s %s", method, path, status, error.message)
        raise error

    def _refuse_redirect(self, method: str, path: str, response: requests.Response) -> NoReturn:
        status = response.status_code
        location_host = urlsplit(response.headers.get("Location", "")).netloc or self._host
        logger.warning("%s %s -> redirect %s to %s, not followed", method, path, status, location_host)
        if method != "GET":
            # A 303 after a POST can mean "created, see there": the job may exist.
            raise SubmissionOutcomeUnknownError(
                method, path, f"redirect (HTTP {status}) not followed", status=status
            )
        raise APIStatusError(
            status,
            None,
            f"the API redirects to {location_host}; check LEGNEXT_BASE_URL (redirects are not "
            "followed, so the key is never sent elsewhere)",
        )

    def _post_job(self, path: str, body: dict[str, Any]) -> Job:
        data = self._request("POST", path, body)
        job_id = data.get("job_id")
        if not isinstance(job_id, str) or not job_id:
            error = data.get("error")
            code = error.get("code") if isinstance(error, dict) else None
            if isinstance(code, int) and 400 <= code < 600:
                # A job-shaped refusal with a success status: no job was made, Legnext said why.
                raise error_from_response(code, json.dumps(data))
            raise SubmissionOutcomeUnknownError("POST", path, "the answer named no job id")
        return Job.from_api(data)

    @staticmethod
    def _with_callback(body: dict[str, Any], callback: str | None) -> dict[str, Any]:
        if callback is not None:
            body["callback"] = validate_callback(callback)
        return body

    # -- the API -------------------------------------------------------------------------------------

    def create_video(self, prompt: str, video_type: int = 0, callback: str | None = None) -> Job:
        """Text-to-video, or image-URL-to-video when the prompt starts with an image URL."""
        body = {"prompt": validate_prompt(prompt), "videoType": validate_video_type(video_type)}
        return self._post_job("/v1/video-diffusion", self._with_callback(body, callback))

    def animate_image(
        self,
        image_job_id: str,
        image_no: int,
        prompt: str | None = None,
        video_type: int = 0,
        callback: str | None = None,
    ) -> Job:
        """Animate one of the four images of a completed image job."""
        body: dict[str, Any] = {
            "jobId": validate_job_id(image_job_id, "image_job_id"),
            "imageNo": validate_index(image_no, "image_no"),
            "videoType": validate_video_type(video_type),
        }
        if prompt is not None:
            body["prompt"] = validate_prompt(prompt)
        return self._post_job("/v1/video-diffusion", self._with_callback(body, callback))

    def extend_video(
        self, job_id: str, video_no: int, prompt: str | None = None, callback: str | None = None
    ) -> Job:
        """Extend one of the four videos of a completed video job by about 4 s."""
        body: dict[str, Any] = {
            "jobId": validate_job_id(job_id),
            "videoNo": validate_index(video_no, "video_no"),
        }
        if prompt is not None:
            body["prompt"] = validate_prompt(prompt)
        return self._post_job("/v1/extend-video", self._with_callback(body, callback))

    def upscale_video(self, job_id: str, video_no: int, callback: str | None = None) -> Job:
        """Upscale one of the four videos of a completed video job."""
        body = {"jobId": validate_job_id(job_id), "videoNo": validate_index(video_no, "video_no")}
        return self._post_job("/v1/video-upscale", self._with_callback(body, callback))

    def create_image(self, text: str, callback: str | None = None) -> Job:
        """An image job (four images), the parent an animation needs."""
        body = {"text": validate_prompt(text, "text")}
        return self._post_job("/v1/diffusion", self._with_callback(body, callback))

    def get_job(self, job_id: str) -> Job:
        return Job.from_api(self._request("GET", f"/v1/job/{validate_job_id(job_id)}"))

    def get_balance(self) -> Balance:
        data = self._request("GET", "/account/balance")
        code = data.get("code")
        if isinstance(code, int) and code >= 400 and not isinstance(data.get("data"), dict):
            # An error envelope delivered with a success status.
            raise error_from_response(code, json.dumps(data))
        return Balance.from_api(data)

    def get_active_tasks(self) -> ActiveTasks | None:
        """Every running job of the account in one request; None when the server does not offer it.

        ``GET /account/active_tasks`` is declared in Legnext's OpenAPI file but on no docs page, so a
        404, 405 or 501 is read as "not offered here" (the caller falls back to per-job polls), not
        as an error.
        """
        try:
            data = self._request("GET", "/account/active_tasks")
        except APIStatusError as exc:
            if exc.status in ACTIVE_TASKS_NOT_OFFERED:
                return None
            raise
        return ActiveTasks.from_api(data)

    def submit(self, request: JobRequest) -> Job:
        """Validate ``request`` and send it to the endpoint its kind needs."""
        request.validate()
        prompt = request.wire_prompt()
        kind = request.kind
        if kind in (JobKind.TEXT_VIDEO, JobKind.IMAGE_URL_VIDEO):
            return self.create_video(prompt or "", request.video_type, request.callback)
        # validate() has refused a follow-up (animate, extend, upscale) without a parent job and an index.
        index = request.index if request.index is not None else 0
        if kind is JobKind.ANIMATE:
            return self.animate_image(
                request.parent_job_id or "", index, prompt, request.video_type, request.callback
            )
        if kind is JobKind.EXTEND:
            return self.extend_video(request.parent_job_id or "", index, prompt, request.callback)
        if kind is JobKind.UPSCALE:
            return self.upscale_video(request.parent_job_id or "", index, request.callback)
        if kind is JobKind.IMAGE:
            return self.create_image(prompt or "", request.callback)
        raise InvalidInputError("kind", f"Unknown kind of job: {kind!r}.")
