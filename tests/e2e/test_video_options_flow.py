"""Browser test: a batch of two through the real UI makes a job with two videos, priced accordingly."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_make_flow import open_job_and_wait_until_completed, submitted_job_id

pytestmark = pytest.mark.slow


def test_batch_of_two_makes_two_videos_and_shows_the_smaller_estimate(dashboard, page: Page):
    page.goto(dashboard.page_url("create"))
    page.get_by_role("textbox", name="Prompt").fill("Two paper boats")
    expect(page.get_by_text("480 points (US$0.48)")).to_be_visible()
    page.get_by_role("radio", name="2 videos").click()
    expect(page.get_by_text("240 points (US$0.24)")).to_be_visible()
    expect(page.get_by_text("an estimate", exact=False)).to_be_visible()
    page.get_by_role("button", name="Create video").click()
    job_id = submitted_job_id(page)
    open_job_and_wait_until_completed(page, job_id)
    expect(page.locator("video")).to_have_count(2)
    expect(page.get_by_text("Video 2", exact=True)).to_be_visible()
    expect(page.get_by_text("Video 3", exact=True)).to_have_count(0)
