"""Spending caps and who may spend, checked before anything is sent: a real Studio, a real job log and
real HTTP to the sandbox (a text video at 480p costs 480 points there)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from legnext_core import spending
from legnext_core.access import NotAllowedToSpendError, Person, Role, SpendingLockedError
from legnext_core.models import JobKind, JobRequest
from legnext_core.records import JobRecord
from legnext_core.settings import load_settings
from legnext_core.spending import Caps, SpendingCapError
from legnext_core.studio import Studio
from legnext_core.submit import submit_batch, submit_job

VIDEO_POSTS = "/api/v1/video-diffusion"
ANA = Person("ana@team.test", Role.MEMBER, signed_in=True)
BO = Person("bo@team.test", Role.MEMBER, signed_in=True)
VIC = Person("vic@team.test", Role.VIEWER, signed_in=True)


def video(prompt: str = "a lighthouse at dusk, waves breaking on the rocks, slow dolly in") -> JobRequest:
    return JobRequest(kind=JobKind.TEXT_VIDEO, prompt=prompt)


@pytest.fixture
def make_studio(sandbox, tmp_path):
    made: list[Studio] = []

    def make(**env: str) -> Studio:
        settings = load_settings(
            {"LEGNEXT_SANDBOX_URL": sandbox.base_url, "LEGNEXT_DATA_DIR": str(tmp_path), **env}, {}
        )
        current = Studio(settings)
        made.append(current)
        return current

    yield make
    for current in made:
        current.stop()


def test_a_record_keeps_who_submitted_it(make_studio) -> None:
    current = make_studio()
    mine = submit_job(current, video(), person=ANA)
    anonymous = submit_job(current, video())
    assert current.store.get(mine.local_id).submitted_by == "ana@team.test"
    assert current.store.get(anonymous.local_id).submitted_by == "local"


def test_the_daily_cap_is_per_person_and_refuses_before_sending(make_studio, sandbox) -> None:
    current = make_studio(LEGNEXT_DAILY_CAP_POINTS="1000")
    assert submit_job(current, video(), person=ANA).outcome == "accepted"
    assert submit_job(current, video(), person=ANA).outcome == "accepted"
    over = submit_job(current, video(), person=ANA)
    assert over.outcome == "refused" and isinstance(over.error, SpendingCapError)
    assert (over.error.scope, over.error.cap, over.error.used, over.error.needed) == ("daily", 1000, 960, 480)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d 00:00 UTC")
    message = over.error.user_message
    assert "1,000 points" in message and "960" in message and tomorrow in message
    assert sandbox.request_count("POST", VIDEO_POSTS) == 2, "nothing is sent over the cap"
    assert current.store.count() == 2, "a refused submission is not even recorded"
    # Another person has a day of their own.
    assert submit_job(current, video(), person=BO).outcome == "accepted"


def test_frozen_points_of_running_jobs_count_and_running_jobs_are_never_stopped(make_studio, sandbox) -> None:
    current = make_studio(LEGNEXT_DAILY_CAP_POINTS="1600")
    first = submit_job(current, JobRequest(kind=JobKind.TEXT_VIDEO, prompt="a fox in snow", video_type=1),
                       person=ANA)  # fmt: skip
    assert first.outcome == "accepted"
    record = current.store.get(first.local_id)
    assert record.status in ("pending", "staged", "processing")
    assert spending.committed_points(record) == 1536
    refused = submit_job(current, video(), person=ANA)
    assert refused.outcome == "refused" and refused.error.used == 1536
    # The cap only decides what is sent: the running job goes on to the end.
    sandbox.advance(120)
    current.store.apply_job(current.client.get_job(first.job_id))
    assert current.store.get(first.local_id).status == "completed"


def test_the_team_monthly_cap_counts_everyone(make_studio, sandbox) -> None:
    current = make_studio(LEGNEXT_MONTHLY_CAP_POINTS="1500")
    for person in (ANA, BO, ANA):
        assert submit_job(current, video(), person=person).outcome == "accepted"
    over = submit_job(current, video(), person=BO)
    assert over.outcome == "refused" and over.error.scope == "monthly"
    assert over.error.used == 1440 and over.error.cap == 1500
    assert "The team's monthly limit is 1,500 points" in over.error.user_message
    assert "-01 00:00 UTC" in over.error.user_message, "it resets on the first of next month"
    assert sandbox.request_count("POST", VIDEO_POSTS) == 3


def test_a_batch_that_would_cross_a_cap_sends_what_fits_and_says_so(make_studio, sandbox) -> None:
    current = make_studio(LEGNEXT_DAILY_CAP_POINTS="1500")
    prompts = [f"scene {n}: a paper boat drifting down a rainy street, close up" for n in range(5)]
    results = submit_batch(current, [video(p) for p in prompts], person=ANA)
    assert [r.outcome for r in results] == ["accepted", "accepted", "accepted", "refused", "refused"]
    assert all(isinstance(r.error, SpendingCapError) for r in results[3:])
    assert "1,500 points" in results[3].message
    assert sandbox.request_count("POST", VIDEO_POSTS) == 3
    assert current.store.count() == 3
    assert {r.submitted_by for r in current.store.recent(None)} == {"ana@team.test"}


def test_queued_batch_lines_count_against_the_cap(make_studio, sandbox) -> None:
    # More lines than Legnext's 6 slots: the queued ones are not sent yet but are already counted.
    current = make_studio(LEGNEXT_DAILY_CAP_POINTS="3840")
    results = submit_batch(current, [video(f"line {n} of a long batch of prompts") for n in range(8)],
                           person=ANA)  # fmt: skip
    assert [r.outcome for r in results].count("queued") == 2
    assert submit_job(current, video(), person=ANA).outcome == "refused"


def test_a_viewer_never_spends(make_studio, sandbox) -> None:
    current = make_studio()
    result = submit_job(current, video(), person=VIC)
    assert result.outcome == "refused" and isinstance(result.error, NotAllowedToSpendError)
    batch = submit_batch(current, [video(), video()], person=VIC)
    assert [r.outcome for r in batch] == ["refused", "refused"]
    assert sandbox.request_count("POST", "/api/") == 0 and current.store.count() == 0


def test_a_live_server_anyone_can_reach_with_no_sign_in_sends_nothing(sandbox, tmp_path) -> None:
    # Live mode against the sandbox's URL: the key is accepted there like Legnext's.
    def live(address: str, **env: str) -> Studio:
        values = {"LEGNEXT_API_KEY": "k", "LEGNEXT_BASE_URL": sandbox.base_url,
                  "LEGNEXT_DATA_DIR": str(tmp_path / address), **env}  # fmt: skip
        return Studio(load_settings(values, {}, server_address=address))

    exposed = live("0.0.0.0")
    try:
        result = submit_job(exposed, video())
        assert result.outcome == "refused" and isinstance(result.error, SpendingLockedError)
        assert submit_batch(exposed, [video()])[0].outcome == "refused"
        assert sandbox.request_count("POST", "/api/") == 0 and exposed.store.count() == 0
    finally:
        exposed.stop()
    private = live("127.0.0.1")
    try:
        assert submit_job(private, video()).outcome == "accepted"
    finally:
        private.stop()


def test_caps_set_by_an_admin_are_kept_and_win_over_the_settings(make_studio) -> None:
    current = make_studio(LEGNEXT_DAILY_CAP_POINTS="1000")
    assert spending.load_caps(current.settings) == Caps(1000, None)
    spending.save_caps(current.settings, Caps(None, 20_000))
    assert spending.load_caps(current.settings) == Caps(None, 20_000)
    assert submit_job(current, video(), person=ANA).outcome == "accepted"
    with pytest.raises(ValueError):
        spending.save_caps(current.settings, Caps(0, None))


def test_what_a_record_costs() -> None:
    def cost(status: str, **fields: int) -> int:
        return spending.committed_points(JobRecord(local_id="x", status=status, **fields))

    assert cost("rejected", estimated_points=480) == 0
    assert cost("queued", estimated_points=480) == 480
    assert cost("unknown", estimated_points=480) == 480
    assert cost("processing", credits_frozen=1536) == 1536
    assert cost("completed", credits_consumed=1536) == 1536
    assert cost("failed", credits_consumed=0, credits_frozen=480) == 0
