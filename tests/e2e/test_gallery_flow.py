"""The Gallery in a real browser: posters appear without a reload, a video opened from it plays, and a
favourite survives a restart of the dashboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import running_dashboard
from tests.e2e.test_make_flow import JOB_TIMEOUT_MS, submitted_job_id

pytestmark = pytest.mark.slow
FAVOURITE = re.compile(r"Favourite$")
FAVOURITED = re.compile(r"Favourited$")


def test_gallery_posters_play_and_a_favourite_survives_a_restart(browser, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with running_dashboard(data_dir) as dashboard:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page: Page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(dashboard.page_url("create"))
        page.get_by_role("textbox", name="Prompt").fill("A lantern floating on a dark lake")
        page.get_by_role("radio", name="2 videos").click()
        page.get_by_role("button", name="Create video").click()
        submitted_job_id(page)

        # Into the Gallery by the navigation, while the job is still being made: no reload from here on.
        page.get_by_role("link", name="Gallery").click()
        expect(page).to_have_url(re.compile(r"/gallery"))
        page.evaluate("window.__galleryMarker = 'same page'")
        # The card shows the looping preview where one was made, else the poster frame.
        first_poster = page.get_by_role("img", name=re.compile(r"^(Preview|Poster) of video 1$"))
        expect(first_poster).to_be_visible(timeout=JOB_TIMEOUT_MS)
        expect(page.get_by_role("img", name=re.compile(r"^(Preview|Poster) of video 2$"))).to_be_visible()
        assert page.evaluate("window.__galleryMarker") == "same page"
        assert first_poster.evaluate("img => img.naturalWidth") > 0, "the poster is a real picture"

        # A poster opens a player that plays.
        page.get_by_role("button", name=re.compile("Play")).first.click()
        dialog = page.get_by_role("dialog")
        expect(dialog.locator("video")).to_have_count(1)
        dialog.locator("video").evaluate("video => video.play()")
        page.wait_for_function(
            "document.querySelector('[role=dialog] video') && "
            "document.querySelector('[role=dialog] video').currentTime > 0.5",
            timeout=15_000,
        )
        page.keyboard.press("Escape")
        expect(dialog).to_have_count(0)

        # Favourite the second video.
        page.get_by_role("button", name=FAVOURITE).nth(1).click()
        expect(page.get_by_role("button", name=FAVOURITED)).to_have_count(1)
        context.close()

    with running_dashboard(data_dir) as restarted:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(restarted.page_url("gallery"))
        page.get_by_text("Favourites only").click()
        expect(page.get_by_text("A lantern floating on a dark lake")).to_be_visible()
        expect(page.get_by_role("button", name=FAVOURITED)).to_have_count(1)
        expect(page.get_by_role("button", name=FAVOURITE)).to_have_count(1)
        context.close()
