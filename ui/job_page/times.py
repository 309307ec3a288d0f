"""Times on the job page: a moment in the viewer's zone and how long ago."""

from __future__ import annotations

import time
from datetime import datetime, tzinfo

from ui.format import relative_time


def when(epoch: float | None, zone: tzinfo) -> str:
    if not epoch:
        return "—"
    stamp = datetime.fromtimestamp(epoch, zone).strftime("%Y-%m-%d %H:%M:%S")
    return f"{stamp} ({relative_time(epoch, time.time())})"
