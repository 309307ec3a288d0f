"""API requests do not grow with the number of open browser sessions.

Each "session" does what a page does while it auto-refreshes: it reads the job log (recent jobs, active
jobs, one record) and the tracker's health, over and over, from its own thread. The tracker is the one
poller, so the sandbox sees the same GETs with one session as with ten.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from legnext_core.models import JobKind
from legnext_core.sandbox import ManualClock, RealClock
from tests.test_tracker_rig import Rig, make_rig

JOBS = 8
START = float(int(time.time()))


class Sessions:
    """``count`` threads reading the log the way the pages do, until stopped."""

    def __init__(self, rig: Rig, count: int) -> None:
        self.reads = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._read, args=(rig,), daemon=True) for _ in range(count)]

    def _read(self, rig: Rig) -> None:
        while not self._stop.is_set():
            records = rig.store.recent(200)
            rig.store.active()
            if records:
                rig.store.get(records[0].local_id)
            rig.tracker.health()
            with self._lock:
                self.reads += 1
            time.sleep(0.001)

    def __enter__(self) -> Sessions:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)


def submit_batch(rig: Rig) -> list[str]:
    kinds = (JobKind.TEXT_VIDEO, JobKind.IMAGE)
    return [rig.submit(kinds[i % len(kinds)]).local_id for i in range(JOBS)]


def gets_with_sessions(
    start_sandbox: Callable, tmp_path, sessions: int, drive: Callable[[Rig, list[str]], None], **sandbox_kw
) -> tuple[int, int, int]:
    clock = sandbox_kw.pop("clock", None) or ManualClock(start=START)
    sandbox = start_sandbox(clock=clock, max_unfinished=50, seed=77, **sandbox_kw)
    # One request slot: polls then draw their jitter in the same order on every run.
    with make_rig(
        sandbox, clock, tmp_path / f"s{sessions}", seed=11, max_in_flight=1, **_rig_kw(sandbox_kw)
    ) as rig:
        ids = submit_batch(rig)
        with Sessions(rig, sessions) as readers:
            drive(rig, ids)
        polls = sum((rig.record(i).poll_count or 0) for i in ids)
        assert all(rig.record(i).status == "completed" for i in ids)
        return rig.gets(), polls, readers.reads


def _rig_kw(sandbox_kw: dict) -> dict:
    scale = sandbox_kw.get("time_scale")
    return {} if scale is None else {"duration_scale": 0.1 / scale}


def sweep_on_manual_clock(rig: Rig, ids: list[str]) -> None:
    rig.run_until_settled(ids, step=0.5)


@pytest.mark.slow
def test_gets_are_the_same_with_one_session_and_with_ten(start_sandbox, tmp_path):
    one, polls_one, reads_one = gets_with_sessions(start_sandbox, tmp_path, 1, sweep_on_manual_clock)
    ten, polls_ten, reads_ten = gets_with_sessions(start_sandbox, tmp_path, 10, sweep_on_manual_clock)
    assert one == ten
    # Every GET the sandbox saw is a tracker poll; none came from the readers.
    assert one == polls_one and ten == polls_ten
    assert reads_ten > reads_one > 0
    assert one <= 8 * JOBS  # a handful per job, not one per session per refresh


@pytest.mark.slow
def test_the_running_tracker_thread_is_the_only_poller_whatever_the_sessions(start_sandbox, tmp_path):
    """Real time: a sandbox at time scale 20 and the tracker's own thread, as in the dashboard."""

    def run_thread(rig: Rig, ids: list[str]) -> None:
        rig.tracker.start()
        deadline = time.monotonic() + 30
        while any(rig.record(i).status != "completed" for i in ids):
            assert time.monotonic() < deadline, "jobs did not finish"
            time.sleep(0.05)
        rig.tracker.stop()

    one, polls_one, _ = gets_with_sessions(
        start_sandbox, tmp_path, 1, run_thread, clock=RealClock(), time_scale=20
    )
    ten, polls_ten, reads_ten = gets_with_sessions(
        start_sandbox, tmp_path, 10, run_thread, clock=RealClock(), time_scale=20
    )
    assert one == polls_one and ten == polls_ten
    assert reads_ten > 100
    # Real timing moves polls by a few milliseconds, never by a factor of the session count.
    assert ten <= one * 1.5 + 3
