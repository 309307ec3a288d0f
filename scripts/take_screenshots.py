"""Make the README's screenshots: the real dashboard in sandbox mode, driven through its UI in Chromium.

    python -m scripts.take_screenshots            # writes docs/screenshots/*.png
    python -m scripts.take_screenshots usage      # only the Usage page, over a seeded month of a team
    python -m scripts.take_screenshots studio     # only the Gallery and Create's live feed

Starts `streamlit run app.py` with no key on a fresh data folder (sandbox at time scale 10), makes a few
jobs by clicking through the pages like a user, and photographs each page.
"""

from __future__ import annotations

import contextlib
import random
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from legnext_core.balance_log import BalanceLog
from legnext_core.models import Job, JobKind, JobRequest
from legnext_core.store import JobStore
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, running_dashboard

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
JOB_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
WAIT_MS = 90_000


def submitted(page: Page) -> str:
    confirmation = page.get_by_text(re.compile(r"Submitted\. Legnext accepted job"))
    expect(confirmation).to_be_visible(timeout=WAIT_MS)
    match = JOB_ID.search(confirmation.inner_text())
    assert match
    return match.group(0)


def create_text_video(page: Page, base: str, prompt: str, *, hd: bool = False) -> str:
    page.goto(f"{base}/create")
    page.get_by_role("textbox", name="Prompt").fill(prompt)
    if hd:
        page.get_by_role("radio", name="720p").first.click()
    page.get_by_role("button", name="Create video").click()
    return submitted(page)


def wait_done(page: Page, base: str, job_id: str) -> None:
    page.goto(f"{base}/job?job={job_id}")
    expect(page.get_by_role("heading", name="Results")).to_be_visible(timeout=WAIT_MS)


@contextlib.contextmanager
def dashboard_page(height: int, data: Path | None = None, **env: str) -> Iterator[tuple[Page, str]]:
    """A Chromium page 1400 px wide and ``height`` tall, and the URL of a dashboard on ``data`` (or a fresh
    folder) started with ``env``; both closed at the end."""
    OUT.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        if data is None:
            data = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        dashboard = stack.enter_context(running_dashboard(data, **env))
        browser = stack.enter_context(sync_playwright()).chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        stack.callback(browser.close)
        page = browser.new_page(viewport={"width": 1400, "height": height})
        page.set_default_timeout(30_000)
        yield page, dashboard.url


def shoot(page: Page, name: str) -> None:
    page.wait_for_timeout(1500)  # let media and fragments settle
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    print(f"wrote docs/screenshots/{name}.png")


def main() -> None:
    with dashboard_page(height=1000) as (page, base):
        boat = create_text_video(page, base, "A paper boat drifting down a rainy street, golden hour")
        create_text_video(page, base, "Waves breaking on black sand at dawn, slow motion", hd=True)
        create_text_video(page, base, "A neon city in the rain, seen from a tram window")
        wait_done(page, base, boat)

        page.goto(f"{base}/extend?job={boat}&variant=1")
        expect(page.get_by_text("4 s of 20 s")).to_be_visible()
        page.get_by_role("textbox", name="Prompt (optional)").fill("the camera pulls back over the rooftops")
        page.get_by_role("button", name="Extend video").click()
        extension = submitted(page)

        page.goto(f"{base}/upscale?job={boat}&variant=0")
        page.get_by_role("button", name="Upscale video").click()
        submitted(page)

        page.goto(f"{base}/create")
        shoot(page, "create")
        page.get_by_role("radio", name="Batch").click()
        page.get_by_label("Prompts, one per line").fill(
            "A fox running through snow\nA lighthouse at dusk\nA hot-air balloon over a desert"
        )
        page.get_by_label("Prompts, one per line").blur()
        shoot(page, "create-batch")

        wait_done(page, base, extension)
        page.goto(f"{base}/extend?job={extension}&variant=2")
        expect(page.get_by_text("8 s of 20 s")).to_be_visible()
        shoot(page, "extend")
        page.goto(f"{base}/upscale?job={boat}&variant=3")
        shoot(page, "upscale")

        page.goto(f"{base}/history")
        expect(page.get_by_role("heading", name="History")).to_be_visible()
        # The table and its controls are drawn before the picture is taken (not their placeholders).
        expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
        expect(page.get_by_role("button", name="Export CSV")).to_be_visible()
        page.wait_for_timeout(2500)
        shoot(page, "history")
        page.goto(f"{base}/job?job={boat}")
        expect(page.get_by_role("heading", name="Results")).to_be_visible(timeout=WAIT_MS)
        shoot(page, "job-detail")


TEAM = ("ana@studio.example", "bo@studio.example", "chen@studio.example", "dee@studio.example")
#: (kind, resolution, points, how often) for the seeded month.
MIX = ((JobKind.TEXT_VIDEO, 0, 480, 5), (JobKind.TEXT_VIDEO, 1, 1536, 2), (JobKind.ANIMATE, 0, 480, 2),
       (JobKind.EXTEND, 0, 480, 2), (JobKind.UPSCALE, 0, 480, 1))  # fmt: skip


def seed_team_month(data_dir: Path, days: int = 24) -> None:
    """A job log of four people over ``days`` days (some failures), and the balance falling with it."""
    rng = random.Random(7)
    now = time.time()
    clock = [now]
    store = JobStore(data_dir / "jobs.json", clock=lambda: clock[0])
    spent_on: dict[int, int] = {}
    try:
        for day in range(days, -1, -1):
            for person in TEAM:
                for _ in range(rng.choice((0, 1, 2, 3, 4))):
                    kind, video_type, cost, _weight = rng.choices(MIX, weights=[m[3] for m in MIX])[0]
                    clock[0] = now - day * 86_400 - rng.uniform(0, 8 * 3600)
                    request = JobRequest(kind=kind, prompt="seeded", video_type=video_type)
                    record = store.add_intent(request, api_mode="sandbox", api_base_url="seeded",
                                              estimated_points=cost, submitted_by=person)  # fmt: skip
                    failed = rng.random() < 0.08
                    job = Job.from_api({
                        "job_id": str(uuid.uuid4()), "task_type": "video_diffusion",
                        "status": "failed" if failed else "completed",
                        "meta": {"usage": {"frozen": cost, "consume": 0 if failed else cost}},
                    })  # fmt: skip
                    store.record_accepted(record.local_id, job)
                    spent_on[day] = spent_on.get(day, 0) + (0 if failed else cost)
    finally:
        store.close()
    # The balance each day, ending at what the sandbox's account holds today (50,000 points).
    balance_log = BalanceLog(data_dir / "balance.jsonl")
    for day in range(days, -1, -1):
        later = sum(points for d, points in spent_on.items() if d < day)
        balance_log.record(now - day * 86_400 - 60, 50_000 + later, (50_000 + later) / 1000)


def usage_screenshot() -> None:
    with tempfile.TemporaryDirectory() as data:
        seed_team_month(Path(data))
        caps = {"LEGNEXT_DAILY_CAP_POINTS": "6000", "LEGNEXT_MONTHLY_CAP_POINTS": "150000"}
        # Tall enough for the whole page: Streamlit scrolls inside its own container.
        with dashboard_page(height=1750, data=Path(data), **caps) as (page, base):
            page.goto(f"{base}/usage")
            heading = page.get_by_role("heading", name="Jobs and failures per person")
            expect(heading).to_be_visible(timeout=30_000)
            page.wait_for_timeout(2500)  # charts draw after the page
            shoot(page, "usage")


def shoot_small(page: Page, name: str) -> None:
    """A viewport picture cut to 256 colours: the studio pages are mostly posters, which PNG keeps big."""
    from PIL import Image

    page.mouse.move(1390, 1390)  # on the empty margin: no hover toolbar over a poster or a prompt
    page.wait_for_timeout(2500)  # let posters, previews and fragments settle
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path))
    with Image.open(path) as shot:
        small = shot.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)
    print(f"wrote docs/screenshots/{name}.png ({path.stat().st_size // 1024} KB)")


def studio_screenshots() -> None:
    """The Gallery and Create's live feed, over a few finished jobs."""
    with dashboard_page(height=1400) as (page, base):
        create_text_video(page, base, "Waves breaking on black sand at dawn, slow motion")
        create_text_video(page, base, "A neon city in the rain, seen from a tram window")
        last = create_text_video(page, base, "A paper boat drifting down a rainy street, golden hour")
        wait_done(page, base, last)

        page.goto(f"{base}/create")
        page.get_by_role("textbox", name="Prompt").fill("A lighthouse at dusk, gulls circling")
        page.get_by_role("button", name="Create video").click()
        submitted(page)
        # Every job of the feed (four) shows its posters, the new one's made while the page watched:
        # a finished job still waiting for them would show placeholders in the picture.
        expect(page.get_by_role("img", name="Poster of video 4")).to_have_count(4, timeout=WAIT_MS)
        # Scrolled so the foot of the form and the feed under it share the picture.
        page.get_by_role("heading", name="Your latest jobs").evaluate(
            "h => h.scrollIntoView({block: 'center'})"
        )
        shoot_small(page, "create-feed")

        page.goto(f"{base}/gallery")
        picture = re.compile(r"^(Preview|Poster) of video 4$")
        expect(page.get_by_role("img", name=picture).nth(2)).to_be_visible(timeout=WAIT_MS)
        for number in (1, 2):
            page.get_by_text(f"Select video {number}", exact=True).first.click()
            expect(page.get_by_role("checkbox", name=f"Select video {number}").first).to_be_checked()
        expect(page.get_by_text("2 selected")).to_be_visible()
        shoot_small(page, "gallery")


if __name__ == "__main__":
    modes = {"usage": usage_screenshot, "studio": studio_screenshots}
    modes.get(sys.argv[1] if sys.argv[1:] else "", main)()
