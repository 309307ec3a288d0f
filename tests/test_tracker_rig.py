"""What the tracker tests share (no tests here): a real store, a real client on the sandbox, a submitter.

``with make_rig(...) as rig:`` stops the tracker and closes the log (and its own client) at the end.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from legnext_core.client import LegnextClient
from legnext_core.media import MediaArchiver
from legnext_core.models import JobKind, JobRequest
from legnext_core.sandbox import ManualClock, SandboxServer
from legnext_core.store import JobStore
from legnext_core.tracker import Tracker

KEY = "test-key-tracker"
#: Sandbox jobs at time scale 1 are a tenth of Legnext's durations.
SANDBOX_SCALE = 0.1


@dataclass
class Rig:
    """One tracker wired to one sandbox through a real client and a real job log."""

    sandbox: SandboxServer
    clock: ManualClock
    store: JobStore
    client: LegnextClient
    tracker: Tracker
    media_dir: Path
    reachable: dict[str, bool] = field(default_factory=lambda: {"ok": True})
    owns_client: bool = True

    def close(self) -> None:
        """Stop the tracker and close the log (and the client, unless the test lent it)."""
        self.tracker.stop()
        self.store.close()
        if self.owns_client:
            self.client.close()

    def __enter__(self) -> Rig:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def submit(self, kind: JobKind = JobKind.TEXT_VIDEO, *, callback: str | None = None) -> dict[str, Any]:
        prompt = "a red fox in the snow"
        request = JobRequest(kind=kind, prompt=prompt, callback=callback)
        record = self.store.add_intent(
            request, api_mode="sandbox", api_base_url=self.sandbox.base_url, estimated_points=None
        )
        job = self.client.submit(request)
        return self.store.record_accepted(record.local_id, job)

    def gets(self) -> int:
        return self.sandbox.request_count("GET", "/api/v1/job/")

    def record(self, local_id: str) -> dict[str, Any]:
        record = self.store.get(local_id)
        assert record is not None
        return record

    def sweep(self) -> list[str]:
        return self.tracker.sweep_once(self.clock.now())

    def advance(self, seconds: float) -> list[str]:
        self.sandbox.advance(seconds)
        return self.sweep()

    def run_until_settled(self, local_ids: list[str], step: float = 0.25, limit: float = 120.0) -> None:
        """Advance the clock in small steps, sweeping each time, until every job is finished."""
        waited = 0.0
        while any(self.record(i).status in ("pending", "staged", "processing") for i in local_ids):
            assert waited < limit, "jobs did not finish"
            self.advance(step)
            waited += step


def make_rig(
    sandbox: SandboxServer,
    clock: ManualClock,
    tmp_path: Path,
    *,
    name: str = "jobs.json",
    duration_scale: float = SANDBOX_SCALE,
    max_in_flight: int = 3,
    allow_loopback: bool = True,
    seed: int = 5,
    client: LegnextClient | None = None,
    read_active_list: bool = False,
) -> Rig:
    store = JobStore(tmp_path / name, clock=clock.now)
    owns_client = client is None
    # The tracker handles 429 itself (a global pause); the client must not sleep on it first.
    client = client or LegnextClient(KEY, sandbox.base_url, timeout=5, max_retries=0)
    media_dir = tmp_path / "media"
    archiver = MediaArchiver(media_dir, ("*.legnext.ai",), allow_loopback=allow_loopback, timeout=10)
    reachable = {"ok": True}
    tracker = Tracker(
        store,
        lambda record: client if reachable["ok"] else None,
        duration_scale=duration_scale,
        archiver=archiver,
        clock=clock.now,
        max_in_flight=max_in_flight,
        webhooks_expected=True,
        rng=random.Random(seed),
        account_client=client if read_active_list else None,
    )
    return Rig(sandbox, clock, store, client, tracker, media_dir, reachable, owns_client)
