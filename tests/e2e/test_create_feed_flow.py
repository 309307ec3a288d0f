"""Browser test: a job made on Create shows under the form as it runs, then its poster frames, no reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_make_flow import JOB_TIMEOUT_MS, submitted_job_id

pytestmark = pytest.mark.slow


def test_create_feed_shows_posters_of_a_finished_job_without_a_reload(dashboard, page: Page):
    page.goto(dashboard.page_url("create"))
    page.evaluate("window.__feedMarker = 'same page'")
    page.get_by_role("textbox", name="Prompt").fill("A red balloon over a grey city")
    page.get_by_role("radio", name="2 videos").click()
    page.get_by_role("button", name="Create video").click()
    submitted_job_id(page)
    expect(page.get_by_role("heading", name="Your latest jobs")).to_be_visible()
    for number in (1, 2):
        poster = page.get_by_role("img", name=f"Poster of video {number}")
        expect(poster).to_be_visible(timeout=JOB_TIMEOUT_MS)
        assert poster.evaluate("img => img.naturalWidth") > 0, "a real picture, not a broken image"
    expect(page.get_by_test_id("stMainBlockContainer").get_by_role("link", name="Extend")).to_be_visible()
    assert page.evaluate("window.__feedMarker") == "same page"
