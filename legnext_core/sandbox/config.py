"""The sandbox's settings, one dataclass per instance."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .callbacks import DEFAULT_RETRY_DELAYS
from .clock import Clock, RealClock
from .faults import FaultConfig


@dataclass
class SandboxConfig:
    """How one sandbox behaves. Secrets and keys never appear in ``repr``."""

    #: Where jobs are kept across restarts; None keeps them in memory only.
    state_path: Path | None = None
    #: 1.0 is demo speed (a video in 18-30 s); 10 is ten times faster.
    time_scale: float = 1.0
    clock: Clock = field(default_factory=RealClock)
    #: The share of jobs that end as failed (0-1).
    failure_rate: float = 0.0
    #: Keys that are accepted; None accepts any non-empty key.
    accepted_keys: frozenset[str] | None = field(default=None, repr=False)
    #: Keys whose account lacks video permission: video endpoints answer them 403 (job-shaped body).
    video_denied_keys: frozenset[str] = field(default=frozenset(), repr=False)
    #: Points each account (each key) starts with.
    initial_points: int = 50_000
    #: Unfinished jobs one key may have before the next submission gets 429.
    max_unfinished: int = 6
    #: Signs callbacks when set.
    webhook_secret: str | None = field(default=None, repr=False)
    faults: FaultConfig = field(default_factory=FaultConfig)
    #: Seeds durations, failures and fault draws, for reproducible runs.
    seed: int | None = None
    #: Seconds between the retries of a callback that was not delivered.
    callback_retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS
    callback_timeout: float = 5.0
    #: Deliver callbacks to non-loopback hosts too (off: a sandbox's callbacks stay on this machine).
    allow_remote_callbacks: bool = False
    #: Fetch start and end images from non-loopback hosts too (off: images elsewhere are not fetched).
    allow_remote_fetches: bool = False
    #: Seconds one image fetch may take in all.
    image_fetch_timeout: float = 10.0
    #: Answer the API only to direct loopback clients (the dashboard's own client when it is embedded):
    #: a sandbox inside a dashboard that listens on the network shows no job to other machines.
    api_loopback_only: bool = False
    #: Real seconds between background checks for jobs that just finished (their callbacks fire then).
    tick_interval: float = 0.25
    #: Serve ``GET /api/account/active_tasks`` (off: it answers 404, as a server without it would).
    active_tasks: bool = True

    def __post_init__(self) -> None:
        if self.state_path is not None:
            self.state_path = Path(self.state_path)
        if self.time_scale <= 0:
            raise ValueError("time_scale must be positive")
        if not 0.0 <= self.failure_rate <= 1.0:
            raise ValueError("failure_rate must be between 0 and 1")
        if self.accepted_keys is not None:
            self.accepted_keys = frozenset(self.accepted_keys)
        self.video_denied_keys = frozenset(self.video_denied_keys)
