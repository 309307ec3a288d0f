"""A real Legnext client, unmodified, works against the sandbox.

The official SDK cannot be installed here, so this test speaks only the documented wire, exactly as
the docs and seed examples do: ``x-api-key`` header, camelCase JSON bodies, the documented paths under
``/api``, polling ``GET /v1/job/{job_id}`` until ``completed``. Time is real (sped up), not a manual clock,
so the sandbox's own ticker moves the jobs.
"""

from __future__ import annotations

import time

import requests

from legnext_core.sandbox import RealClock


def wait_for(session: requests.Session, base: str, job_id: str, timeout: float = 15) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = session.get(f"{base}/v1/job/{job_id}", timeout=10).json()
        if job["status"] in ("completed", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


def test_documented_workflow_create_poll_extend_upscale_balance(start_sandbox) -> None:
    sandbox = start_sandbox(clock=RealClock(), time_scale=60)
    base = sandbox.base_url
    session = requests.Session()
    session.headers["x-api-key"] = "sk-any-demo-key"

    created = session.post(
        f"{base}/v1/video-diffusion",
        json={"prompt": "a beautiful sunset over the ocean", "videoType": 1},
        timeout=10,
    )
    assert created.status_code == 200
    job_id = created.json()["job_id"]
    assert created.json()["status"] == "pending"
    video = wait_for(session, base, job_id)
    assert video["status"] == "completed" and len(video["output"]["video_urls"]) == 4

    extended = session.post(
        f"{base}/v1/extend-video",
        json={"jobId": job_id, "videoNo": 0, "prompt": "continue with dramatic clouds"},
        timeout=10,
    )
    assert extended.status_code == 200
    extension = wait_for(session, base, extended.json()["job_id"])
    assert extension["task_type"] == "extend_video" and extension["status"] == "completed"

    upscaled = session.post(
        f"{base}/v1/video-upscale", json={"jobId": extension["job_id"], "videoNo": 0}, timeout=10
    )
    assert upscaled.status_code == 200
    upscale = wait_for(session, base, upscaled.json()["job_id"])
    assert upscale["task_type"] == "video_upscale" and len(upscale["output"]["video_urls"]) == 1

    image = session.post(f"{base}/v1/diffusion", json={"text": "a lighthouse"}, timeout=10).json()
    wait_for(session, base, image["job_id"])
    animated = session.post(
        f"{base}/v1/video-diffusion",
        json={
            "jobId": image["job_id"],
            "imageNo": 0,
            "prompt": "flowing movement through the landscape",
            "videoType": 1,
        },
        timeout=10,
    )
    assert animated.status_code == 200
    assert wait_for(session, base, animated.json()["job_id"])["status"] == "completed"

    balance = session.get(f"{base}/account/balance", timeout=10).json()
    assert balance["code"] == 200 and balance["message"] == "success"
    assert balance["data"]["available_points"] == 50_000 - 1536 - 1536 - 480 - 80 - 1536
