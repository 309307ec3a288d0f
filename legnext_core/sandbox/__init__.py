"""A local Legnext: the video API's wire format, served for the dashboard's demo mode and for tests.

It is the other side of the wire, so it imports nothing from the rest of ``legnext_core``: a shared
model would hide a mismatch between what the client expects and what Legnext sends.

    from legnext_core.sandbox import ManualClock, SandboxConfig, SandboxServer, create_app

- ``create_app(config)`` returns the Starlette app (mountable, e.g. at ``/sandbox``);
- ``SandboxServer(config).start()`` serves it on a free loopback port (``.base_url`` ends in ``/api``);
- ``python -m legnext_core.sandbox --port 8765`` runs it standalone.
"""

from .app import create_app
from .callbacks import sign
from .clock import ManualClock, RealClock
from .config import SandboxConfig
from .faults import FAULT_KINDS, FaultConfig
from .server import SandboxServer
from .state import SandboxState
from .validate import BLOCKED_WORDS

__all__ = [
    "BLOCKED_WORDS",
    "FAULT_KINDS",
    "FaultConfig",
    "ManualClock",
    "RealClock",
    "SandboxConfig",
    "SandboxServer",
    "SandboxState",
    "create_app",
    "sign",
]
