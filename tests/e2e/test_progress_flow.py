"""A running job's progress rises in the open History page before it completes (real browser).

The dashboard runs at demo speed here (a video takes 18-30 s) so the processing phase lasts long
enough for several History refreshes; the tracker reads the sandbox's active list for the progress.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Dashboard, running_dashboard
from tests.e2e.test_history_flow import post_job_through_the_page

pytestmark = pytest.mark.slow

# The grid's accessible cells of row 0: column 1 is the status, column 4 the progress (after the prompt
# and the submission time, which come first so they show on a narrow screen).
STATUS_CELL = "[data-testid=glide-cell-1-0]"
PROGRESS_CELL = "[data-testid=glide-cell-4-0]"


@pytest.fixture(scope="module")
def demo_speed_dashboard(tmp_path_factory) -> Iterator[Dashboard]:
    with running_dashboard(tmp_path_factory.mktemp("demo-speed"), LEGNEXT_SANDBOX_TIME_SCALE="1") as running:
        yield running


def test_progress_rises_in_the_open_history_page_before_the_job_completes(demo_speed_dashboard, page):
    from playwright.sync_api import expect

    page.goto(demo_speed_dashboard.page_url("history"))
    expect(page.get_by_role("heading", name="History")).to_be_visible(timeout=30_000)
    job_id = post_job_through_the_page(page, "a windmill turning slowly at sunset")
    page.get_by_role("button", name="Track a job by id").click()
    page.get_by_role("textbox", name="Legnext job id").fill(job_id)
    page.get_by_role("button", name="Track this job").click()
    page.keyboard.press("Escape")
    page.evaluate("window.__progressMarker = 'same page'")

    progress = page.locator(PROGRESS_CELL)
    status = page.locator(STATUS_CELL)
    expect(status).to_have_text("processing", timeout=30_000)
    page.wait_for_function(
        f"() => Number(document.querySelector('{PROGRESS_CELL}')?.textContent) > 0", timeout=20_000
    )
    first = int(progress.text_content())
    assert status.text_content() == "processing"
    page.wait_for_function(
        f"""() => Number(document.querySelector('{PROGRESS_CELL}')?.textContent) > {first}
                  && document.querySelector('{STATUS_CELL}')?.textContent === 'processing'""",
        timeout=20_000,
    )
    later = int(progress.text_content())
    assert first < later < 100
    expect(status).to_have_text("completed", timeout=40_000)
    expect(progress).to_have_text("100")
    assert page.evaluate("window.__progressMarker") == "same page"
