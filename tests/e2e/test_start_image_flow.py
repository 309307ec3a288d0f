"""Browser test: a start image uploaded from the computer reaches the sandbox as a URL it fetches, and
Legnext never sees the photo's metadata."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import pytest
import requests
from PIL import Image
from playwright.sync_api import Page, expect

from tests.e2e.test_make_flow import open_job_and_wait_until_completed, submitted_job_id
from tests.test_uploads import picture_with_metadata

pytestmark = pytest.mark.slow

UPLOAD_URL = re.compile(r"^http://127\.0\.0\.1:\d+/uploads/[0-9a-f]{64}\.png$")


def sandbox_job(dashboard, job_id: str) -> dict:
    jobs = requests.get(f"{dashboard.url}/sandbox/_sandbox/jobs", timeout=10).json()["jobs"]
    (job,) = [job for job in jobs if job["job_id"] == job_id]
    return job


def uploader(page: Page, label: str):
    return page.get_by_test_id("stFileUploader").filter(has_text=label)


def test_an_uploaded_start_image_reaches_the_sandbox_as_a_url_it_fetches(
    dashboard, page: Page, tmp_path: Path
):
    photo = tmp_path / "holiday.png"
    photo.write_bytes(picture_with_metadata("PNG"))
    assert b"SecretCam" in photo.read_bytes()

    page.goto(dashboard.page_url("create"))
    page.get_by_role("radio", name="Image URL to video").click()
    uploader(page, "…or upload an image").locator("input[type=file]").set_input_files(photo)
    url_field = page.get_by_role("textbox", name="Image URL")
    expect(url_field).to_have_value(UPLOAD_URL)
    expect(page.get_by_text("Uploaded without its metadata")).to_be_visible()
    expect(uploader(page, "…or upload an image").get_by_test_id("stFileChip")).to_have_count(1)
    expect(page.get_by_text("The image Legnext will start from")).to_be_visible()
    url = url_field.input_value()

    page.get_by_role("textbox", name="Prompt (optional)").fill("the boat drifts")
    page.get_by_role("button", name="Create video").click()
    job_id = submitted_job_id(page)
    open_job_and_wait_until_completed(page, job_id)

    served = requests.get(url, timeout=10)
    assert served.status_code == 200 and served.headers["Content-Type"] == "image/png"
    assert b"SecretCam" not in served.content
    assert not Image.open(io.BytesIO(served.content)).getexif()
    job = sandbox_job(dashboard, job_id)
    assert job["prompt"] == f"{url} the boat drifts"
    (start,) = job["images"]
    assert start["role"] == "start" and start["url"] == url
    assert start["fetched"] and start["ok"], start
    assert start["sha256"] == hashlib.sha256(served.content).hexdigest()
    assert job["status"] == "completed"


def test_a_file_that_is_not_a_picture_is_refused_beside_the_uploader_and_nothing_is_kept_or_sent(
    dashboard, page: Page, tmp_path: Path
):
    fake = tmp_path / "last-frame.png"
    fake.write_bytes(b"#!/bin/sh\necho this is no picture\n")
    page.goto(dashboard.page_url("create"))
    page.get_by_role("textbox", name="Prompt").fill("A lighthouse at dusk")
    end_frame = uploader(page, "…or upload an end frame")
    end_frame.locator("input[type=file]").set_input_files(fake)
    expect(page.get_by_text("“last-frame.png” is not a picture this dashboard can read")).to_be_visible()
    expect(page.get_by_role("textbox", name="End frame URL (optional)")).to_have_value("")
    expect(end_frame.get_by_test_id("stFileChip")).to_have_count(0)  # taken off the uploader
    counts = requests.get(f"{dashboard.url}/sandbox/_sandbox/requests", timeout=10).json()["counts"]
    assert not [path for path in counts if path.startswith("POST")]
    assert not any((dashboard.data_dir / "media" / "uploads").glob("*"))
