"""The tracker against the sandbox over real HTTP, on a manual clock, with a real job log."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from legnext_core import schedule
from legnext_core.models import Job, JobKind
from legnext_core.sandbox import FaultConfig
from legnext_core.store import JobStore
from legnext_core.tracker import NOT_POLLED_NOTE, Tracker
from tests.test_tracker_rig import KEY, SANDBOX_SCALE, Rig, make_rig

CALLBACK = "http://127.0.0.1:9/webhooks/legnext"  # the discard port: deliveries fail fast


@pytest.fixture
def rig(sandbox, manual_clock, tmp_path) -> Rig:
    with make_rig(sandbox, manual_clock, tmp_path) as rig:
        yield rig


def test_a_new_job_is_not_polled_before_its_earliest_likely_finish(rig):
    record = rig.submit(JobKind.TEXT_VIDEO)
    assert rig.sweep() == []
    scheduled = rig.record(record.local_id).next_poll_at
    earliest = 180 * SANDBOX_SCALE
    assert 0.8 * earliest <= scheduled - record.created_at <= earliest
    rig.clock.set(scheduled - 0.01)
    assert rig.sweep() == []
    assert rig.gets() == 0
    rig.clock.set(scheduled)
    assert rig.sweep() == [record.job_id]
    polled = rig.record(record.local_id)
    assert rig.gets() == 1
    assert polled.poll_count == 1
    assert polled.last_poll_at == scheduled
    assert polled.next_poll_at > scheduled


def test_a_finished_job_is_recorded_and_its_media_archived(rig):
    record = rig.submit(JobKind.TEXT_VIDEO)
    rig.run_until_settled([record.local_id])
    done = rig.record(record.local_id)
    assert done.status == "completed"
    assert done.next_poll_at is None
    paths = done.media_paths
    assert len(paths) == len(done.video_urls) == 4
    for index, path in enumerate(paths):
        assert Path(path) == rig.media_dir / done.job_id / f"{index}.mp4"
        assert Path(path).stat().st_size > 0
    # A few polls for a job of 18-30 s, where the SDK's 3 s poller (scaled) would need 60-100.
    assert done.poll_count <= 12


def test_an_image_job_archives_its_four_images(rig):
    record = rig.submit(JobKind.IMAGE)
    rig.run_until_settled([record.local_id])
    done = rig.record(record.local_id)
    assert [Path(p).name for p in done.media_paths] == ["0.png", "1.png", "2.png", "3.png"]


def test_media_from_a_refused_host_is_recorded_as_none_and_not_retried(sandbox, manual_clock, tmp_path):
    with make_rig(sandbox, manual_clock, tmp_path, allow_loopback=False) as rig:
        record = rig.submit(JobKind.IMAGE)
        rig.run_until_settled([record.local_id])
        assert rig.record(record.local_id).media_paths == [None] * 4
        media_gets = sandbox.request_count("GET", "/media/")
        rig.advance(3600)
        assert sandbox.request_count("GET", "/media/") == media_gets == 0
        assert not rig.media_dir.exists() or not any(rig.media_dir.rglob("*.png"))


def test_restart_resumes_every_unfinished_job_from_the_log(sandbox, manual_clock, tmp_path):
    first = make_rig(sandbox, manual_clock, tmp_path)
    scheduled = first.submit(JobKind.TEXT_VIDEO)
    first.sweep()  # gives the first job its next_poll_at
    first.tracker.stop()
    unscheduled = first.submit(JobKind.IMAGE)  # submitted while no tracker ran
    first.store.close()

    manual_clock.advance(120)  # the server was down for two minutes: both jobs are overdue
    with make_rig(sandbox, manual_clock, tmp_path, seed=9) as second:
        resumed = {r.local_id for r in second.store.active()}
        assert resumed == {scheduled.local_id, unscheduled.local_id}
        polled = second.sweep()
        assert sorted(polled) == sorted([scheduled.job_id, unscheduled.job_id])
        for local_id in (scheduled.local_id, unscheduled.local_id):
            assert second.record(local_id).status == "completed"


def test_restart_keeps_a_job_that_is_not_yet_due_waiting(sandbox, manual_clock, tmp_path):
    first = make_rig(sandbox, manual_clock, tmp_path)
    record = first.submit(JobKind.TEXT_VIDEO)
    first.sweep()
    due_at = first.record(record.local_id).next_poll_at
    first.close()

    with make_rig(sandbox, manual_clock, tmp_path) as second:
        assert second.sweep() == []
        assert second.record(record.local_id).next_poll_at <= due_at
        assert sandbox.request_count("GET", "/api/v1/job/") == 0


def track_unknown_job(rig: Rig) -> dict:
    job = Job.from_api({"job_id": str(uuid.uuid4()), "task_type": "video_diffusion", "status": "processing"})
    return rig.store.track_external(job, api_mode="sandbox", api_base_url=rig.sandbox.base_url)


def test_a_404_is_only_believed_when_a_separate_poll_confirms_it(rig):
    record = track_unknown_job(rig)
    local_id = record.local_id
    rig.sweep()
    rig.clock.set(rig.record(local_id).next_poll_at)
    rig.sweep()
    first = rig.record(local_id)
    assert first.status == "processing"
    assert first.not_found_count == 1
    # Not retried within the same sweep time: the confirmation is a separate, later poll.
    assert rig.sweep() == []
    rig.clock.set(first.next_poll_at)
    rig.sweep()
    lost = rig.record(local_id)
    assert lost.status == "lost"
    assert "404" in lost.note and record.job_id in lost.note
    assert rig.gets() == 2
    rig.advance(600)
    assert rig.gets() == 2  # a lost job is not polled again


def test_a_404_followed_by_an_answer_is_forgotten(rig):
    record = rig.submit(JobKind.TEXT_VIDEO)
    rig.store.update_tracking(record.local_id, not_found_count=1, next_poll_at=rig.clock.now())
    rig.sweep()
    answered = rig.record(record.local_id)
    assert answered.status != "lost"
    assert answered.not_found_count is None


def test_a_429_pauses_every_poll_for_its_retry_after(sandbox, manual_clock, tmp_path):
    with make_rig(sandbox, manual_clock, tmp_path, max_in_flight=1) as rig:
        records = [rig.submit(JobKind.IMAGE) for _ in range(3)]
        rig.sweep()
        manual_clock.advance(20)  # all three are due
        sandbox.set_faults(FaultConfig.only("429", retry_after=7, methods=frozenset({"GET"})))
        start = manual_clock.now()
        rig.sweep()
        assert rig.gets() == 1  # the first 429 stopped the other two from being sent
        health = rig.tracker.health()
        assert health.paused_until == pytest.approx(start + 7)
        assert health.last_error
        for record in records:
            assert rig.record(record.local_id).next_poll_at >= start + 7
        sandbox.set_faults(rate=0.0)
        rig.advance(6)
        assert rig.gets() == 1  # still paused, for every job
        rig.advance(1)
        assert rig.gets() == 4
        for record in records:
            assert rig.record(record.local_id).status == "completed"


def test_a_429_stretches_the_intervals_of_later_polls(sandbox, manual_clock, tmp_path):
    with make_rig(sandbox, manual_clock, tmp_path, max_in_flight=1) as rig:
        record = rig.submit(JobKind.TEXT_VIDEO)
        rig.sweep()
        manual_clock.advance(17)
        sandbox.set_faults(FaultConfig.only("429", retry_after=1, methods=frozenset({"GET"})))
        rig.sweep()
        sandbox.set_faults(rate=0.0)
        rig.advance(1)
        polled = rig.record(record.local_id)
        assert polled.status != "completed"
        normal_max = 15 * SANDBOX_SCALE * (1 + schedule.JITTER)
        assert polled.next_poll_at - polled.last_poll_at > normal_max


def test_a_429_without_retry_after_backs_off(sandbox, manual_clock, tmp_path):
    with make_rig(sandbox, manual_clock, tmp_path, max_in_flight=1) as rig:
        rig.submit(JobKind.IMAGE)
        manual_clock.advance(20)
        sandbox.set_faults(FaultConfig.only("429", retry_after=0, methods=frozenset({"GET"})))
        now = manual_clock.now()
        rig.sweep()
        first_pause = rig.tracker.health().paused_until
        assert first_pause is not None and first_pause > now
        manual_clock.set(first_pause)
        rig.sweep()
        second_pause = rig.tracker.health().paused_until
        assert second_pause - first_pause > first_pause - now  # doubles while 429s continue


def test_wake_confirms_the_job_with_a_get_at_once(rig):
    record = rig.submit(JobKind.TEXT_VIDEO)
    rig.sweep()
    assert rig.gets() == 0
    assert rig.tracker.wake(record.job_id) is True
    assert rig.sweep() == [record.job_id]
    assert rig.gets() == 1


def test_wake_ignores_unknown_and_finished_jobs(rig):
    assert rig.tracker.wake(str(uuid.uuid4())) is False
    record = rig.submit(JobKind.IMAGE)
    rig.run_until_settled([record.local_id])
    gets = rig.gets()
    assert rig.tracker.wake(record.job_id) is False
    rig.sweep()
    assert rig.gets() == gets


def test_webhooks_are_trusted_after_a_confirmed_delivery_and_polls_become_a_safety_net(rig):
    first = rig.submit(JobKind.TEXT_VIDEO, callback=CALLBACK)
    rig.sweep()
    rig.sandbox.advance(31)  # finished; its delivery is what wakes the tracker
    rig.tracker.wake(first.job_id)
    rig.sweep()
    assert rig.record(first.local_id).status == "completed"
    assert rig.tracker.health().webhooks_trusted

    second = rig.submit(JobKind.TEXT_VIDEO, callback=CALLBACK)
    rig.sweep()
    wait = rig.record(second.local_id).next_poll_at - second.created_at
    assert wait > 300 * SANDBOX_SCALE  # past the slow end of the expected range
    without_callback = rig.submit(JobKind.TEXT_VIDEO)
    rig.sweep()
    wait = rig.record(without_callback.local_id).next_poll_at - without_callback.created_at
    assert wait < 180 * SANDBOX_SCALE


def test_a_missed_delivery_withdraws_trust_and_restores_the_normal_schedule(rig):
    first = rig.submit(JobKind.IMAGE, callback=CALLBACK)
    rig.sandbox.advance(10)
    rig.tracker.wake(first.job_id)
    rig.sweep()
    assert rig.tracker.health().webhooks_trusted

    missed = rig.submit(JobKind.TEXT_VIDEO, callback=CALLBACK)
    rig.sweep()
    safety_at = rig.record(missed.local_id).next_poll_at
    rig.clock.set(safety_at - 1)
    waiting = rig.submit(JobKind.TEXT_VIDEO, callback=CALLBACK)
    rig.sweep()
    assert rig.record(waiting.local_id).next_poll_at - waiting.created_at > 300 * SANDBOX_SCALE
    rig.clock.set(safety_at)  # no delivery came: the safety net finds the job long finished
    rig.sweep()
    assert rig.record(missed.local_id).status == "completed"
    assert not rig.tracker.health().webhooks_trusted
    rig.sweep()
    rescheduled = rig.record(waiting.local_id).next_poll_at
    assert rescheduled - waiting.created_at < 180 * SANDBOX_SCALE


def test_a_job_far_past_its_expected_time_is_flagged_stuck_and_still_polled(sandbox, manual_clock, tmp_path):
    # This tracker expects jobs ten times shorter than the sandbox makes them: every job overruns.
    with make_rig(sandbox, manual_clock, tmp_path, duration_scale=SANDBOX_SCALE / 10) as rig:
        record = rig.submit(JobKind.TEXT_VIDEO)
        for _ in range(10):
            rig.advance(1.0)
        stuck = rig.record(record.local_id)
        assert stuck.stuck is True
        assert stuck.status in ("staged", "processing")
        assert stuck.next_poll_at - stuck.last_poll_at >= schedule.MAX_INTERVAL * SANDBOX_SCALE / 10
        rig.run_until_settled([record.local_id], step=2.0)
        done = rig.record(record.local_id)
        assert done.status == "completed"
        assert done.stuck is False


def test_a_record_without_a_client_is_left_alone_with_a_note(rig):
    record = rig.submit(JobKind.IMAGE)
    rig.reachable["ok"] = False
    rig.advance(60)
    assert rig.gets() == 0
    assert rig.record(record.local_id).note == NOT_POLLED_NOTE
    assert rig.tracker.wake(record.job_id) is False
    rig.reachable["ok"] = True
    rig.sweep()
    resumed = rig.record(record.local_id)
    assert resumed.status == "completed"
    assert resumed.note is None


def test_health_reports_sweeps_active_jobs_and_the_last_error_without_the_key(rig):
    assert rig.tracker.health().last_sweep_at is None
    record = rig.submit(JobKind.IMAGE)
    rig.sandbox.set_faults(FaultConfig.only("500", methods=frozenset({"GET"})))
    rig.clock.advance(20)
    rig.sweep()
    health = rig.tracker.health()
    assert health.last_sweep_at == rig.clock.now()
    assert health.active_jobs == 1
    assert health.in_flight == 0
    assert health.last_error and record.job_id in health.last_error
    assert KEY not in str(health.as_dict())
    rig.sandbox.set_faults(rate=0.0)
    rig.clock.set(rig.record(record.local_id).next_poll_at)
    rig.sweep()
    assert rig.tracker.health().last_error is None


def test_the_thread_polls_due_jobs_and_stops_cleanly(rig):
    record = rig.submit(JobKind.IMAGE)
    rig.clock.advance(20)
    rig.tracker.start()
    rig.tracker.start()  # a second start does not add a second thread
    try:
        deadline = 200
        while rig.record(record.local_id).status != "completed" and deadline:
            time.sleep(0.02)
            deadline -= 1
        assert rig.record(record.local_id).status == "completed"
        assert rig.tracker.health().running
    finally:
        rig.tracker.stop()
    assert not rig.tracker.health().running
    assert rig.gets() == 1


def test_one_tracker_per_store_file_is_enough_for_any_number_of_jobs(sandbox, manual_clock, tmp_path):
    store = JobStore(tmp_path / "other.json", clock=manual_clock.now)
    tracker = Tracker(store, lambda record: None, clock=manual_clock.now)
    assert tracker.sweep_once() == []
    assert tracker.health().active_jobs == 0
    tracker.stop()
    store.close()
