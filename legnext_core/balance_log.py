"""The account balance over time: the sidebar's readings, kept as JSON lines in the data folder.

The sidebar reads the balance at most every 30 s per server; keeping each reading would grow the file
by thousands of lines a day, so a reading is kept when the balance changed or when the last kept one is
older than :data:`KEEP_EVERY_SECONDS`. Appends are single ``write`` calls of one short line, which
POSIX keeps whole even with several processes appending.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

KEEP_EVERY_SECONDS = 3600.0


@dataclass(frozen=True)
class BalanceSample:
    at: float
    points: int
    usd: float


class BalanceLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._last: BalanceSample | None = None

    def record(self, at: float, points: int, usd: float) -> bool:
        """Keep a reading if it says something new; True when it was written."""
        with self._lock:
            last = self._last or self._read_last()
            if last is not None and last.points == points and at - last.at < KEEP_EVERY_SECONDS:
                return False
            line = json.dumps({"at": round(at, 3), "points": int(points), "usd": float(usd)}) + "\n"
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)
            self._last = BalanceSample(at, int(points), float(usd))
            return True

    def samples(self, since: float | None = None) -> list[BalanceSample]:
        """The kept readings, oldest first (a torn or foreign line is skipped)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError:
            return []
        out = []
        for line in text.splitlines():
            try:
                data = json.loads(line)
                sample = BalanceSample(float(data["at"]), int(data["points"]), float(data["usd"]))
            except (ValueError, KeyError, TypeError):
                continue
            if since is None or sample.at >= since:
                out.append(sample)
        return out

    def _read_last(self) -> BalanceSample | None:
        samples = self.samples()
        return samples[-1] if samples else None
