"""Browser test: a click on a control inside the Gallery's refreshing grid takes effect every time, while
the grid redraws itself and the server is kept busy (History's own click test is in test_first_use)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from legnext_core.store import JobStore
from tests.e2e.conftest import running_dashboard
from tests.e2e.test_first_use import SLOW, busy_server, submit_batch
from tests.e2e.test_make_flow import JOB_TIMEOUT_MS, submitted_job_id

pytestmark = pytest.mark.slow
PROMPT = "A lantern floating on a dark lake"
STAR = re.compile(r"Favourite(d)?$")
#: A card shows its looping preview where one was made, its poster frame otherwise.
FIRST_PICTURE = re.compile(r"^(Preview|Poster) of video 1$")


def _favourites(dashboard, job_id: str) -> list[int]:
    store = JobStore(dashboard.data_dir / "jobs.json")
    try:
        record = store.by_job_id(job_id)
        assert record is not None
        return list(record.favourite_variants or [])
    finally:
        store.close()


def test_every_favourite_click_in_the_gallery_takes_effect_while_it_refreshes_on_a_busy_server(
    browser, tmp_path
):
    # Jobs a few times faster than the demo: the first is done soon, the batch after it stays in flight
    # while the clicks land, so the grid changes (progress, posters, new cards) under them.
    with running_dashboard(tmp_path / "data", LEGNEXT_SANDBOX_TIME_SCALE="3") as dashboard:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page: Page = context.new_page()
        page.set_default_timeout(20_000)
        busy = context.new_page()  # a second tab refreshing the Gallery keeps the server busier
        try:
            page.goto(dashboard.page_url("create"))
            page.get_by_role("textbox", name="Prompt").fill(PROMPT)
            page.get_by_role("radio", name="2 videos").click()
            page.get_by_role("button", name="Create video").click()
            job_id = submitted_job_id(page)

            page.goto(dashboard.page_url("gallery"))
            card = (
                page.get_by_test_id("stVerticalBlock")
                .filter(has_text=PROMPT)
                .filter(has=page.get_by_role("img", name=FIRST_PICTURE))
                .last
            )
            expect(card).to_be_visible(timeout=JOB_TIMEOUT_MS)

            submit_batch(busy, dashboard, 6)
            busy.goto(dashboard.page_url("gallery"))

            star = card.get_by_role("button", name=STAR).first
            with busy_server(dashboard):
                for attempt in range(12):
                    wanted = "Favourited" if attempt % 2 == 0 else "Favourite"
                    star.click()
                    expect(star, f"click {attempt + 1} shows").to_have_accessible_name(
                        re.compile(f"{wanted}$"), timeout=SLOW
                    )
                    assert _favourites(dashboard, job_id) == ([0] if wanted == "Favourited" else []), (
                        f"click {attempt + 1}"
                    )
                    page.wait_for_timeout(150 * (attempt % 7))  # land at every point of the 2 s refresh
        finally:
            context.close()
        assert "Traceback" not in dashboard.log_path.read_text(errors="replace")
