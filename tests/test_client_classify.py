"""How the client reads requests' exceptions: above all, whether a request can have reached the server.

The exceptions are built the way requests and urllib3 raise them (see requests.adapters.HTTPAdapter.send
and requests.models.Response.iter_content); a wrong reading here would resend a paid POST.
"""

from __future__ import annotations

import pytest
import requests
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from legnext_core.client import _classify
from legnext_core.retry import Failure

URL = "/api/v1/diffusion"


def _max_retry(reason: Exception) -> MaxRetryError:
    return MaxRetryError(None, URL, reason)


@pytest.mark.parametrize(
    ("exc", "failure"),
    [
        (requests.ConnectionError(_max_retry(NewConnectionError(None, "refused"))), Failure.CONNECT_ERROR),
        (
            requests.ConnectionError(_max_retry(NameResolutionError("api.legnext.ai", None, OSError()))),
            Failure.CONNECT_ERROR,
        ),
        (
            requests.ConnectTimeout(_max_retry(ConnectTimeoutError(None, "slow connect"))),
            Failure.CONNECT_TIMEOUT,
        ),
        (requests.exceptions.ProxyError("proxy refused"), Failure.CONNECT_ERROR),
        (requests.exceptions.SSLError("certificate verify failed"), Failure.CONNECT_ERROR),
        (requests.exceptions.SSLError("decryption failed or bad record mac"), Failure.CONNECTION_DROPPED),
        (requests.ReadTimeout("read timed out"), Failure.READ_TIMEOUT),
        # A body read that timed out is raised by requests as a ConnectionError.
        (requests.ConnectionError(ReadTimeoutError(None, URL, "read timed out")), Failure.READ_TIMEOUT),
        (
            requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError())),
            Failure.CONNECTION_DROPPED,
        ),
        (requests.exceptions.ChunkedEncodingError("incomplete read"), Failure.UNREADABLE_BODY),
        (requests.exceptions.ContentDecodingError("bad gzip"), Failure.UNREADABLE_BODY),
        (requests.RequestException("something new"), Failure.CONNECTION_DROPPED),
    ],
)
def test_exceptions_are_classified_by_whether_the_request_left(exc, failure):
    assert _classify(exc) is failure
