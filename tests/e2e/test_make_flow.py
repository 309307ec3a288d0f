"""Browser test: the making pages through the real UI (clicks and typing) in Chromium, against a real
`streamlit run app.py` on its embedded sandbox at time scale 10.

Makes a video from text, makes a sandbox image job and animates one of its images, then extends and
upscales the finished video, waiting with expect() for every job to complete.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

#: A sandbox job at time scale 10 takes a few seconds; this leaves room for a slow CI machine.
JOB_TIMEOUT_MS = 60_000
BOAT = "A paper boat on a rainy street"
JOB_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

pytestmark = pytest.mark.slow


def submitted_job_id(page: Page) -> str:
    """The job id in the confirmation that appears after a submission."""
    confirmation = page.get_by_text(re.compile(r"Submitted\. Legnext accepted job"))
    expect(confirmation).to_be_visible()
    match = JOB_ID.search(confirmation.inner_text())
    assert match, confirmation.inner_text()
    return match.group(0)


def open_job_and_wait_until_completed(page: Page, job_id: str) -> None:
    """Follow the confirmation's link to the job and wait (without reloading) until its results show."""
    page.get_by_role("link", name=f"Open job {job_id}", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/job\?job={job_id}"))
    expect(page.get_by_role("heading", name="Results")).to_be_visible(timeout=JOB_TIMEOUT_MS)


def submit_and_wait(page: Page, button: str) -> str:
    """Click the page's submit ``button``, open the job it made and wait until it completes; its id."""
    page.get_by_role("button", name=button).click()
    job_id = submitted_job_id(page)
    open_job_and_wait_until_completed(page, job_id)
    return job_id


def open_on_video(page: Page, link: str, prompt: str) -> None:
    """Follow the sidebar's ``link`` (Extend or Upscale) and choose there the video made from ``prompt``."""
    page.get_by_role("link", name=link).click()
    page.get_by_role("combobox", name=re.compile(f"Video to {link.lower()}")).click()
    page.get_by_role("option", name=re.compile(prompt)).click()


def test_create_animate_extend_and_upscale_through_the_ui(dashboard, page: Page):
    page.goto(dashboard.url)

    # Text to video.
    page.get_by_role("textbox", name="Prompt").fill(BOAT)
    expect(page.get_by_text("480 points (US$0.48)")).to_be_visible()
    video = submit_and_wait(page, "Create video")

    # Animate: a sandbox image job made from the page, then one of its four images.
    page.get_by_role("link", name="Create").click()
    page.get_by_role("radio", name="Animate an image job").click()
    page.get_by_role("textbox", name="Image prompt").fill("A lighthouse at dusk")
    page.get_by_role("button", name="Make a sandbox image job").click()
    expect(page.get_by_role("radio", name="Image 2")).to_be_visible(timeout=JOB_TIMEOUT_MS)
    for number in range(1, 5):
        expect(page.get_by_role("radio", name=f"Image {number}")).to_be_visible()
    page.get_by_role("radio", name="Image 2").click()
    animation = submit_and_wait(page, "Animate image")

    # Extend the text video (chosen by its prompt), its third result, with a prompt.
    open_on_video(page, "Extend", BOAT)
    expect(page.get_by_text("4 s of 20 s")).to_be_visible()
    page.get_by_role("radio", name="Video 3").click()
    page.get_by_role("radio", name="Manual: write a new one").click()
    page.get_by_role("textbox", name="Prompt", exact=True).fill("the camera pulls back")
    extension = submit_and_wait(page, "Extend video")

    # Upscale the text video's first result.
    open_on_video(page, "Upscale", BOAT)
    expect(page.get_by_text(re.compile("this sandbox takes about"))).to_be_visible()
    upscale = submit_and_wait(page, "Upscale video")

    assert len({video, animation, extension, upscale}) == 4
