"""AppTest: every error the client can raise, driven out of a real sandbox, becomes a clear message beside
the form with what to do; an unknown outcome offers a deliberate, confirmed resubmit.
"""

from __future__ import annotations

import socket

import pytest

from legnext_core.errors import BadRequestError, InvalidInputError, RateLimitError
from legnext_core.sandbox import FaultConfig
from legnext_core.settings import SANDBOX_API_KEY
from tests.ui.helpers import page_text
from ui.feedback import describe

VIDEO_POSTS = "/api/v1/video-diffusion"


@pytest.fixture
def sandbox(request, start_sandbox):
    """The sandbox the page talks to, configured per test with ``@pytest.mark.parametrize(indirect=True)``."""
    return start_sandbox(**getattr(request, "param", {}))


def submit_text(app_test, prompt: str = "A fox in the snow"):
    at = app_test("create")
    at.text_area(key="create:text:prompt").input(prompt)
    at.button(key="text:submit").click().run()
    assert not at.exception
    return at


@pytest.mark.parametrize("sandbox", [{"accepted_keys": frozenset({"someone-elses-key"})}], indirect=True)
def test_401_points_at_where_the_key_is_set(app_test, sandbox):
    at = submit_text(app_test)
    (error,) = at.error
    assert "did not accept the API key (HTTP 401)" in error.value
    assert "LEGNEXT_API_KEY" in error.value and ".streamlit/secrets.toml" in error.value
    assert SANDBOX_API_KEY not in page_text(at)


@pytest.mark.parametrize("sandbox", [{"initial_points": 100}], indirect=True)
def test_402_says_top_up_and_shows_the_balance(app_test, sandbox):
    at = submit_text(app_test)
    (error,) = at.error
    assert "Not enough credits" in error.value and "Top up" in error.value
    assert "Available balance: 100 points (US$0.10)" in error.value


@pytest.mark.parametrize("sandbox", [{"video_denied_keys": frozenset({SANDBOX_API_KEY})}], indirect=True)
def test_403_shows_legnexts_message(app_test, sandbox):
    at = submit_text(app_test)
    (error,) = at.error
    assert "refused this request (HTTP 403)" in error.value
    assert "whitelisted" in error.value  # Legnext's own words, as the sandbox sends them


@pytest.mark.slow
@pytest.mark.parametrize(
    "sandbox",
    [{"faults": FaultConfig.only("429", retry_after=1, methods=frozenset({"POST"}))}],
    indirect=True,
)
def test_429_says_how_long_to_wait(app_test, sandbox):
    at = submit_text(app_test)
    (warning,) = at.warning
    assert "busy" in warning.value and "Wait 1 s, then submit again" in warning.value


def test_400_shows_legnexts_message_and_raw_message(app_test, sandbox):
    at = submit_text(app_test, "a nsfw scene")
    (error,) = at.error
    assert "Your prompt was rejected by content moderation" in error.value
    assert "banned prompt detected" in error.value
    assert sandbox.request_count("POST", VIDEO_POSTS) == 1


@pytest.mark.slow
def test_connection_error_says_nothing_was_sent(app_test, monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.setenv("LEGNEXT_SANDBOX_URL", f"http://127.0.0.1:{closed_port}/api")
    at = submit_text(app_test)
    assert any("Could not reach Legnext: nothing was sent" in error.value for error in at.error)


@pytest.mark.parametrize("sandbox", [{"faults": FaultConfig.only("lost_answer")}], indirect=True)
def test_unknown_outcome_points_at_history_and_resubmits_only_after_confirmation(app_test, studio, sandbox):
    at = submit_text(app_test)
    (warning,) = at.warning
    assert "could not tell whether Legnext created the job" in warning.value
    assert "History" in warning.value
    assert any(link.proto.page.endswith("history") for link in at.get("page_link"))
    (first,) = studio().store.recent()
    assert first.status == "unknown"
    assert sandbox.request_count("POST", VIDEO_POSTS) == 1

    at.button(key="create:text:result:ask-resubmit").click().run()
    assert not at.exception
    assert sandbox.request_count("POST", VIDEO_POSTS) == 1, "asking is not sending"
    assert "both are billed" in page_text(at)

    sandbox.set_faults(rate=0.0)
    at.button(key="create:text:result:confirm-resubmit-button").click().run()
    assert not at.exception
    assert sandbox.request_count("POST", VIDEO_POSTS) == 2
    second = next(r for r in studio().store.recent() if r.local_id != first.local_id)
    assert second.resubmit_of == first.local_id
    assert second.job_id in at.success[0].value
    at.run()
    assert sandbox.request_count("POST", VIDEO_POSTS) == 2


@pytest.mark.parametrize("sandbox", [{"faults": FaultConfig.only("lost_answer")}], indirect=True)
def test_resubmit_can_be_cancelled(app_test, sandbox):
    at = submit_text(app_test)
    at.button(key="create:text:result:ask-resubmit").click().run()
    at.button(key="create:text:result:cancel-resubmit").click().run()
    assert not at.exception
    assert sandbox.request_count("POST", VIDEO_POSTS) == 1
    assert at.button(key="create:text:result:ask-resubmit")


def test_describe_keeps_the_raw_message_of_a_400():
    feedback = describe(BadRequestError(400, 400, "Invalid request parameters", "videoNo must be 0-3"))
    assert "Invalid request parameters" in feedback.title and "videoNo must be 0-3" in feedback.advice


def test_describe_without_retry_after_says_to_wait_for_a_running_job():
    feedback = describe(RateLimitError(429, 429, "Too many requests"))
    assert feedback.level == "warning" and "running jobs finishes" in feedback.advice


def test_describe_invalid_input_gives_its_message():
    feedback = describe(InvalidInputError("prompt", "The prompt is empty."))
    assert feedback.advice == "The prompt is empty."
