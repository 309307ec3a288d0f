"""The tracker's start on a log it cannot poll all of: active jobs first, notes in one write, media later.

Real sandbox over HTTP, a real job log, a manual clock.
"""

from __future__ import annotations

import random
import uuid
from pathlib import Path

import pytest

from legnext_core import tracker as tracker_module
from legnext_core.models import Job, JobKind
from legnext_core.store import JobStore
from legnext_core.tracker import NOT_POLLED_NOTE, Tracker
from tests.test_tracker_rig import SANDBOX_SCALE, Rig, make_rig

LIVE_API = "https://api.legnext.ai/api"


class CountingCommits:
    """Stands in for the storage's commit and keeps the records of each write (each is one fsync)."""

    def __init__(self, store: JobStore) -> None:
        self.commit = store.storage.commit
        self.written: list[set[str]] = []

    @property
    def writes(self) -> int:
        return len(self.written)

    def __call__(self, changes):
        self.written.append({local_id for table in changes.values() for local_id in table})
        return self.commit(changes)


def track_live_jobs(store: JobStore, count: int) -> list[str]:
    """Jobs made on the live API, still running: a dashboard on the sandbox cannot poll them."""
    ids = []
    for _ in range(count):
        job = Job.from_api(
            {"job_id": str(uuid.uuid4()), "task_type": "video_diffusion", "status": "processing"}
        )
        ids.append(store.track_external(job, api_mode="live", api_base_url=LIVE_API).local_id)
    return ids


def sandbox_only_tracker(rig: Rig) -> Tracker:
    """A tracker that polls the sandbox's jobs only, as the dashboard does when it runs on the sandbox."""
    return Tracker(
        rig.store,
        lambda record: rig.client if record.api_mode == "sandbox" else None,
        duration_scale=SANDBOX_SCALE,
        clock=rig.clock.now,
        rng=random.Random(3),
    )


def test_notes_for_jobs_that_cannot_be_polled_are_written_in_one_write(sandbox, manual_clock, tmp_path):
    rig = make_rig(sandbox, manual_clock, tmp_path)
    tracker = sandbox_only_tracker(rig)
    try:
        live = track_live_jobs(rig.store, 6)
        ours = rig.submit(JobKind.IMAGE)
        manual_clock.advance(60)
        counter = CountingCommits(rig.store)
        rig.store.storage.commit = counter
        assert tracker.sweep_once() == [ours.job_id]
        assert all(rig.record(i).note == NOT_POLLED_NOTE for i in live)
        assert rig.gets() == 1
        # One write for the six notes; the others are our job's: its first time, its poll's two.
        assert set(live) in counter.written
        assert counter.written.count({ours.local_id}) == counter.writes - 1 == 3
        counter.written.clear()
        tracker.sweep_once()
        assert counter.writes == 0  # a note is written once
    finally:
        tracker.stop()
        rig.client.close()
        rig.store.close()


def test_many_notes_are_written_a_bounded_batch_at_a_time(sandbox, manual_clock, tmp_path, monkeypatch):
    monkeypatch.setattr(tracker_module, "NOTES_PER_WRITE", 4)
    rig = make_rig(sandbox, manual_clock, tmp_path)
    tracker = sandbox_only_tracker(rig)
    try:
        live = track_live_jobs(rig.store, 10)
        counter = CountingCommits(rig.store)
        rig.store.storage.commit = counter
        tracker.sweep_once()
        assert [len(ids) for ids in counter.written] == [4, 4, 2]
        assert set().union(*counter.written) == set(live)
        assert all(rig.record(i).note == NOT_POLLED_NOTE for i in live)
    finally:
        tracker.stop()
        rig.client.close()
        rig.store.close()


def test_notes_are_cleared_in_one_write_when_the_jobs_can_be_polled_again(sandbox, manual_clock, tmp_path):
    rig = make_rig(sandbox, manual_clock, tmp_path)
    try:
        first = rig.submit(JobKind.TEXT_VIDEO)
        second = rig.submit(JobKind.TEXT_VIDEO)
        rig.reachable["ok"] = False
        rig.sweep()
        assert rig.record(first.local_id).note == rig.record(second.local_id).note == NOT_POLLED_NOTE
        rig.reachable["ok"] = True
        counter = CountingCommits(rig.store)
        rig.store.storage.commit = counter
        assert rig.sweep() == []  # not due yet: only their notes end and their first times are set
        assert counter.written == [{first.local_id, second.local_id}]
        for local_id in (first.local_id, second.local_id):
            record = rig.record(local_id)
            assert record.note is None
            assert record.next_poll_at is not None
    finally:
        rig.tracker.stop()
        rig.client.close()
        rig.store.close()


def test_an_overdue_job_is_polled_before_the_look_for_missing_media_is_through(
    sandbox, manual_clock, tmp_path, monkeypatch
):
    first = make_rig(sandbox, manual_clock, tmp_path)
    finished = [first.submit(JobKind.IMAGE) for _ in range(4)]
    first.run_until_settled([r.local_id for r in finished])
    for record in finished:
        assert all(first.record(record.local_id).media_paths)
        # As if the server stopped before their media were archived.
        first.store.update_tracking(record.local_id, media_paths=None, thumbnails=None)
    overdue = first.submit(JobKind.TEXT_VIDEO)
    first.sweep()
    due_at = first.record(overdue.local_id).next_poll_at
    first.tracker.stop()
    first.store.close()

    manual_clock.set(due_at + 30)  # the server was down when the job was due
    monkeypatch.setattr(tracker_module, "MEDIA_SCAN_SLICE", 2)
    second = make_rig(sandbox, manual_clock, tmp_path)
    try:
        assert second.sweep() == [overdue.job_id]
        assert second.tracker.health().media_scan_done is False
        archived = [bool(second.record(r.local_id).media_paths) for r in finished]
        assert archived == [True, True, False, False]  # the first slice of the log only
        assert second.sweep() == []
        assert second.sweep() == []
        assert second.tracker.health().media_scan_done is True
        for record in finished:
            done = second.record(record.local_id)
            assert all(done.media_paths) and len(done.media_paths) == 4
            assert all(Path(p).is_file() for p in done.media_paths)
            assert done.thumbnails and all(done.thumbnails)
    finally:
        second.tracker.stop()
        second.client.close()
        second.store.close()


def test_the_look_for_missing_media_skips_old_and_unfinished_jobs(sandbox, manual_clock, tmp_path):
    first = make_rig(sandbox, manual_clock, tmp_path)
    old, recent = first.submit(JobKind.IMAGE), first.submit(JobKind.IMAGE)
    first.run_until_settled([old.local_id, recent.local_id])
    for record in (old, recent):
        first.store.update_tracking(record.local_id, media_paths=None, thumbnails=None)
    # Legnext keeps media for a while only: an old job's are not fetched after a restart.
    first.store._change(  # noqa: SLF001 - only the end time is moved back
        old.local_id,
        lambda r: r.replace(ended_at=manual_clock.now() - tracker_module.MEDIA_RETENTION - 1),
    )
    first.tracker.stop()
    first.store.close()

    second = make_rig(sandbox, manual_clock, tmp_path)
    try:
        media_gets = sandbox.request_count("GET", "/media/")
        second.sweep()
        assert second.tracker.health().media_scan_done is True
        assert second.record(old.local_id).media_paths is None
        assert all(second.record(recent.local_id).media_paths)
        assert sandbox.request_count("GET", "/media/") == media_gets + 4
    finally:
        second.tracker.stop()
        second.client.close()
        second.store.close()


def test_the_look_for_missing_media_asks_for_recent_jobs_only_when_it_can(sandbox, manual_clock, tmp_path):
    first = make_rig(sandbox, manual_clock, tmp_path)
    finished = [first.submit(JobKind.IMAGE) for _ in range(3)]
    first.run_until_settled([r.local_id for r in finished])
    for record in finished:
        first.store.update_tracking(record.local_id, media_paths=None, thumbnails=None)
    first.tracker.stop()
    first.store.close()

    second = make_rig(sandbox, manual_clock, tmp_path)
    asked: list[float] = []
    walked: list[list[str]] = []
    records_where = second.store.records_where

    def counted_walk(keep, local_ids):
        walked.append(list(local_ids))
        return records_where(keep, walked[-1])

    def candidates(since: float) -> list[str]:
        asked.append(since)
        return [finished[2].local_id, finished[0].local_id]  # as the History table answers: newest first

    second.tracker.media_candidates = candidates
    second.store.records_where = counted_walk  # type: ignore[method-assign]
    try:
        second.sweep()
        assert second.tracker.health().media_scan_done is True
        horizon = manual_clock.now() - tracker_module.MEDIA_RETENTION - tracker_module.LONGEST_JOB_RUN
        assert asked == [horizon]
        assert walked == [[finished[2].local_id, finished[0].local_id]]  # not the whole log
        assert [bool(second.record(r.local_id).media_paths) for r in finished] == [True, False, True]
    finally:
        second.tracker.stop()
        second.client.close()
        second.store.close()


def test_update_tracking_many_writes_every_change_at_once_and_skips_missing_records(tmp_path):
    with JobStore(tmp_path / "jobs.json") as store:
        ids = track_live_jobs(store, 3)
        counter = CountingCommits(store)
        store.storage.commit = counter
        changed = store.update_tracking_many(
            {
                ids[0]: {"note": "a"},
                ids[1]: {"next_poll_at": 5.0, "stuck": True},
                "no-such-record": {"note": "b"},
            }
        )
        assert changed == 2 and counter.written == [{ids[0], ids[1]}]
        assert store.get(ids[0]).note == "a"
        assert store.get(ids[1]).next_poll_at == 5.0 and store.get(ids[1]).stuck is True
        assert store.update_tracking_many({ids[0]: {"note": "a"}}) == 0  # nothing changed: no write
        assert counter.writes == 1
        with pytest.raises(ValueError, match="status"):
            store.update_tracking_many({ids[2]: {"status": "completed"}})
        assert store.get(ids[2]).status == "processing"
    with JobStore(tmp_path / "jobs.json") as reopened:
        assert reopened.get(ids[0]).note == "a"


def test_records_where_builds_only_the_matching_records_of_the_ids_given(tmp_path):
    with JobStore(tmp_path / "jobs.json") as store:
        ids = track_live_jobs(store, 4)
        store.update_tracking(ids[1], note="marked")
        store.update_tracking(ids[3], note="marked")
        assert store.local_ids() == ids
        found = store.records_where(lambda data: data.get("note") == "marked", ids[:3] + ["gone"])
        assert [r.local_id for r in found] == [ids[1]]
