"""Clocks for the sandbox: real time for demos, a hand-driven clock for tests.

A job's status is a function of the clock (see ``state.py``), so a test moves jobs through their
lifecycle by advancing a :class:`ManualClock` instead of sleeping. Advancing also calls the clock's
listeners synchronously, which is how a sandbox on a manual clock finishes due jobs and queues their
callbacks at the moment of the advance, deterministically.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (UTC)."""
        ...


class RealClock:
    """Wall-clock time."""

    def now(self) -> float:
        return time.time()

    def __repr__(self) -> str:
        return "RealClock()"


class ManualClock:
    """A clock that moves only when told to.

    Starts at the current wall time (rounded down to a whole second) unless ``start`` is given, so
    timestamps it produces look current to a webhook receiver's replay window.
    """

    def __init__(self, start: float | None = None) -> None:
        self._now = float(int(time.time()) if start is None else start)
        self._lock = threading.Lock()
        self._listeners: list[weakref.WeakMethod | Callable[[], object]] = []

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` (>= 0), then run the listeners. Returns the new time."""
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        with self._lock:
            self._now += seconds
            now = self._now
        self._notify()
        return now

    def set(self, when: float) -> float:
        """Jump to ``when`` (not earlier than now), then run the listeners."""
        with self._lock:
            if when < self._now:
                raise ValueError("a clock cannot go backwards")
            self._now = float(when)
            now = self._now
        self._notify()
        return now

    def subscribe(self, listener: Callable[[], object]) -> None:
        """Call ``listener()`` after every move. Bound methods are held weakly."""
        ref = weakref.WeakMethod(listener) if hasattr(listener, "__self__") else listener
        with self._lock:
            self._listeners.append(ref)

    def unsubscribe(self, listener: Callable[[], object]) -> None:
        with self._lock:
            self._listeners = [ref for ref in self._listeners if _resolve(ref) not in (None, listener)]

    def _notify(self) -> None:
        with self._lock:
            listeners = [_resolve(ref) for ref in self._listeners]
        for listener in listeners:
            if listener is not None:
                listener()

    def __repr__(self) -> str:
        return f"ManualClock(now={self._now!r})"


def _resolve(ref: weakref.WeakMethod | Callable[[], object]) -> Callable[[], object] | None:
    return ref() if isinstance(ref, weakref.WeakMethod) else ref
