"""Browser test: an extended video opened from the Gallery plays its whole chain in one player, moving
on to the next part when one ends."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_make_flow import open_job_and_wait_until_completed, submitted_job_id

pytestmark = pytest.mark.slow

#: Waits until the part's length is known, then plays it from just before its end (sandbox clips
#: last 4 s; the test needs only the moment one ends).
PLAY_NEAR_THE_END = """async video => {
  if (video.readyState < 1) {
    await new Promise(done => video.addEventListener("loadedmetadata", done, {once: true}));
  }
  video.currentTime = Math.max(0, video.duration - 0.5);
  await video.play();
}"""


def test_a_chain_of_two_plays_part_two_when_part_one_ends(dashboard, page: Page):
    page.goto(dashboard.page_url("create"))
    page.get_by_role("textbox", name="Prompt").fill("A kite over the dunes")
    page.get_by_role("button", name="Create video").click()
    first = submitted_job_id(page)
    open_job_and_wait_until_completed(page, first)
    page.goto(dashboard.page_url(f"extend?job={first}&variant=0"))
    page.get_by_role("button", name="Extend video").click()
    open_job_and_wait_until_completed(page, submitted_job_id(page))

    # The newest card is the extension: its second video (a clip other than the first part's, in the
    # sandbox) opens with the chain a tab away.
    page.get_by_role("link", name="Gallery").click()
    page.get_by_role("button", name=re.compile("Play")).nth(1).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("tab", name="The whole chain, in order (2 parts)").click()
    chain = dialog.locator(".chain")  # Playwright's CSS reaches into the component's shadow root
    video, now = chain.locator("video"), chain.locator(".now")
    expect(now).to_have_text("Part 1 of 2 · Text to video, video 1")
    expect(chain.get_by_role("button", name="Part 2")).to_have_attribute("aria-current", "false")
    first_source = video.evaluate("video => video.src")

    video.evaluate(PLAY_NEAR_THE_END)
    expect(now).to_have_text("Part 2 of 2 · Extension, video 2")
    expect(chain.get_by_role("button", name="Part 2")).to_have_attribute("aria-current", "true")
    assert video.evaluate("video => video.src") != first_source
    # Part 2 plays from its start (part 1 stopped at 4 s) and moves on.
    page.wait_for_function(
        "video => !video.paused && video.currentTime > 0.5 && video.currentTime < 3.4",
        arg=video.element_handle(),
    )

    # A jump back to part 1 plays it from its start.
    chain.get_by_role("button", name="Part 1").click()
    expect(now).to_have_text("Part 1 of 2 · Text to video, video 1")
    assert video.evaluate("video => video.src") == first_source
