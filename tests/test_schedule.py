"""The polling schedule: first poll near the earliest likely finish, then inside Legnext's 10-30 s advice."""

from __future__ import annotations

import random

import pytest

from legnext_core import schedule
from legnext_core.schedule import Phase, next_poll_delay


def delays(kind, poll_count, elapsed, n=200, **kwargs):
    rng = random.Random(7)
    return [next_poll_delay(kind, poll_count, elapsed, rng=rng, **kwargs) for _ in range(n)]


@pytest.mark.parametrize(
    ("kind", "earliest"),
    [("text_video", 180), ("extend", 180), ("upscale", 240), ("image", 30)],
)
def test_first_poll_waits_until_just_before_the_earliest_likely_finish(kind, earliest):
    first = delays(kind, 0, 0.0)
    assert min(first) >= 0.8 * earliest
    assert max(first) <= earliest


def test_first_poll_of_an_overdue_job_is_due_at_once():
    # A job resumed after a restart, already older than its first-poll age.
    assert set(delays("text_video", 0, 400.0)) == {0.0}


@pytest.mark.parametrize("kind", list(schedule.EXPECTED_DURATIONS))
def test_polls_inside_the_expected_range_follow_legnexts_advice(kind):
    expected = schedule.expected_duration(kind)
    middle = (expected.low + expected.high) / 2
    later = delays(kind, 3, middle)
    assert min(later) >= schedule.MIN_INTERVAL * (1 - schedule.JITTER)
    assert max(later) <= 20.0


def test_interval_grows_when_the_job_runs_late_but_stays_within_advice():
    in_range = delays("text_video", 5, 250.0)
    late = delays("text_video", 5, 500.0)
    assert sum(late) / len(late) > sum(in_range) / len(in_range)
    assert max(late) <= schedule.MAX_INTERVAL * (1 + schedule.JITTER)


def test_a_stuck_job_keeps_being_polled_slowly():
    stuck = delays("text_video", 30, 3 * 300.0 + 1)
    assert schedule.phase("text_video", 901.0) is Phase.STUCK
    assert min(stuck) >= schedule.MAX_INTERVAL
    assert max(stuck) < 120.0


def test_every_delay_scales_with_the_duration_scale():
    live = delays("upscale", 4, 300.0)
    sandbox = delays("upscale", 4, 300.0 * 0.005, duration_scale=0.005)
    assert sandbox == pytest.approx([d * 0.005 for d in live])


def test_trusted_webhooks_push_the_first_poll_past_the_slow_end():
    first = delays("text_video", 0, 0.0, webhooks_trusted=True)
    assert min(first) > 300.0


def test_trusted_webhooks_space_the_safety_net_polls_twice_as_far():
    plain = delays("text_video", 10, 400.0)
    safety = delays("text_video", 10, 400.0, webhooks_trusted=True)
    assert sum(safety) / len(safety) == pytest.approx(2 * sum(plain) / len(plain), rel=0.02)


def test_slowdown_after_a_rate_limit_stretches_the_interval():
    normal = delays("image", 2, 60.0)
    slowed = delays("image", 2, 60.0, slowdown=4.0)
    assert slowed == pytest.approx([d * 4 for d in normal])


def test_jitter_spreads_a_batch_submitted_together():
    first = delays("text_video", 0, 0.0, n=10)
    assert len({round(d, 3) for d in first}) == 10


def test_an_unknown_kind_is_scheduled_like_the_slowest_video():
    first = delays("some_future_kind", 0, 0.0)
    assert min(first) >= 0.8 * 180
