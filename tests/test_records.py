"""The typed record: on-disk round trip, the agreed fields, the status enum and the pure transitions."""

from __future__ import annotations

import dataclasses
import inspect

import orjson
import pytest

from legnext_core.models import Job, JobKind, JobRequest
from legnext_core.records import (
    INTERRUPTED_NOTE,
    JobRecord,
    RecordStatus,
    TransitionError,
    accept,
    claim,
    curate,
    intent,
    interrupt,
    link,
    lose,
    mark_unknown,
    merge_snapshot,
    progress,
    reconcile,
    reject,
    requeue,
    track,
)

NOW = 1_790_000_000.0


def job(job_id="j-1", status="pending", **fields):
    return Job.from_api({"job_id": job_id, "task_type": "video_diffusion", "status": status, **fields})


def fresh(status="submitting", request: JobRequest | None = None, **agreed):
    """A new intent's record (of a text video "a fox", unless ``request`` says otherwise)."""
    return intent(
        request or JobRequest(kind=JobKind.TEXT_VIDEO, prompt="a fox"),
        local_id="L1",
        api_mode="sandbox",
        api_base_url="http://127.0.0.1:9/api",
        estimated_points=480,
        now=NOW,
        pid=4242,
        status=status,
        **agreed,
    )


def test_every_field_is_documented():
    lines = inspect.getsource(JobRecord).splitlines()
    for field in dataclasses.fields(JobRecord):
        [at] = [i for i, line in enumerate(lines) if line.startswith(f"    {field.name}: ")]
        assert lines[at - 1].strip().startswith("#: "), field.name


def test_a_stored_record_round_trips_keeping_keys_this_version_does_not_know():
    stored = {
        "local_id": "L1",
        "status": "completed",
        "kind": "extend",
        "video_urls": ["u0", "u1"],
        "video_type": 0,
        "a_later_branch_field": {"nested": [1, 2]},
        "status_of_some_future": "x",
    }
    record = JobRecord.from_dict(stored)
    assert record.status is RecordStatus.COMPLETED and record.kind is JobKind.EXTEND
    assert record.extra == {"a_later_branch_field": {"nested": [1, 2]}, "status_of_some_future": "x"}
    assert record.to_dict() == {**stored, "submitted_by": "local"}


def test_the_agreed_fields_exist_with_their_defaults():
    record = JobRecord.from_dict({"local_id": "L1"})
    assert record.submitted_by == "local"
    assert (record.callback_token, record.reconciliation, record.end_url, record.speed) == (None,) * 4
    assert (record.progress_estimated, record.hidden, record.loop) == (False, False, False)
    assert (record.favourite_variants, record.tags, record.thumbnails, record.batch_size) == (None,) * 4
    tagged = JobRecord.from_dict(
        {"local_id": "L1", "tags": ["keep"], "favourite_variants": [2], "loop": True}
    )
    assert tagged.to_dict()["tags"] == ["keep"] and tagged.to_dict()["loop"] is True


def test_an_unknown_status_is_kept_as_text_and_never_replaced_by_a_lower_one():
    record = JobRecord.from_dict({"local_id": "L1", "status": "archived"})
    assert record.status == "archived" and record.rank == -1
    assert record.to_dict()["status"] == "archived"


def test_status_knows_its_rank_activity_and_label():
    assert RecordStatus.QUEUED.rank < RecordStatus.SUBMITTING.rank < RecordStatus.UNKNOWN.rank
    assert RecordStatus.PROCESSING.is_active and not RecordStatus.UNKNOWN.is_active
    assert RecordStatus.LOST.is_terminal and RecordStatus.LOST.label == "Lost"
    assert RecordStatus.UNKNOWN.label == "Outcome unknown"


def test_intent_marks_the_submitter_and_claim_takes_only_a_queued_line():
    sending = fresh(submitted_by="ana@example.com", callback_token="ab" * 16)
    assert (sending.submitter_pid, sending.submitting_since) == (4242, NOW)
    assert sending.submitted_by == "ana@example.com"
    assert claim(sending, now=NOW, pid=1) is None
    queued = fresh("queued")
    assert queued.submitter_pid is None
    claimed = claim(queued, now=NOW + 1, pid=7)
    assert claimed.status is RecordStatus.SUBMITTING and claimed.submitter_pid == 7
    with pytest.raises(ValueError):
        fresh("pending")


def test_answers_remove_the_submitter_and_never_hide_a_created_job():
    accepted = accept(fresh(), job("j-1"), now=NOW + 2)
    assert accepted.job_id == "j-1" and accepted.status is RecordStatus.PENDING
    assert accepted.submitter_pid is None
    assert reject(accepted, "late", now=NOW + 3) is None
    assert mark_unknown(accepted, "maybe", now=NOW + 3) is None
    with pytest.raises(TransitionError):
        accept(accepted, job("j-other"), now=NOW + 3)
    rejected = reject(fresh(), "429 busy", now=NOW + 1)
    assert rejected.status is RecordStatus.REJECTED and rejected.error_message == "429 busy"
    assert requeue(rejected, now=NOW + 2).status is RecordStatus.QUEUED
    unknown = mark_unknown(fresh(), "dropped", now=NOW + 1)
    assert requeue(unknown, now=NOW + 2) is None


def test_snapshots_move_forward_only_and_report_no_change_as_none():
    running = merge_snapshot(
        accept(fresh(), job("j-1"), now=NOW), job("j-1", "processing", progress=60), now=NOW
    )
    assert running.status is RecordStatus.PROCESSING and running.progress == 60
    assert merge_snapshot(running, job("j-1", "pending"), now=NOW + 5) is None
    assert merge_snapshot(running, job("j-1", "processing", progress=40), now=NOW + 5) is None
    polled = merge_snapshot(running, job("j-1", "processing", progress=40), now=NOW + 5, polled_at=NOW + 5)
    assert polled.last_poll_at == NOW + 5 and polled.updated_at == running.updated_at
    lost = lose(running, "gone", now=NOW + 9)
    assert lost.status is RecordStatus.LOST
    assert lose(lost, "again", now=NOW + 10) is None
    assert merge_snapshot(lost, job("j-1", "completed"), now=NOW + 11) is None


def test_interrupt_and_tracking():
    assert interrupt(fresh(), now=NOW + 1).note == INTERRUPTED_NOTE
    assert interrupt(fresh("queued"), now=NOW + 1) is None
    flagged = track(fresh(), {"stuck": True, "poll_count": 3})
    assert flagged.stuck is True and track(flagged, {"stuck": None}).stuck is False
    with pytest.raises(ValueError):
        track(fresh(), {"status": "completed"})


class Progress:
    def __init__(self, status, value, estimated=False):
        self.status, self.progress, self.estimated = status, value, estimated


def test_an_unknown_outcome_keeps_the_window_its_post_was_in_flight():
    unknown = mark_unknown(fresh(), "dropped", now=NOW + 5)
    assert unknown.reconciliation == {"state": "searching", "window": [NOW, NOW + 5]}
    # An interrupted POST could only have run until the submit timeout, however late it is noticed.
    stale = interrupt(fresh(), now=NOW + 10_000, submit_timeout=660)
    assert stale.reconciliation == {"state": "searching", "window": [NOW, NOW + 660]}


def test_link_and_reconcile_apply_to_unknown_records_only():
    unknown = mark_unknown(fresh(), "dropped", now=NOW + 5)
    searched = reconcile(unknown, {"state": "candidates", "candidates": [{"job_id": "j-9"}]})
    assert searched.reconciliation["state"] == "candidates"
    assert reconcile(searched, searched.reconciliation) is None
    linked = link(searched, job("j-9", "processing", progress=40), how="token_delivery", now=NOW + 9)
    assert (linked.job_id, linked.status, linked.progress, linked.note) == ("j-9", "processing", 40, None)
    # The evidence says how it was linked; the candidates it was searched among are dropped.
    evidence = {"state": "linked", "how": "token_delivery", "job_id": "j-9", "at": NOW + 9}
    assert linked.reconciliation == evidence
    assert link(linked, job("j-10"), how="token_delivery", now=NOW + 10) is None
    assert reconcile(linked, {"state": "not_created"}) is None
    assert link(fresh(), job("j-9"), how="token_delivery", now=NOW) is None


def test_reported_progress_replaces_an_estimate_and_never_the_reverse():
    running = accept(fresh(), job("j-1", "processing"), now=NOW)
    estimated = progress(running, Progress(None, 30, estimated=True), now=NOW + 1)
    assert (estimated.progress, estimated.progress_estimated) == (30, True)
    higher = progress(estimated, Progress(None, 45, estimated=True), now=NOW + 2)
    assert higher.progress == 45
    reported = progress(higher, Progress("processing", 20), now=NOW + 3)
    assert (reported.progress, reported.progress_estimated) == (20, False)
    assert progress(reported, Progress(None, 70, estimated=True), now=NOW + 4) is None
    assert progress(reported, Progress("pending", 90), now=NOW + 4) is None  # forward only
    assert progress(reported, Progress("completed", 100), now=NOW + 4) is None  # snapshots finish jobs
    # A poll's snapshot is reported progress too: it clears the estimate.
    polled = merge_snapshot(higher, job("j-1", "processing", progress=10), now=NOW + 5)
    assert (polled.progress, polled.progress_estimated) == (10, False)


def test_intent_records_the_video_options_under_the_agreed_keys():
    request = JobRequest(
        kind=JobKind.TEXT_VIDEO,
        prompt="a fox",
        end_url="https://example.com/end.png",
        batch_size=2,
        speed="turbo",
    )
    record = fresh(request=request)
    assert (record.end_url, record.loop, record.batch_size, record.speed) == (
        "https://example.com/end.png",
        False,
        2,
        "turbo",
    )
    stored = record.to_dict()
    assert (stored["end_url"], stored["batch_size"], stored["speed"]) == (
        "https://example.com/end.png",
        2,
        "turbo",
    )
    assert "loop" not in stored  # off is the default, left out like every blank value
    assert JobRecord.from_dict(stored) == record


def test_curate_sets_favourites_tags_and_hidden_and_clears_them_with_an_empty_value():
    kept = curate(fresh(), {"favourite_variants": [3, 1, 3], "tags": ["winter"], "hidden": True})
    assert (kept.favourite_variants, kept.tags, kept.hidden) == ([1, 3], ["winter"], True)
    assert kept.to_dict()["favourite_variants"] == [1, 3]
    cleared = curate(kept, {"favourite_variants": [], "tags": None, "hidden": False})
    assert (cleared.favourite_variants, cleared.tags, cleared.hidden) == (None, None, False)
    assert not {"favourite_variants", "tags", "hidden"} & set(cleared.to_dict())
    assert cleared.status == kept.status and cleared.updated_at == kept.updated_at
    with pytest.raises(ValueError):
        curate(fresh(), {"status": "completed"})


def test_records_built_from_the_log_share_the_strings_that_repeat_from_record_to_record():
    stored = orjson.dumps(
        {"local_id": "a" * 32, "api_base_url": "https://api.example.test/api", "prompt": "a fox"}
    )
    first, second = (JobRecord.from_dict(orjson.loads(stored)) for _ in range(2))
    assert first == second
    # One string for a value held by thousands of built records.
    assert first.api_base_url is second.api_base_url
