"""Browser tests of what a new user tripped over: a batch sent twice, an export that runs formulas,
prompts and link parameters shown as Markdown.

Each test has a dashboard and data folder of its own (the ``dashboard`` fixture).
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import threading

import pytest
import requests
from playwright.sync_api import Page, expect

from legnext_core.store import JobStore

pytestmark = pytest.mark.slow

JOB_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def job_log(dashboard) -> list[dict]:
    store = JobStore(dashboard.data_dir / "jobs.json")
    try:
        return store.recent(None)
    finally:
        store.close()


def create_from_text(page: Page, dashboard, prompt: str) -> str:
    """Make a text video through the Create page; returns its job id."""
    page.goto(dashboard.page_url("create"))
    page.get_by_role("textbox", name="Prompt").fill(prompt)
    page.get_by_role("button", name="Create video").click()
    confirmation = page.get_by_text(re.compile(r"Submitted\. Legnext accepted job"))
    expect(confirmation).to_be_visible()
    return JOB_ID.search(confirmation.inner_text()).group(0)


def test_a_sent_batch_empties_its_form_and_a_second_click_sends_nothing(dashboard, page: Page):
    page.goto(dashboard.page_url("create?mode=batch"))
    lines = page.get_by_role("textbox", name="Prompts, one per line")
    lines.fill("A fox running through snow\nWaves breaking on black sand")
    lines.blur()
    submit = page.get_by_role("button", name="Submit 2 prompts")
    expect(submit).to_be_enabled()
    submit.dblclick()
    expect(page.get_by_text("Batch result:")).to_be_visible()
    expect(lines).to_have_value("")
    button = page.get_by_test_id("stButton").filter(has_text=re.compile("Submit"))
    expect(button.get_by_role("button")).to_be_disabled()
    button.get_by_role("button").click(force=True)  # a click on the disabled button does nothing
    page.wait_for_timeout(1500)
    assert len(job_log(dashboard)) == 2
    # The result stays in view with both lines.
    expect(page.get_by_text("2 accepted")).to_be_visible()


FORMULAS = ('=HYPERLINK("evil")', "=cmd|' /C calc'!A0", "@SUM(1+1)*cmd")


def test_export_csv_makes_formulas_inert_and_keeps_full_values(dashboard, page: Page):
    long_tail = " and then the camera slowly pulls back over the harbour → café lights" * 3
    for prompt in FORMULAS:
        create_from_text(page, dashboard, prompt + long_tail)
    page.goto(dashboard.page_url("history"))
    page.get_by_role("button", name="Export CSV").click()
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile(r"Download 3 jobs \(CSV, ")).click()
    data = download.value.path().read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert sorted(row["prompt"] for row in rows) == sorted("'" + prompt + long_tail for prompt in FORMULAS)
    assert all(len(row["job_id"]) == 36 for row in rows)


MARKDOWN_PROMPT = "**bold** [click here](//evil.example) :red[red] $x^2$ `tick`"


def test_prompts_and_link_parameters_are_shown_literally(dashboard, page: Page):
    job_id = create_from_text(page, dashboard, MARKDOWN_PROMPT)
    page.goto(dashboard.page_url(f"job?job={job_id}"))
    expect(page.get_by_role("heading", name="Details")).to_be_visible()
    expect(page.get_by_text(MARKDOWN_PROMPT, exact=True).first).to_be_visible()
    assert page.locator("a[href*='evil.example']").count() == 0
    assert page.locator("strong", has_text=re.compile(r"^bold$")).count() == 0

    page.goto(dashboard.page_url("job?job=x%60%20%5Bclick%20here%5D(https%3A%2F%2Fevil.example)"))
    expect(page.get_by_text(re.compile(r"No job .* in your history"))).to_be_visible()
    expect(page.get_by_text("x` [click here](https://evil.example)")).to_be_visible()
    assert page.locator("a[href*='evil.example']").count() == 0

    page.goto(dashboard.page_url("history"))
    page.get_by_role("button", name="Track a job by id").click()
    page.get_by_role("textbox", name="Legnext job id").fill("[x](https://evil.example)")
    page.get_by_role("button", name="Track this job").click()
    page.wait_for_timeout(1000)
    assert page.locator("a[href*='evil.example']").count() == 0


@contextlib.contextmanager
def busy_server(dashboard, workers: int = 4):
    """Keep the dashboard's server loop busy: the embedded sandbox answers on the same event loop as the
    page's websocket, so a stream of requests to it delays every message a page is sent."""
    stop = threading.Event()

    def hammer() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                with contextlib.suppress(requests.RequestException):
                    session.get(
                        f"{dashboard.url}/sandbox/api/account/balance",
                        headers={"x-api-key": "busy"},
                        timeout=5,
                    )

    threads = [threading.Thread(target=hammer, daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)


def _row_center(page: Page, row: int) -> tuple[float, float]:
    """Where the selection marker of a table row is (the grid is a canvas; rows are 34 px)."""
    box = page.get_by_test_id("stDataFrame").first.bounding_box()
    assert box is not None
    return box["x"] + 14, box["y"] + 35 + 34 * row + 17


def _selected_job(page: Page) -> str:
    summary = page.get_by_role("link", name="Open details")
    expect(summary).to_be_visible(timeout=SLOW)
    href = summary.get_attribute("href") or ""
    return href.rsplit("job=", 1)[-1]


OFFERED = re.compile(r"Download \d+ jobs? \(CSV, \d\d:\d\d:\d\d\)")
#: How long a click's effect may take to show on a server kept busy on a loaded machine (a lost click
#: never shows).
SLOW = 30_000


def submit_batch(page: Page, dashboard, count: int) -> None:
    """Submit ``count`` prompts at once from Create's batch mode and wait for the batch's result."""
    page.goto(dashboard.page_url("create?mode=batch"))
    lines = page.get_by_role("textbox", name="Prompts, one per line")
    lines.fill("\n".join(f"Scene {n}: a harbour at night, boats rocking" for n in range(count)))
    lines.blur()
    page.get_by_role("button", name=f"Submit {count} prompts").click()
    expect(page.get_by_text("Batch result:")).to_be_visible(timeout=SLOW)


# The clicks land at every point of the table's 2 s refresh on a server kept busy. A full run's controls
# were once lost here: a refresh starting before the browser had the full run made the fragment's next
# deltas land on the controls (see ui/live.py).
def test_every_click_on_history_takes_effect_while_it_refreshes_on_a_busy_server(browser, tmp_path):
    from tests.e2e.conftest import running_dashboard

    # Demo speed: the jobs stay in flight for the whole test, so the table changes under the clicks.
    with running_dashboard(tmp_path / "data", LEGNEXT_SANDBOX_TIME_SCALE="1") as dashboard:
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(20_000)
        # What the server answered for each file the page fetched: said when a download fails.
        fetched: list[str] = []
        context.on("response", lambda r: "/media/" in r.url and fetched.append(f"{r.status} {r.url[-12:]}"))
        context.on(
            "requestfailed", lambda r: "/media/" in r.url and fetched.append(f"{r.failure} {r.url[-12:]}")
        )
        busy = context.new_page()  # a second tab refreshing History keeps the server busier
        try:
            submit_batch(page, dashboard, 8)
            busy.goto(dashboard.page_url("history"))
            page.goto(dashboard.page_url("history"))
            export = page.get_by_role("button", name="Export CSV")
            # The first draw of a page on this loaded machine (two tabs, eight jobs) can take a while.
            expect(export).to_be_visible(timeout=60_000)
            clicks = contextlib.ExitStack()
            clicks.enter_context(busy_server(dashboard))

            # Each export takes two clicks: Export CSV makes the file from the filters in force, then its
            # download button (labelled with the time the file was made) offers it.
            offered = page.get_by_role("link", name=OFFERED)
            made = ""  # the label of the file on offer: a new export must replace it
            for attempt in range(20):
                export.click()
                expect(offered, f"export {attempt + 1}: a file is offered").to_be_visible(timeout=SLOW)
                expect(offered, f"export {attempt + 1}: a new file is offered").not_to_have_text(
                    made, timeout=SLOW
                )
                made = offered.inner_text()
                assert "Download 8 jobs" in made, f"click {attempt + 1}: {made}"
                with page.expect_download(timeout=10_000) as download:
                    offered.click()
                failure = download.value.failure()
                assert failure is None, (
                    f"click {attempt + 1}: the download failed ({failure}); {download.value.url}; "
                    f"files fetched: {fetched[-4:]}"
                )
                rows = list(csv.DictReader(io.StringIO(download.value.path().read_text("utf-8-sig"))))
                assert len(rows) == 8, f"click {attempt + 1}: {len(rows)} rows"
                # Land at every point of the 2 s refresh; a second apart at least, so that the next
                # file's label (made to the second) tells it from this one.
                page.wait_for_timeout(1000 + 150 * (attempt % 7))

            page.mouse.click(*_row_center(page, 0))
            first = _selected_job(page)
            page.mouse.click(*_row_center(page, 1))
            expect(page.get_by_role("link", name="Open details")).not_to_have_attribute(
                "href", re.compile(re.escape(first)), timeout=SLOW
            )
            second = _selected_job(page)
            assert first != second
            for attempt in range(20):
                row, wanted = (0, first) if attempt % 2 == 0 else (1, second)
                page.mouse.click(*_row_center(page, row))
                expect(page.get_by_role("link", name="Open details")).to_have_attribute(
                    "href", re.compile(re.escape(wanted)), timeout=SLOW
                )
                page.wait_for_timeout(150 * (attempt % 7))

            # The export follows the filters in force when it was clicked: a file made for other filters
            # is no longer offered, and the next one holds only the matching job.
            search = page.get_by_role("textbox", name="Search")
            search.fill("Scene 3")
            search.press("Enter")
            expect(offered).to_have_count(0, timeout=SLOW)
            export.click()
            with page.expect_download(timeout=10_000) as download:
                page.get_by_role("link", name=re.compile(r"Download 1 job \(CSV, ")).click()
            rows = list(csv.DictReader(io.StringIO(download.value.path().read_text("utf-8-sig"))))
            assert [row["prompt"] for row in rows] == ["Scene 3: a harbour at night, boats rocking"]
            clicks.close()
        finally:
            context.close()
        assert "not found" not in dashboard.log_path.read_text(errors="replace")


def test_run_again_on_an_extension_keeps_its_prompt(dashboard, page: Page):
    video = create_from_text(page, dashboard, "A fox in the snow")
    page.goto(dashboard.page_url(f"extend?job={video}&variant=1"))
    expect(page.get_by_role("radio", name="Video 2")).to_be_checked(timeout=60_000)
    page.get_by_role("radio", name="Manual: write a new one").click()
    page.get_by_role("textbox", name="Prompt", exact=True).fill("the fox leaps over a log")
    page.get_by_role("button", name="Extend video").click()
    confirmation = page.get_by_text(re.compile(r"Submitted\. Legnext accepted job"))
    expect(confirmation).to_be_visible()
    extension = JOB_ID.search(confirmation.inner_text()).group(0)
    page.goto(dashboard.page_url(f"job?job={extension}"))
    page.get_by_role("link", name="Run again with the same settings").click()
    page.wait_for_url(re.compile(r"/extend\?"))
    expect(page.get_by_role("radio", name="Manual: write a new one")).to_be_checked()
    expect(page.get_by_role("textbox", name="Prompt", exact=True)).to_have_value("the fox leaps over a log")
    expect(page.get_by_role("radio", name="Video 2")).to_be_checked()


#: True when the element is drawn whole: no ancestor that clips its overflow cuts it off.
NOT_CLIPPED = """el => {
    const box = el.getBoundingClientRect();
    for (let up = el.parentElement; up; up = up.parentElement) {
        const style = getComputedStyle(up);
        if (style.overflowX === 'visible' && style.overflow === 'visible') continue;
        const outer = up.getBoundingClientRect();
        if (box.right > outer.right + 1 || box.left < outer.left - 1) return false;
    }
    return el.scrollWidth <= el.clientWidth + 1;
}"""


def test_pages_fit_a_1024_px_window_and_a_phone(dashboard, page: Page):
    create_from_text(page, dashboard, "A paper boat drifting down a rainy street, cinematic, golden hour")
    page.set_viewport_size({"width": 1024, "height": 800})
    page.goto(dashboard.page_url("create"))
    high = page.get_by_role("radio", name="High")
    expect(high).to_be_visible()
    assert high.evaluate(NOT_CLIPPED), "Motion 'High' is cut off"

    page.goto(dashboard.page_url("history"))
    track = page.get_by_role("button", name="Track a job by id")
    expect(track).to_be_visible()
    assert track.locator("p").first.evaluate(NOT_CLIPPED), "'Track a job by id' is cut off"
    expect(page.get_by_role("spinbutton", name="Page")).to_be_visible()  # the pager says what it is
    # Prompt and submission time come first, so they fit in the table's visible width.
    from ui.history_table import column_config

    config = column_config()
    assert list(config)[:3] == ["status", "prompt", "submitted"]
    box = page.get_by_test_id("stDataFrame").first.bounding_box()
    assert box is not None and box["width"] >= 40 + 110 + 200 + 130

    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("create", "history", "extend", "upscale"):
        page.goto(dashboard.page_url(path))
        expect(page.get_by_role("heading").first).to_be_visible()
        page.wait_for_timeout(500)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"/{path} is {width} px wide on a 390 px phone"


def test_a_bad_deep_link_says_what_is_wrong_and_preselects_nothing(dashboard, page: Page):
    video = create_from_text(page, dashboard, "A fox in the snow")
    page.goto(dashboard.page_url(f"job?job={video}"))
    expect(page.get_by_role("heading", name="Results")).to_be_visible(timeout=60_000)
    for link, words in (
        ("extend?job=x&variant=9", ["x is not a Legnext job id", "Variant 9 does not exist"]),
        (f"extend?job={video}&variant=9", ["Variant 9 does not exist"]),
        ("upscale?job=x", ["x is not a Legnext job id"]),
    ):
        page.goto(dashboard.page_url(link))
        alert = page.get_by_role("alert").filter(has_text="This link cannot be followed.")
        expect(alert).to_be_visible()
        for text in words:
            expect(alert).to_contain_text(text)
        expect(page.get_by_text("fix the highlighted input")).to_have_count(0)
        # Nothing is chosen in its place: no video picked, nothing to send.
        expect(page.get_by_role("combobox").first).to_have_value("")
        expect(page.get_by_role("button", name=re.compile("Extend video|Upscale video"))).to_have_count(0)
