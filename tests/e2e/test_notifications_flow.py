"""Browser test: a job's end is told on another page (a toast), and the tab's title counts running jobs."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import running_dashboard
from tests.e2e.test_make_flow import JOB_TIMEOUT_MS, submitted_job_id

pytestmark = pytest.mark.slow


def test_a_toast_on_another_page_when_a_job_finishes_and_the_title_counts_running_jobs(browser, tmp_path):
    # Slower than the other browser tests' sandbox, so the running job is seen in the title.
    with running_dashboard(tmp_path / "data", LEGNEXT_SANDBOX_TIME_SCALE="3") as dashboard:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page: Page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(dashboard.page_url("create"))
        expect(page).to_have_title("Legnext Video Studio")
        page.get_by_role("textbox", name="Prompt").fill("A kite over *grey* dunes")
        page.get_by_role("button", name="Create video").click()
        submitted_job_id(page)

        # Off to another page by the navigation (no reload): the job is counted there, then told.
        page.get_by_role("link", name="Usage").click()
        expect(page).to_have_url(re.compile(r"/usage"))
        page.evaluate("window.__notifierMarker = 'same page'")
        expect(page).to_have_title("(1) Legnext Video Studio", timeout=JOB_TIMEOUT_MS)
        toast = page.get_by_test_id("stToast").filter(has_text="Text to video finished")
        expect(toast).to_be_visible(timeout=JOB_TIMEOUT_MS)
        # The prompt is shown literally: its asterisks are not read as emphasis.
        expect(toast).to_contain_text("A kite over *grey* dunes")
        expect(page).to_have_title("Legnext Video Studio")
        assert page.evaluate("window.__notifierMarker") == "same page"
        context.close()
