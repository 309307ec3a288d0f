"""History in a real browser: a job moves to completed in the open page without a reload, its detail
view plays the video, and Extend opens the Extend page with the job and variant filled in."""

from __future__ import annotations

import re

import pytest

from legnext_core.settings import SANDBOX_API_KEY

pytestmark = pytest.mark.slow

ACTIVE = re.compile(r"(pending|staged|processing) 1")


def post_job_through_the_page(page, prompt: str) -> str:
    """Create a job on the embedded sandbox with a fetch from the open page; returns its job id."""
    return page.evaluate(
        """async ([key, prompt]) => {
            const answer = await fetch('/sandbox/api/v1/video-diffusion', {
                method: 'POST',
                headers: {'content-type': 'application/json', 'x-api-key': key},
                body: JSON.stringify({prompt: prompt, videoType: 0}),
            });
            return (await answer.json()).job_id;
        }""",
        [SANDBOX_API_KEY, prompt],
    )


def test_job_completes_in_the_open_history_page_and_plays_and_extends(dashboard, page):
    from playwright.sync_api import expect

    page.goto(dashboard.page_url("history"))
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    page.evaluate("window.__historyMarker = 'still the same page'")

    job_id = post_job_through_the_page(page, "a lighthouse in a storm, waves crashing")
    page.get_by_role("button", name="Track a job by id").click()
    page.get_by_role("textbox", name="Legnext job id").fill(job_id)
    page.get_by_role("button", name="Track this job").click()
    expect(page.get_by_text(f"Now tracking job {job_id}")).to_be_visible()
    page.keyboard.press("Escape")

    counts = page.get_by_test_id("stMarkdownContainer").filter(has_text=re.compile(r"\d+ jobs? ·"))
    expect(counts.first).to_contain_text(ACTIVE)
    # The fragment refreshes from the job log while the tracker follows the job: no reload.
    expect(counts.first).to_contain_text("completed 1", timeout=30_000)
    assert page.evaluate("window.__historyMarker") == "still the same page"

    page.goto(dashboard.page_url(f"job?job={job_id}"))
    expect(page.get_by_role("heading", name="Text to video")).to_be_visible()
    video = page.locator("video").first
    expect(video).to_be_attached()
    video.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function(
        "() => { const v = document.querySelector('video'); return v && v.currentTime > 0.2; }",
        timeout=15_000,
    )

    page.get_by_role("button", name="Extend").first.click()
    page.wait_for_url(re.compile(r"/extend\?"))
    assert f"job={job_id}" in page.url and "variant=0" in page.url
    # The Extend page has picked that job (it shows its short id) and its first video.
    expect(page.get_by_role("group").filter(has=page.get_by_role("combobox")).first).to_match_aria_snapshot(
        f'- combobox "Video to extend": /{job_id[:8]}/'
    )
    expect(page.get_by_role("radio", name="Video 1")).to_be_checked()
