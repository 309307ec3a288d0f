"""Every way a Legnext call can fail, as one exception tree, and the one place a response becomes one.

```
LegnextError                        catch this to catch everything below
 +-- InvalidInputError              (field, message) raised before anything is sent
 +-- APIStatusError                 (status, code, message, raw_message, body) Legnext answered with an error
 |    +-- BadRequestError           400, 413, 422
 |    +-- AuthenticationError       401
 |    +-- InsufficientCreditsError  402
 |    +-- PermissionDeniedError     403
 |    +-- NotFoundError             404
 |    +-- RateLimitError            429 (.retry_after: float | None)
 |    +-- ServerError               5xx
 +-- NoAnswerError                  (method, path, reason) no usable answer came back
      +-- APIConnectionError        no connection (for a POST: never sent, nothing created)
      +-- APITimeoutError           a GET that timed out (after its retries)
      +-- SubmissionOutcomeUnknownError  a POST that may or may not have created (and billed) a job
```

Every error has ``.user_message``: what a person should read and what to do next. ``str(error)`` is
the technical summary for logs. Neither ever contains the API key: the client never hands a request,
its headers or the key to an error, and it scrubs the key from any response text it keeps.

:func:`error_from_response` is the single choke point that turns an HTTP error answer into an
exception. It reads the three body shapes Legnext is known to send (see the project's API notes):
top-level ``{"code", "message", "raw_message"}``, a job object whose ``error`` holds the reason (seen
live on 403), and the wrapped ``{"error": {...}}`` the OpenAPI file describes. Non-JSON bodies (an
HTML 502 page from a proxy) become a short text excerpt, never a crash.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

#: How much of a non-JSON error body is kept (an HTML error page can be large).
_BODY_EXCERPT_CHARS = 300


class LegnextError(Exception):
    """Base of every error the client raises.

    The wording a person reads lives here, once, in three parts that ``ui.feedback`` lays out and
    :attr:`user_message` joins: :attr:`headline` (what happened, the dashboard's own words),
    :attr:`legnext_says` (Legnext's own message, untrusted text: shown literally) and :attr:`advice`
    (what to do next).
    """

    #: Each subclass's wording; ``{name}`` in either is filled from the error's own attributes.
    _headline: ClassVar[str] = "Something went wrong while talking to Legnext."
    _advice: ClassVar[str] = "Try again in a minute."
    #: Shown beside the input or in place of the form it is about, where the advice alone says it all.
    _advice_alone: ClassVar[bool] = False

    @property
    def headline(self) -> str:
        return self._headline.format_map(vars(self))

    @property
    def legnext_says(self) -> str:
        return ""

    @property
    def legnext_details(self) -> str:
        """The underlying cause Legnext reports, when it adds to :attr:`legnext_says` (untrusted text)."""
        return ""

    @property
    def advice(self) -> str:
        return self._advice.format_map(vars(self))

    @property
    def user_message(self) -> str:
        if self._advice_alone:
            return self.advice
        parts = [self.headline]
        if self.legnext_says:
            details = f" ({self.legnext_details})" if self.legnext_details else ""
            parts.append(f"Legnext said: {self.legnext_says}{details}.")
        parts.append(self.advice)
        return " ".join(part for part in parts if part)


class InvalidInputError(LegnextError, ValueError):
    """The input cannot be sent as it is; nothing was sent. ``field`` names the offending input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    _headline = "Not sent: fix the highlighted input."
    _advice = "{message}"
    _advice_alone = True


class APIStatusError(LegnextError):
    """Legnext answered with an HTTP error status.

    ``code`` is Legnext's own code from the body (often the HTTP status again), ``message`` its
    user-facing text, ``raw_message`` the underlying cause it reports, ``body`` the parsed JSON body
    (or ``None`` when the body was not JSON; then ``raw_message`` holds a short excerpt of it).
    """

    def __init__(
        self,
        status: int,
        code: int | None = None,
        message: str = "",
        raw_message: str = "",
        body: Any = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message or f"HTTP {status}"
        self.raw_message = raw_message
        self.body = body
        summary = f"HTTP {status}"
        if code is not None and code != status:
            summary += f" (Legnext code {code})"
        summary += f": {self.message}"
        if raw_message and raw_message != message:
            summary += f" [{raw_message}]"
        super().__init__(summary)

    _headline = "Legnext answered with an error (HTTP {status})."

    @property
    def legnext_says(self) -> str:
        return self.message if self._quotes_legnext else ""

    #: Whether Legnext's own message is worth quoting (a subclass whose wording says it all sets False).
    _quotes_legnext: ClassVar[bool] = True
    _advice = ""


class BadRequestError(APIStatusError):
    """400, 413 or 422: invalid parameters, a moderation rejection, or an unsuitable parent job."""

    _headline = "Legnext rejected the request (HTTP {status})."

    @property
    def legnext_details(self) -> str:
        return self.raw_message if self.raw_message != self.message else ""

    _advice = "Change the input and submit again. Nothing was created."


class AuthenticationError(APIStatusError):
    """401: missing or wrong API key."""

    _headline = "Legnext did not accept the API key (HTTP 401). Nothing was created."

    _quotes_legnext = False
    _advice = (
        "Set a valid key in the LEGNEXT_API_KEY environment variable or in .streamlit/secrets.toml, "
        "then restart the dashboard."
    )


class InsufficientCreditsError(APIStatusError):
    """402: the account has too few credits for this job."""

    _headline = "Not enough credits for this job (HTTP 402). Nothing was created."

    _quotes_legnext = False
    _advice = "Top up your Legnext account at legnext.ai, then submit again."


class PermissionDeniedError(APIStatusError):
    """403: feature not enabled for the account, or a content-policy refusal."""

    _headline = "Legnext refused this request (HTTP 403)."
    _advice = (
        "This is decided by Legnext for your account or this content. Change the prompt, or ask "
        "Legnext support to enable the feature."
    )


class NotFoundError(APIStatusError):
    """404: unknown or expired job id."""

    _headline = "Legnext does not know this job (HTTP 404)."

    _quotes_legnext = False
    _advice = (
        "The id is wrong, or the job is older than Legnext keeps jobs. Check the id, or start a new job."
    )


class RateLimitError(APIStatusError):
    """429: too many concurrent tasks (6 on a standard account) or requests."""

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Seconds the server asked us to wait (from ``Retry-After``), when it said.
        self.retry_after = retry_after

    _headline = (
        "Legnext is busy with too many of your jobs or requests (HTTP 429; a standard account runs 6 "
        "at a time). Nothing was created."
    )

    _quotes_legnext = False

    @property
    def advice(self) -> str:
        if self.retry_after is not None and self.retry_after > 0:
            return f"Wait {max(1, round(self.retry_after))} s, then submit again."
        return "Wait until one of your running jobs finishes (see History), then submit again."


class ServerError(APIStatusError):
    """5xx: Legnext (or a proxy in front of it) failed."""

    _headline = "Legnext had a server error (HTTP {status})."

    _quotes_legnext = False
    _advice = "Try again in a minute."


class NoAnswerError(LegnextError):
    """A request that got no usable answer: ``method`` and ``path`` name it, ``reason`` says what happened."""

    #: How the technical summary (``str(error)``) words the failure.
    _failure: ClassVar[str]

    def __init__(self, method: str, path: str, reason: str) -> None:
        super().__init__(f"{method} {path}: {self._failure}: {reason}")
        self.method = method
        self.path = path
        self.reason = reason


class APIConnectionError(NoAnswerError):
    """No usable connection to Legnext.

    For a POST this is raised only when the connection was never made (refused, DNS, TLS handshake,
    connect timeout), so nothing was created. For a GET it also covers answers lost after the retries
    (dropped connections, unreadable bodies).
    """

    _failure = "could not connect"
    _headline = "Could not reach Legnext: nothing was sent."
    _advice = "Check the network connection (and LEGNEXT_BASE_URL), then try again."


class APITimeoutError(NoAnswerError):
    """A read (GET) that got no answer in time, after its retries."""

    _failure = "timed out"
    _headline = "Legnext did not answer in time."


class SubmissionOutcomeUnknownError(NoAnswerError):
    """A POST reached Legnext (or may have) but no usable answer came back.

    Legnext may have created, and will then bill, the job. Retrying blindly could create it twice,
    so the client never does; the job should be looked for before anything is resubmitted.
    ``reason`` says what happened ("read timeout", "HTTP 502", "connection dropped", ...), ``status``
    is the HTTP status when there was one.
    """

    def __init__(self, method: str, path: str, reason: str, *, status: int | None = None) -> None:
        super().__init__(method, path, reason)
        self.status = status

    _failure = "outcome unknown"
    _headline = "We could not tell whether Legnext created the job ({reason})."
    _advice = (
        "The job may exist and may be billed. It is logged in History, where the tracker will find it "
        "if Legnext made it: check History before submitting again."
    )


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    413: BadRequestError,
    422: BadRequestError,
    429: RateLimitError,
}


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def _fields_from_body(body: Any) -> tuple[int | None, str, str]:
    """(code, message, raw_message) from any of the three known error shapes."""
    if not isinstance(body, dict):
        return None, "", ""
    nested = body.get("error")
    if isinstance(nested, dict):
        # Wrapped shape, or a job object carrying the error (403): the nested object is the reason,
        # unless it is the "no error" placeholder (code 0, empty message).
        code = _as_int(nested.get("code"))
        message = _as_text(nested.get("message"))
        if message or (code not in (None, 0)):
            return code, message, _as_text(nested.get("raw_message"))
    if isinstance(nested, str) and nested:
        return _as_int(body.get("code")), nested, _as_text(body.get("raw_message"))
    message = body.get("message") or body.get("detail") or body.get("msg") or ""
    return _as_int(body.get("code")), _as_text(message), _as_text(body.get("raw_message"))


def _excerpt(text: str) -> str:
    """A one-line excerpt of a non-JSON body: tags dropped, whitespace collapsed, length capped."""
    plain = re.sub(r"<[^>]*>", " ", text)
    plain = " ".join(plain.split())
    if len(plain) > _BODY_EXCERPT_CHARS:
        plain = plain[:_BODY_EXCERPT_CHARS] + "..."
    return plain


def error_from_response(status: int, text: str, *, retry_after: float | None = None) -> APIStatusError:
    """The exception for an HTTP error answer with body ``text`` (the caller has already scrubbed the key).

    Never raises: any body, JSON or not, gives an error that carries the best message available.
    """
    body: Any
    try:
        body = json.loads(text) if text.strip() else None
    except ValueError:
        body = None
    code, message, raw_message = _fields_from_body(body)
    if body is None and text.strip():
        raw_message = _excerpt(text)
        message = message or f"the server answered HTTP {status} with a non-JSON body"
    if not message:
        message = f"HTTP {status} with no message"
    cls = _STATUS_CLASSES.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else (BadRequestError if 400 <= status < 500 else APIStatusError)
    if cls is RateLimitError:
        return RateLimitError(status, code, message, raw_message, body, retry_after=retry_after)
    return cls(status, code, message, raw_message, body)
