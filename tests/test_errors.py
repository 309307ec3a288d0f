"""The one choke point from an HTTP error answer to an exception, over every known body shape."""

from __future__ import annotations

import json

import pytest

from legnext_core import errors
from legnext_core.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InsufficientCreditsError,
    InvalidInputError,
    LegnextError,
    NoAnswerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    SubmissionOutcomeUnknownError,
    error_from_response,
)

TOP_LEVEL_401 = {"code": 401, "message": "Failed to verify api key", "raw_message": "", "detail": None}
TOP_LEVEL_400 = {
    "code": 400,
    "message": "Invalid request parameters",
    "raw_message": "prompt: length must be between 1 and 8192",
    "detail": None,
}
JOB_SHAPED_403 = {
    "job_id": "",
    "task_type": "",
    "status": "failed",
    "output": None,
    "meta": {"created_at": "", "usage": {"frozen": 0, "consume": 0}},
    "logs": [],
    "error": {
        "code": 403,
        "message": "This feature is only available for whitelisted accounts.",
        "raw_message": "",
    },
}
WRAPPED_402 = {
    "error": {"code": 402, "message": "Insufficient credits", "raw_message": "need 480", "detail": None}
}


@pytest.mark.parametrize(
    ("status", "body", "cls", "code", "message", "raw_message"),
    [
        (401, TOP_LEVEL_401, AuthenticationError, 401, "Failed to verify api key", ""),
        (
            400,
            TOP_LEVEL_400,
            BadRequestError,
            400,
            "Invalid request parameters",
            TOP_LEVEL_400["raw_message"],
        ),
        (403, JOB_SHAPED_403, PermissionDeniedError, 403, JOB_SHAPED_403["error"]["message"], ""),
        (402, WRAPPED_402, InsufficientCreditsError, 402, "Insufficient credits", "need 480"),
        (404, {"code": 404, "message": "job not found"}, NotFoundError, 404, "job not found", ""),
        (413, {"code": 413, "message": "too large"}, BadRequestError, 413, "too large", ""),
        (422, {"code": 422, "message": "bad value"}, BadRequestError, 422, "bad value", ""),
        (429, {"code": 429, "message": "too many tasks"}, RateLimitError, 429, "too many tasks", ""),
        (500, {"code": 500, "message": "internal"}, ServerError, 500, "internal", ""),
        (503, {"detail": "down for maintenance"}, ServerError, None, "down for maintenance", ""),
        (409, {"message": "conflict"}, BadRequestError, None, "conflict", ""),
    ],
)
def test_every_body_shape_keeps_status_code_and_message(status, body, cls, code, message, raw_message):
    error = error_from_response(status, json.dumps(body))
    assert type(error) is cls
    assert (error.status, error.code, error.message, error.raw_message) == (
        status,
        code,
        message,
        raw_message,
    )
    assert error.body == body
    assert message in str(error)


def test_html_502_from_a_proxy_becomes_a_server_error_with_an_excerpt():
    page = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>" + "x" * 2000
    error = error_from_response(502, page)
    assert isinstance(error, ServerError)
    assert error.body is None
    assert "non-JSON" in error.message
    assert error.raw_message.startswith("502 Bad Gateway 502 Bad Gateway")
    assert len(error.raw_message) <= 310
    assert "<" not in error.raw_message


@pytest.mark.parametrize("text", ["", "   ", "null", "[1, 2]", '"just a string"', "{"])
def test_odd_bodies_never_crash_the_choke_point(text):
    error = error_from_response(500, text)
    assert isinstance(error, ServerError)
    assert error.message


def test_a_no_error_placeholder_does_not_hide_the_top_level_message():
    body = {"code": 400, "message": "bad jobId", "error": {"code": 0, "message": "", "raw_message": ""}}
    assert error_from_response(400, json.dumps(body)).message == "bad jobId"


def test_rate_limit_carries_retry_after_into_the_user_message():
    error = error_from_response(429, json.dumps({"code": 429, "message": "busy"}), retry_after=12.4)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 12.4
    assert "Wait 12 s" in error.user_message
    no_hint = error_from_response(429, "{}")
    assert no_hint.retry_after is None
    assert "Wait until" in no_hint.user_message


@pytest.mark.parametrize(
    ("error", "must_mention"),
    [
        (InvalidInputError("prompt", "The prompt is empty."), "The prompt is empty."),
        (error_from_response(401, json.dumps(TOP_LEVEL_401)), "LEGNEXT_API_KEY"),
        (error_from_response(401, "{}"), ".streamlit/secrets.toml"),
        (error_from_response(402, json.dumps(WRAPPED_402)), "Top up"),
        (error_from_response(403, json.dumps(JOB_SHAPED_403)), "whitelisted"),
        (error_from_response(404, "{}"), "job"),
        (error_from_response(400, json.dumps(TOP_LEVEL_400)), "8192"),
        (error_from_response(502, "<html>bad gateway</html>"), "Try again"),
        (APIConnectionError("POST", "/v1/diffusion", "connection refused"), "nothing was sent"),
        (APITimeoutError("GET", "/v1/job/x", "read timeout"), "Try again"),
        (SubmissionOutcomeUnknownError("POST", "/v1/diffusion", "read timeout"), "check History"),
    ],
)
def test_every_error_tells_a_person_what_to_do(error, must_mention):
    assert isinstance(error, LegnextError)
    assert must_mention in error.user_message


def test_outcome_unknown_says_what_happened():
    error = SubmissionOutcomeUnknownError("POST", "/v1/video-diffusion", "HTTP 502", status=502)
    assert error.status == 502
    assert "HTTP 502" in error.user_message and "HTTP 502" in str(error)


def test_tree_matches_the_module_docstring():
    for cls in (
        BadRequestError,
        AuthenticationError,
        InsufficientCreditsError,
        PermissionDeniedError,
        NotFoundError,
        RateLimitError,
        ServerError,
    ):
        assert issubclass(cls, APIStatusError)
        assert cls.__name__ in errors.__doc__
    for cls in (APIConnectionError, APITimeoutError, SubmissionOutcomeUnknownError):
        assert cls.__bases__[0] is NoAnswerError
        assert cls.__name__ in errors.__doc__
    for cls in (InvalidInputError, APIStatusError, NoAnswerError):
        assert cls.__bases__[0] is LegnextError
