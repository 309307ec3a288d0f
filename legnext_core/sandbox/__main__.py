"""Run the sandbox standalone: ``python -m legnext_core.sandbox --port 8765``.

Binds loopback unless ``--host`` says otherwise. Callbacks are signed when the environment has
``LEGNEXT_WEBHOOK_SECRET`` (never passed on the command line, where other users could read it).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import uvicorn

from .app import create_app
from .config import SandboxConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m legnext_core.sandbox", description="A local Legnext API."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--time-scale", type=float, default=1.0, help="10 = ten times faster than the demo")
    parser.add_argument("--failure-rate", type=float, default=0.0, help="share of jobs that fail (0-1)")
    parser.add_argument("--state", type=Path, default=None, help="state file, so jobs survive a restart")
    parser.add_argument("--initial-points", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        config = SandboxConfig(
            state_path=args.state,
            time_scale=args.time_scale,
            failure_rate=args.failure_rate,
            initial_points=args.initial_points,
            webhook_secret=os.environ.get("LEGNEXT_WEBHOOK_SECRET") or None,
            seed=args.seed,
        )
    except ValueError as exc:
        parser.error(str(exc))
    app = create_app(config)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(
        f"Legnext sandbox: base URL http://{host}:{args.port}/api (send any non-empty x-api-key)", flush=True
    )
    if app.state.sandbox.recovered_from:
        print(
            f"The state file was unreadable; it was moved to {app.state.sandbox.recovered_from}", flush=True
        )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
