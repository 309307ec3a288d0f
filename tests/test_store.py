"""The job log: intents, forward-only status, tracking, queries, recovery, atomic files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from tinydb import TinyDB

from legnext_core.errors import BadRequestError
from legnext_core.models import Job, JobKind, JobRequest
from legnext_core.sandbox.clock import ManualClock
from legnext_core.store import (
    INTERRUPTED_NOTE,
    ExtensionChain,
    JobStore,
    UnknownRecordError,
)
from tests.joblog_files import read_log
from tests.store_backends import BACKENDS, log_place

SANDBOX = {"api_mode": "sandbox", "api_base_url": "http://127.0.0.1:9/api"}
START = 1_790_000_000.0


def job(job_id, status="pending", **fields):
    """A job as the client parses it from Legnext's wire format."""
    body = {"job_id": job_id, "task_type": fields.pop("task_type", "video_diffusion"), "status": status}
    body.update(fields)
    return Job.from_api(body)


def finished_video(job_id, *, urls=4):
    return job(
        job_id,
        "completed",
        output={
            "video_urls": [f"https://cdn.legnext.ai/v/{job_id}/{i}.mp4" for i in range(urls)],
            "seed": "42",
            "available_actions": {"extend": [0, 1, 2, 3], "upscale": [0, 1, 2, 3]},
        },
        meta={
            "created_at": "2025-10-21T10:51:46Z",
            "started_at": "2025-10-21T10:51:47Z",
            "ended_at": "2025-10-21T10:54:22Z",
            "usage": {"type": "point", "frozen": 480, "consume": 480},
        },
        logs=["queued", "rendering 50%", "done"],
    )


@pytest.fixture
def clock():
    return ManualClock(START)


@pytest.fixture(params=BACKENDS)
def place(request, tmp_path):
    """Where the log is kept: the TinyDB file, or a PostgreSQL database (every store test runs on both)."""
    return log_place(request, tmp_path)


@pytest.fixture
def store(place, clock):
    with place.open(clock=clock.now) as opened:
        yield opened


def intent(store, prompt="a red fox in the snow", kind=JobKind.TEXT_VIDEO, status="submitting", **request):
    return store.add_intent(
        JobRequest(kind=kind, prompt=prompt, **request), **SANDBOX, estimated_points=480, status=status
    )


def accepted(store, job_id, prompt="a red fox in the snow", kind=JobKind.TEXT_VIDEO, **request):
    record = intent(store, prompt, kind, **request)
    return store.record_accepted(record.local_id, job(job_id))


def on_disk(path):
    return read_log(path)


# -- intents -------------------------------------------------------------------------------------------


def test_intent_is_on_disk_before_the_post(store, place):
    record = intent(store, video_type=1, motion="high")
    saved = place.saved()[record.local_id]
    assert saved["status"] == "submitting"
    assert saved["prompt"] == "a red fox in the snow"
    assert saved["wire_prompt"] == "a red fox in the snow --motion high"
    assert saved["video_type"] == 1
    assert saved["submitted_at"] == START
    assert "job_id" not in saved


def test_records_leave_out_empty_fields(store, place):
    record = intent(store)
    saved = place.saved()[record.local_id]
    assert not [k for k, v in saved.items() if v is None or v is False or v in ("", [], {})]
    assert saved["video_type"] == 0  # 480p is a value, not an empty field
    # the wire prompt is the prompt itself here, so it is not stored twice
    assert "wire_prompt" not in saved and "raw" not in saved and "image_url" not in saved


def test_accepted_intent_gets_job_id_status_and_credits(store, clock):
    record = intent(store)
    clock.advance(2)
    snapshot = job("j-1", meta={"created_at": "2025-10-21T10:51:46Z", "usage": {"frozen": 480, "consume": 0}})
    saved = store.record_accepted(record.local_id, snapshot)
    assert saved.job_id == "j-1"
    assert saved.status == "pending"
    assert saved.credits_frozen == 480
    assert saved.created_at == datetime(2025, 10, 21, 10, 51, 46, tzinfo=UTC).timestamp()
    assert saved.updated_at == START + 2
    assert saved.submitter_pid is None
    assert store.by_job_id("j-1").local_id == record.local_id


def test_rejection_keeps_legnext_message(store):
    record = intent(store)
    error = BadRequestError(400, 400, "Invalid request parameters", "prompt is too long")
    saved = store.record_rejected(record.local_id, error)
    assert saved.status == "rejected"
    assert saved.error_code == 400
    assert "Invalid request parameters" in saved.error_message
    assert saved.error_raw_message == "prompt is too long"


def test_late_rejection_never_hides_a_created_job(store):
    record = accepted(store, "j-1")
    saved = store.record_rejected(record.local_id, "too late")
    assert saved.status == "pending"
    assert saved.error_message is None


def test_unknown_outcome_becomes_pending_when_the_job_is_found(store):
    record = intent(store)
    unknown = store.record_unknown(record.local_id, "The connection dropped after sending.")
    assert unknown.status == "unknown"
    assert unknown.note == "The connection dropped after sending."
    found = store.record_accepted(record.local_id, job("j-9", "processing"))
    assert found.status == "processing"
    assert found.note is None


def test_record_methods_refuse_an_unknown_local_id(store):
    with pytest.raises(UnknownRecordError):
        store.record_unknown("nope", "x")
    with pytest.raises(UnknownRecordError):
        store.update_tracking("nope", poll_count=1)


def test_queued_line_is_claimed_once_and_requeued_after_a_429(store):
    record = intent(store, status="queued")
    assert store.queued()[0].local_id == record.local_id
    assert store.begin_submission(record.local_id) is True
    assert store.begin_submission(record.local_id) is False
    assert [r.local_id for r in store.in_flight_submissions()] == [record.local_id]
    store.record_rejected(record.local_id, "429 busy")
    assert store.requeue(record.local_id) is True
    again = store.get(record.local_id)
    assert again.status == "queued"
    assert again.error_message is None


def test_unknown_outcome_is_never_requeued(store):
    record = intent(store)
    store.record_unknown(record.local_id, "maybe created")
    assert store.requeue(record.local_id) is False
    assert store.get(record.local_id).status == "unknown"


# -- interrupted submissions ------------------------------------------------------------------------


def test_submission_of_a_dead_process_becomes_unknown_on_open(tmp_path, clock):
    log = tmp_path / "jobs.json"
    # A real process writes the intent and exits before recording an answer.
    script = (
        "import sys; from legnext_core.store import JobStore; from legnext_core.models import *;"
        "s = JobStore(sys.argv[1]);"
        "r = s.add_intent(JobRequest(kind=JobKind.IMAGE, prompt='p'), api_mode='sandbox',"
        " api_base_url='x', estimated_points=80); print(r.local_id)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(log)], capture_output=True, text=True, check=True, cwd=os.getcwd()
    )
    local_id = done.stdout.strip()
    assert on_disk(log)[local_id]["status"] == "submitting"
    with JobStore(log, clock=ManualClock(on_disk(log)[local_id]["submitted_at"] + 1).now) as reopened:
        record = reopened.get(local_id)
        assert record.status == "unknown"
        assert record.note == INTERRUPTED_NOTE
        assert reopened.in_flight_submissions() == []


@pytest.mark.parametrize("place", ["postgresql"], indirect=True)
def test_submission_of_a_dead_replica_becomes_unknown_once_no_post_can_still_be_running(place):
    # A replica on another machine may have the same process id as a live one here: on the shared
    # log, only the submission's age says it was interrupted.
    script = (
        "import sys; from legnext_core.store import JobStore; from legnext_core.models import *;"
        "from legnext_core.joblog.pg_log import PostgresLog;"
        "s = JobStore(storage=PostgresLog(sys.argv[1]));"
        "r = s.add_intent(JobRequest(kind=JobKind.IMAGE, prompt='p'), api_mode='sandbox',"
        " api_base_url='x', estimated_points=80); print(r.local_id)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, place.url], capture_output=True, text=True, check=True, cwd=os.getcwd()
    )
    local_id = done.stdout.strip()
    sent_at = place.saved()[local_id]["submitted_at"]
    with place.open(clock=ManualClock(sent_at + 1).now, submit_timeout=60) as early:
        assert early.get(local_id).status == "submitting"
    with place.open(clock=ManualClock(sent_at + 61).now, submit_timeout=60) as late:
        record = late.get(local_id)
        assert record.status == "unknown"
        assert late.in_flight_submissions() == []
    assert place.saved()[local_id]["status"] == "unknown"


def test_submission_in_flight_in_this_process_is_left_alone_by_another_store(place, clock):
    first = place.open(clock=clock.now)
    record = intent(first)
    second = place.open(clock=clock.now)
    assert second.get(record.local_id).status == "submitting"
    assert len(second.in_flight_submissions()) == 1
    first.record_accepted(record.local_id, job("j-1"))
    assert second.get(record.local_id).status == "pending"


def test_submission_older_than_any_post_can_take_is_interrupted(place, clock):
    store = place.open(clock=clock.now, submit_timeout=60)
    record = intent(store)
    clock.advance(61)
    assert store.in_flight_submissions() == []
    resolved = store.resolve_interrupted_submissions()
    assert [r.local_id for r in resolved] == [record.local_id]
    assert store.get(record.local_id).status == "unknown"


# -- snapshots: forward only ---------------------------------------------------------------------------


def test_snapshot_copies_outputs_usage_times_and_last_log(store):
    record = accepted(store, "j-1")
    saved = store.apply_job(finished_video("j-1"), polled_at=START + 5)
    assert saved.local_id == record.local_id
    assert saved.status == "completed"
    assert saved.progress == 100
    assert len(saved.video_urls) == 4
    assert saved.available_actions["extend"] == [0, 1, 2, 3]
    assert saved.seed == "42"
    assert (saved.credits_frozen, saved.credits_consumed) == (480, 480)
    assert saved.ended_at - saved.started_at == 155
    assert saved.last_log == "done"
    assert saved.last_poll_at == START + 5


def test_snapshot_of_an_unknown_job_is_ignored(store):
    assert store.apply_job(job("never-seen", "completed")) is None
    assert store.count() == 0


def test_stale_snapshot_never_moves_a_job_back(store):
    accepted(store, "j-1")
    store.apply_job(job("j-1", "processing", progress=60))
    saved = store.apply_job(job("j-1", "pending"))
    assert saved.status == "processing"
    assert saved.progress == 60


def test_terminal_job_stays_terminal(store):
    accepted(store, "j-1")
    store.apply_job(finished_video("j-1"))
    failed = job("j-1", "failed", error={"code": 500, "message": "boom", "raw_message": ""})
    saved = store.apply_job(failed)
    assert saved.status == "completed"
    assert saved.error_code is None


def test_same_stage_snapshot_refreshes_logs_but_progress_never_drops(store):
    accepted(store, "j-1")
    store.apply_job(job("j-1", "processing", progress=70, logs=["70%"]))
    saved = store.apply_job(job("j-1", "processing", progress=40, logs=["40%", "still going"]))
    assert saved.progress == 70
    assert saved.last_log == "still going"


def test_a_progress_log_line_does_not_outlive_the_stage_it_described(store):
    accepted(store, "j-1")
    store.apply_job(job("j-1", "processing", logs=["Processing 85%"]))
    # Legnext sends empty logs once a job is done.
    saved = store.apply_job(job("j-1", "completed", logs=[]))
    assert saved.last_log is None
    # A same-stage snapshot without logs keeps the line it has.
    accepted(store, "j-2")
    store.apply_job(job("j-2", "processing", logs=["Processing 40%"]))
    assert store.apply_job(job("j-2", "processing", logs=[])).last_log == "Processing 40%"


def test_updated_at_moves_only_when_the_job_changed(store, clock):
    accepted(store, "j-1")
    first = store.apply_job(job("j-1", "processing", progress=10))
    clock.advance(30)
    again = store.apply_job(job("j-1", "processing", progress=10), polled_at=clock.now())
    assert again.updated_at == first.updated_at
    assert again.last_poll_at == clock.now()
    clock.advance(30)
    moved = store.apply_job(job("j-1", "processing", progress=20))
    assert moved.updated_at == clock.now()


def test_failed_job_keeps_error_fields(store):
    accepted(store, "j-1")
    body = {"code": 10001, "message": "Generation failed", "raw_message": "gpu oom"}
    saved = store.apply_job(job("j-1", "failed", error=body))
    assert (saved.error_code, saved.error_message, saved.error_raw_message) == (
        10001,
        "Generation failed",
        "gpu oom",
    )


def test_lost_job_stays_lost_and_a_finished_job_is_not_lost(store):
    lost = accepted(store, "j-1")
    done = accepted(store, "j-2")
    store.apply_job(finished_video("j-2"))
    assert store.mark_lost(lost.local_id, "Legnext no longer knows this job.").status == "lost"
    assert store.mark_lost(done.local_id, "x").status == "completed"
    assert store.apply_job(finished_video("j-1")).status == "lost"


def test_external_job_is_logged_once(store):
    snapshot = finished_video("ext-1")
    first = store.track_external(snapshot, **SANDBOX)
    again = store.track_external(snapshot, **SANDBOX)
    assert first.local_id == again.local_id
    assert first.kind == "text_video"
    assert first.status == "completed"
    assert first.submitted_at == first.created_at
    assert store.count() == 1


def test_tracking_fields_refuse_status_and_remove_on_none(store, clock, place):
    record = accepted(store, "j-1")
    with pytest.raises(ValueError, match="status"):
        store.update_tracking(record.local_id, status="completed")
    clock.advance(10)
    saved = store.update_tracking(record.local_id, poll_count=3, next_poll_at=START + 40, stuck=True)
    assert (saved.poll_count, saved.next_poll_at, saved.stuck) == (3, START + 40, True)
    assert saved.updated_at == record.updated_at  # scheduling is not a change of the job
    cleared = store.update_tracking(record.local_id, stuck=None, media_paths=["a.mp4", None])
    assert cleared.stuck is False
    assert "stuck" not in place.saved()[record.local_id]
    assert cleared.media_paths == ["a.mp4", None]


# -- queries ---------------------------------------------------------------------------------------------


def test_recent_is_newest_first_and_filters(store, clock):
    fox = accepted(store, "AAA-111", "A red fox")
    clock.advance(10)
    owl = intent(store, "an owl at night", kind=JobKind.IMAGE)
    clock.advance(10)
    cat = accepted(store, "bbb-222", "a cat on a roof")
    store.apply_job(finished_video("bbb-222"))

    assert [r.local_id for r in store.recent()] == [cat.local_id, owl.local_id, fox.local_id]
    assert [r.local_id for r in store.recent(limit=1)] == [cat.local_id]
    assert [r.local_id for r in store.recent(statuses=["completed"])] == [cat.local_id]
    assert [r.local_id for r in store.recent(kinds=[JobKind.IMAGE])] == [owl.local_id]
    assert [r.local_id for r in store.recent(text="RED FOX")] == [fox.local_id]
    assert [r.local_id for r in store.recent(text="aaa-1")] == [fox.local_id]
    assert [r.local_id for r in store.recent(since=START + 10, until=START + 20)] == [owl.local_id]
    since = datetime.fromtimestamp(START + 15, UTC)
    assert [r.local_id for r in store.recent(since=since)] == [cat.local_id]


def test_active_and_queued(store, clock):
    running = accepted(store, "j-1")
    clock.advance(1)
    accepted(store, "j-2")
    store.apply_job(finished_video("j-2"))
    intent(store)  # submitting: no job id yet
    waiting = intent(store, status="queued")
    assert [r.local_id for r in store.active()] == [running.local_id]
    assert [r.local_id for r in store.queued()] == [waiting.local_id]


def test_extension_chain_walks_extends_and_upscales_follow_their_parent(store):
    accepted(store, "v0")
    parent = "v0"
    for number in range(1, 4):
        accepted(store, f"e{number}", "more", kind=JobKind.EXTEND, parent_job_id=parent, index=0)
        parent = f"e{number}"
    accepted(store, "u1", None, kind=JobKind.UPSCALE, parent_job_id="e3", index=2)

    assert store.extension_chain("v0") == ExtensionChain(0, 4, 16, 4, ("v0",))
    assert store.extension_chain("e3") == ExtensionChain(3, 16, 4, 1, ("v0", "e1", "e2", "e3"))
    assert store.extension_chain("u1") == store.extension_chain("e3")
    accepted(store, "e4", "last", kind=JobKind.EXTEND, parent_job_id="e3", index=1)
    assert store.extension_chain("e4") == ExtensionChain(4, 20, 0, 0, ("v0", "e1", "e2", "e3", "e4"))
    assert [r.job_id for r in store.children("e3")] == ["u1", "e4"]


def test_credit_totals_sum_frozen_and_consumed(store):
    accepted(store, "j-1")
    store.apply_job(finished_video("j-1"))
    accepted(store, "j-2")
    store.apply_job(job("j-2", "processing", meta={"usage": {"frozen": 1536, "consume": 0}}))
    assert store.credit_totals() == (480 + 1536, 480)
    assert store.credit_totals([store.by_job_id("j-2")]) == (1536, 0)
    assert store.count() == 2


# -- files -----------------------------------------------------------------------------------------------


def test_unreadable_log_is_moved_aside_never_overwritten(tmp_path, clock):
    log = tmp_path / "jobs.json"
    log.write_bytes(b'{"jobs": {"abc": {"local_id": "abc", "status": "comp')
    with JobStore(log, clock=clock.now) as store:
        assert store.recovered_from == tmp_path / "jobs.json.corrupt-20260921T141320Z"
        assert store.recovered_from.read_bytes().endswith(b'"comp')
        assert store.count() == 0
        intent(store)
        assert len(on_disk(log)) == 1


def test_log_of_the_wrong_shape_is_moved_aside_too(tmp_path, clock):
    log = tmp_path / "jobs.json"
    log.write_text("[1, 2, 3]")
    first = JobStore(log, clock=clock.now)
    log.write_text('{"jobs": [1]}')  # and again, in the same second
    second = JobStore(log, clock=clock.now)
    assert first.recovered_from != second.recovered_from
    assert second.recovered_from.read_text() == '{"jobs": [1]}'
    assert first.recovered_from.read_text() == "[1, 2, 3]"


def test_log_broken_by_another_program_while_open_is_recovered(tmp_path, clock):
    store = JobStore(tmp_path / "jobs.json", clock=clock.now)
    intent(store)
    (tmp_path / "jobs.json").write_text("garbage")
    assert store.count() == 0
    assert store.recovered_from.read_text() == "garbage"


def test_stray_temporary_files_are_swept_on_open(tmp_path, clock):
    stray = tmp_path / ".jobs.json.k2j3h4.tmp"
    stray.write_bytes(b'{"half": ')
    unrelated = tmp_path / "notes.tmp"
    unrelated.write_text("keep")
    JobStore(tmp_path / "jobs.json", clock=clock.now).close()
    assert not stray.exists()
    assert unrelated.exists()


def test_log_written_by_plain_tinydb_is_read(tmp_path, clock):
    log = tmp_path / "jobs.json"
    with TinyDB(log) as plain:
        plain.table("jobs").insert({"local_id": "old", "status": "completed", "submitted_at": 5.0})
    with JobStore(log, clock=clock.now) as store:
        assert store.count() == 1
        intent(store)
        assert store.count() == 2
    # The old file is the snapshot, untouched; the change went to the journal beside it.
    old = {"local_id": "old", "status": "completed", "submitted_at": 5.0}
    assert json.loads(log.read_bytes()) == {"jobs": {"1": old}}
    assert len(on_disk(log)) == 2


def test_reopened_log_holds_exactly_what_the_store_served(store, place, clock):
    # Each write re-encodes only the changed record; the file must still equal the whole table.
    for number in range(5):
        record = accepted(store, f"j-{number}", f"prompt {number}")
        store.apply_job(job(f"j-{number}", "processing", progress=number * 10))
        store.update_tracking(record.local_id, poll_count=number)
        clock.advance(1)
    store.apply_job(finished_video("j-3"))
    store.mark_lost(store.by_job_id("j-1").local_id, "gone")
    served = {r.local_id: r for r in store.recent(None)}
    with place.open(clock=clock.now) as reopened:
        assert {r.local_id: r for r in reopened.recent(None)} == served


def test_two_stores_on_one_log_see_each_others_quick_writes(place, clock):
    # Two stores behave like two processes (or replicas): separate caches, one lock.
    first = place.open(clock=clock.now)
    second = place.open(clock=clock.now)
    a = accepted(first, "j-a")
    for number in range(20):
        # Same-sized files written back to back: a stat signature could miss these.
        second.update_tracking(a.local_id, poll_count=number % 10)
        first.update_tracking(a.local_id, not_found_count=number % 10)
    b = accepted(second, "j-b")
    first.apply_job(job("j-b", "processing"))
    assert second.get(b.local_id).status == "processing"
    assert first.get(a.local_id).poll_count == 9
    assert second.get(a.local_id).not_found_count == 9
    assert first.count() == second.count() == 2


def test_unfinished_queries_answer_by_status_and_build_only_changed_records(store):
    running = accepted(store, "job-1")
    waiting = intent(store, "a queued line", status="queued")
    accepted(store, "job-2")
    store.apply_job(finished_video("job-2"))

    assert [r.local_id for r in store.active()] == [running.local_id]
    assert [r.local_id for r in store.queued()] == [waiting.local_id]
    # Asked again with nothing changed: the same records, not built anew.
    assert store.active()[0] is store.active()[0]
    assert store.queued()[0] is store.queued()[0]

    before = store.active()[0]
    store.apply_job(job("job-1", "processing", progress=30))
    after = store.active()[0]
    assert after is not before and after.progress == 30 and after.status == "processing"
    store.apply_job(finished_video("job-1"))
    assert store.active() == []
