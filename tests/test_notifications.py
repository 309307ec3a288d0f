"""Which of a person's jobs ended since a session last looked, and the tab title's running count."""

from __future__ import annotations

import pytest

from legnext_core.errors import BadRequestError
from legnext_core.models import Job, JobKind, JobRequest
from legnext_core.notifications import announcement, check, tab_title
from legnext_core.store import JobStore
from tests.helpers import TickingClock

SANDBOX = {"api_mode": "sandbox", "api_base_url": "http://127.0.0.1:9/api"}


@pytest.fixture
def clock():
    return TickingClock()


@pytest.fixture
def store(tmp_path, clock):
    with JobStore(tmp_path / "jobs.json", clock=clock) as store:
        yield store


def job(job_id: str, status: str = "pending", **fields) -> Job:
    return Job.from_api({"job_id": job_id, "task_type": "video_diffusion", "status": status, **fields})


def submit(store: JobStore, job_id: str, *, by: str = "ann@example.com", prompt: str = "a lantern") -> str:
    record = store.add_intent(
        JobRequest(JobKind.TEXT_VIDEO, prompt=prompt), estimated_points=1, submitted_by=by, **SANDBOX
    )
    store.record_accepted(record.local_id, job(job_id))
    return record.local_id


def finish(store: JobStore, job_id: str, status: str = "completed") -> None:
    output = {"video_urls": [f"https://cdn.legnext.ai/{job_id}/0.mp4"]} if status == "completed" else {}
    store.apply_job(job(job_id, status, output=output))


def test_the_first_check_only_sets_the_cursor_and_counts_running_jobs(store, clock):
    submit(store, "j-1")
    submit(store, "j-2")
    finish(store, "j-2")
    first = check(store, "ann@example.com", None, now=clock.now)
    assert first.finished == () and first.running == 1


def test_a_job_that_ends_is_announced_once_and_only_to_its_person(store, clock):
    mine = submit(store, "j-1")
    submit(store, "j-2", by="bob@example.com")
    ann = check(store, "ann@example.com", None, now=clock.now)
    bob = check(store, "bob@example.com", None, now=clock.now)
    finish(store, "j-1")
    finish(store, "j-2", "failed")

    ann = check(store, "ann@example.com", ann.watch, now=clock.now)
    assert [record.local_id for record in ann.finished] == [mine] and ann.running == 0
    bob = check(store, "bob@example.com", bob.watch, now=clock.now)
    assert [str(record.status) for record in bob.finished] == ["failed"]

    # Later changes to a finished record (a favourite, posters) announce nothing again.
    store.update_library(mine, favourite_variants=[0])
    again = check(store, "ann@example.com", ann.watch, now=clock.now)
    assert again.finished == ()


def test_a_job_made_and_ended_between_two_checks_is_announced(store, clock):
    before = check(store, "ann@example.com", None, now=clock.now)
    quick = submit(store, "j-1")
    finish(store, "j-1")
    after = check(store, "ann@example.com", before.watch, now=clock.now)
    assert [record.local_id for record in after.finished] == [quick]


def test_a_rejected_submission_is_announced(store, clock):
    record = store.add_intent(
        JobRequest(JobKind.TEXT_VIDEO, prompt="x"),
        estimated_points=1,
        submitted_by="ann@example.com",
        **SANDBOX,
    )
    watch = check(store, "ann@example.com", None, now=clock.now).watch
    store.record_rejected(record.local_id, BadRequestError("bad prompt"))
    found = check(store, "ann@example.com", watch, now=clock.now)
    assert [r.local_id for r in found.finished] == [record.local_id]
    assert announcement(found.finished[0]).startswith("Text to video was refused")


def test_an_old_job_touched_after_the_cursor_is_not_announced(store, clock):
    old = submit(store, "j-1")
    finish(store, "j-1")
    watch = check(store, "ann@example.com", None, now=clock.now).watch
    store.update_library(old, tags=["keep"])
    assert check(store, "ann@example.com", watch, now=clock.now).finished == ()


def test_everyone_when_there_is_no_person(store, clock):
    watch = check(store, None, None, now=clock.now).watch
    submit(store, "j-1", by="ann@example.com")
    submit(store, "j-2", by="bob@example.com")
    result = check(store, None, watch, now=clock.now)
    assert result.running == 2


def test_tab_title_and_announcement_wording():
    assert tab_title(0, "Legnext Video Studio") == "Legnext Video Studio"
    assert tab_title(2, "Legnext Video Studio") == "(2) Legnext Video Studio"


def test_announcement_quotes_and_shortens_the_prompt(store, clock):
    local_id = submit(store, "j-1", prompt="A *bold* " + "very long " * 20)
    finish(store, "j-1")
    record = store.get(local_id)
    text = announcement(record, quote=lambda s: f"<{s}>", prompt_chars=20)
    assert text == "Text to video finished: <A *bold* very long…>"
