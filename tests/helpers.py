"""Small helpers several test modules share: waiting for a condition, a clock that ticks per call."""

from __future__ import annotations

import time
from collections.abc import Callable


def eventually(condition: Callable[[], bool], timeout: float = 10.0, *, interval: float = 0.05) -> bool:
    """Whether ``condition()`` holds within ``timeout`` seconds (asked every ``interval``, then once more)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


class TickingClock:
    """A clock for a ``JobStore`` that moves one second forward each time it is read, so every write
    gets a time of its own and "newest first" is the order of writing."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 1
        return self.now
