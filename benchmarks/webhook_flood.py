"""API requests caused by forged webhook deliveries, over real HTTP; prints JSON lines.

A real Studio (job log, client, tracker thread) behind the dashboard's real webhook routes, a sandbox
with one running job: then ``--deliveries`` deliveries from someone who does not know any submission's
callback token (random tokens, malformed ones, the old token-less route) and, separately, the same
number to one known token (a leaked callback URL, no webhook secret). The sandbox counts the GETs
they cause.

    python -m benchmarks.webhook_flood --deliveries 2000
"""

from __future__ import annotations

import argparse
import json
import logging
import secrets
import sys
import tempfile
import time
from typing import Any

import requests

from legnext_core.models import JobKind, JobRequest
from legnext_core.sandbox import SandboxConfig, SandboxServer
from legnext_core.settings import load_settings
from legnext_core.studio import Studio
from legnext_core.submit import submit_job
from tests.loopback_server import RouteServer

JOB_GETS = "/api/v1/job/"


def _deliver(
    session: requests.Session, sandbox: SandboxServer, urls: list[str], body: bytes
) -> dict[str, Any]:
    """POST ``body`` to each of ``urls``: time taken, answers by status, and the API GETs it caused."""
    before = sandbox.request_count("GET", JOB_GETS)
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    for url in urls:
        status = session.post(
            url, data=body, headers={"Content-Type": "application/json"}, timeout=10
        ).status_code
        statuses[status] = statuses.get(status, 0) + 1
    seconds = time.perf_counter() - started
    time.sleep(0.5)  # a GET a delivery caused may still be on its way
    return {
        "seconds": round(seconds, 2),
        "answers": statuses,
        "api_requests_caused": sandbox.request_count("GET", JOB_GETS) - before,
    }


def run(deliveries: int = 2000) -> list[dict[str, Any]]:
    holder: dict[str, Any] = {}
    routes = RouteServer(lambda: holder.get("studio"))
    url = routes.url
    lines = []
    with tempfile.TemporaryDirectory() as scratch:
        # Live durations (a video runs 3-5 min), so no scheduled poll falls inside the floods.
        sandbox = SandboxServer(SandboxConfig(seed=7, time_scale=0.1)).start()
        env = {
            "LEGNEXT_SANDBOX_URL": sandbox.base_url,
            "LEGNEXT_DATA_DIR": scratch,
            "LEGNEXT_PUBLIC_URL": url,
            "LEGNEXT_SANDBOX_TIME_SCALE": "0.1",
        }
        studio = Studio(load_settings(env, {}))
        studio.start()
        holder["studio"] = studio
        try:
            result = submit_job(studio, JobRequest(kind=JobKind.TEXT_VIDEO, prompt="a lighthouse at dusk"))
            record = studio.store.get(result.local_id)
            job = {"job_id": record.job_id, "task_type": "video_diffusion", "status": "completed"}
            body = json.dumps({"timestamp": int(time.time()), "data": job}).encode()
            session = requests.Session()

            forged = []
            for n in range(deliveries):
                if n % 4 == 3:
                    forged.append(f"{url}/webhooks/legnext")  # the old route, unsigned
                elif n % 4 == 2:
                    forged.append(f"{url}/webhooks/legnext/{secrets.token_hex(8)}")  # malformed token
                else:
                    forged.append(f"{url}/webhooks/legnext/{secrets.token_hex(16)}")

            forged_line = {"benchmark": "webhook_flood_forged", "deliveries": deliveries}
            lines.append(forged_line | _deliver(session, sandbox, forged, body) | {"target_api_requests": 0})
            known = [f"{url}/webhooks/legnext/{record.callback_token}"] * deliveries
            known_line = {"benchmark": "webhook_flood_leaked_token_no_secret", "deliveries": deliveries}
            lines.append(
                known_line
                | _deliver(session, sandbox, known, body)
                | {
                    "hint_interval_s": round(studio.tracker._hint_interval(), 2),
                    "note": "at most one confirming GET per job per hint interval",
                }
            )
            session.close()
        finally:
            holder.pop("studio", None)
            studio.stop()
            sandbox.stop()
            routes.stop()
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    for line in run(args.deliveries):
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
