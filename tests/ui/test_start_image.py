"""The “…or upload” controls of Create: offered where Legnext can fetch an upload, explained where not."""

from __future__ import annotations

import pytest

from tests.ui.helpers import page_text


@pytest.fixture
def live(studio_env, sandbox, monkeypatch):
    """Live mode (a key, the test sandbox as the API), no public address unless a test sets one."""
    monkeypatch.setenv("LEGNEXT_API_KEY", "a-live-key")
    monkeypatch.setenv("LEGNEXT_BASE_URL", sandbox.base_url)
    monkeypatch.delenv("LEGNEXT_SANDBOX_URL")


def uploaders(at) -> list[str]:
    return [element.label for element in at.get("file_uploader")]


def image_mode(app_test):
    at = app_test("create")
    at.segmented_control(key="create:mode").set_value("image_url").run()
    assert not at.exception
    return at


def test_live_without_a_public_url_says_why_uploads_cannot_work_and_what_to_set(live, app_test, sandbox):
    at = image_mode(app_test)
    text = page_text(at)
    assert "Uploading is not available here" in text
    assert "Set LEGNEXT_PUBLIC_URL to the https address where Legnext can reach it" in text
    assert uploaders(at) == []
    assert sandbox.request_count("POST", "/api/") == 0


def test_live_with_a_local_public_url_says_legnext_cannot_reach_it(live, app_test, monkeypatch):
    monkeypatch.setenv("LEGNEXT_PUBLIC_URL", "http://127.0.0.1:8501")
    at = image_mode(app_test)
    assert "is a local or private address that Legnext cannot reach" in page_text(at)
    assert uploaders(at) == []


def test_live_with_a_public_url_offers_a_start_image_and_an_end_frame_upload(live, app_test, monkeypatch):
    monkeypatch.setenv("LEGNEXT_PUBLIC_URL", "https://studio.example.com")
    at = image_mode(app_test)
    assert "Uploading is not available here" not in page_text(at)
    assert uploaders(at) == ["…or upload an image", "…or upload an end frame"]
