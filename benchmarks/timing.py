"""Timing one action and summing samples up the same way in every benchmark."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from typing import Any


def time_once(action: Callable[[], Any]) -> float:
    """Seconds ``action`` took (wall time)."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50 and p95 (nearest rank) in milliseconds of samples in seconds, and how many there were."""
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[min(len(ordered) - 1, math.ceil(len(ordered) * 0.95) - 1)] * 1000, 3),
        "samples": len(ordered),
    }
