"""Browser test: pick three results in the Gallery, compare them side by side, and take them away as
one ZIP whose entries are named by job and variant and hold exactly the archived files' bytes."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_make_flow import JOB_TIMEOUT_MS, submitted_job_id

pytestmark = pytest.mark.slow
PICTURE = re.compile(r"^(Preview|Poster) of video 4$")


def test_three_picked_videos_compare_and_download_as_one_zip(dashboard, page: Page):
    page.goto(dashboard.page_url("create"))
    page.get_by_role("textbox", name="Prompt").fill("Three paper cranes in the wind")
    page.get_by_role("button", name="Create video").click()
    job_id = submitted_job_id(page)

    page.get_by_role("link", name="Gallery").click()
    expect(page.get_by_role("img", name=PICTURE)).to_be_visible(timeout=JOB_TIMEOUT_MS)
    for number in (1, 2, 4):
        page.get_by_text(f"Select video {number}", exact=True).click()
        expect(page.get_by_role("checkbox", name=f"Select video {number}")).to_be_checked()
    expect(page.get_by_text("3 selected")).to_be_visible()

    # Side by side, looped, and playing.
    page.get_by_role("button", name="Compare").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("video")).to_have_count(3)
    assert dialog.locator("video").first.evaluate("video => video.muted")
    page.wait_for_function(
        "[...document.querySelectorAll('[role=dialog] video')].every(v => v.currentTime > 0.3)",
        timeout=30_000,
    )
    # Looped: sent near its end, the first video starts again instead of stopping.
    dialog.locator("video").first.evaluate("video => { video.currentTime = video.duration - 0.3 }")
    page.wait_for_function(
        "(() => { const v = document.querySelector('[role=dialog] video');"
        " return v.currentTime < 1.5 && !v.paused; })()",
        timeout=15_000,
    )
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)

    page.get_by_role("button", name="Make a ZIP").click()
    offer = page.get_by_role("link", name=re.compile(r"Download legnext-3-videos\.zip"))
    expect(offer).to_be_visible()
    # The link leads to the server's download route (in a new tab); the file is streamed from disk.
    with page.expect_download() as download_info:
        offer.click()
    download = download_info.value
    assert download.suggested_filename == "legnext-3-videos.zip"
    with open(download.path(), "rb") as handle:
        archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    expected = {f"legnext-{job_id}-video-{n + 1}.mp4": n for n in (0, 1, 3)}
    assert sorted(archive.namelist()) == sorted(expected)
    media = dashboard.data_dir / "media" / job_id
    for name, index in expected.items():
        archived = (media / f"{index}.mp4").read_bytes()
        assert len(archived) > 1000
        assert archive.read(name) == archived, name
