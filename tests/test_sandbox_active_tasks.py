"""The sandbox's ``GET /api/account/active_tasks``, its off switch, and input that is not valid Unicode."""

from __future__ import annotations

import re
import uuid

import requests

from legnext_core.sandbox import SandboxServer

KEY = "test-key-active"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _headers(key: str = KEY) -> dict[str, str]:
    return {"x-api-key": key}


def _submit(sandbox: SandboxServer, prompt: str, key: str = KEY, callback: str | None = None) -> str:
    body = {"prompt": prompt, **({"callback": callback} if callback else {})}
    response = requests.post(
        f"{sandbox.base_url}/v1/video-diffusion", json=body, headers=_headers(key), timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()["job_id"]


def _active(sandbox: SandboxServer, key: str = KEY) -> requests.Response:
    return requests.get(f"{sandbox.base_url}/account/active_tasks", headers=_headers(key), timeout=10)


def test_active_tasks_lists_unfinished_jobs_of_the_account_with_rising_progress(
    sandbox: SandboxServer,
) -> None:
    first = _submit(sandbox, "a river at dawn")
    second = _submit(sandbox, "a fox in snow")
    _submit(sandbox, "someone else's job", key="another-key")

    body = _active(sandbox).json()
    assert set(body) == {"account_id", "total_active", "concurrent_limit", "tasks", "updated_at"}
    uuid.UUID(body["account_id"])
    assert RFC3339.match(body["updated_at"])
    assert body["total_active"] == 2 and body["concurrent_limit"] == 6
    assert [task["job_id"] for task in body["tasks"]] == [first, second]
    task = body["tasks"][0]
    assert set(task) == {"job_id", "task_type", "status", "created_at", "progress", "estimated_time"}
    assert task["task_type"] == "video_diffusion" and task["status"] == "pending" and task["progress"] == 0
    assert task["estimated_time"] > 0

    progress = []
    for _ in range(3):
        sandbox.advance(6)
        tasks = {t["job_id"]: t for t in _active(sandbox).json()["tasks"]}
        if first in tasks:
            progress.append((tasks[first]["status"], tasks[first]["progress"]))
    assert progress[-1][0] == "processing"
    assert progress[-1][1] > progress[0][1]

    sandbox.advance(60)
    assert _active(sandbox).json() | {"updated_at": None, "account_id": None} == {
        "account_id": None,
        "total_active": 0,
        "concurrent_limit": 6,
        "tasks": [],
        "updated_at": None,
    }


def test_job_object_names_its_callback(sandbox: SandboxServer) -> None:
    callback = "http://127.0.0.1:9/webhooks/legnext/" + "ab" * 16
    job_id = _submit(sandbox, "a lighthouse", callback=callback)
    job = requests.get(f"{sandbox.base_url}/v1/job/{job_id}", headers=_headers(), timeout=10).json()
    assert job["config"]["webhook_config"]["endpoint"] == callback


def test_switched_off_active_tasks_answers_404_like_a_server_without_it(sandbox: SandboxServer) -> None:
    control = f"{sandbox.root_url}/_sandbox/active_tasks"
    assert requests.post(control, json={"enabled": False}, timeout=10).json() == {"enabled": False}
    response = _active(sandbox)
    assert response.status_code == 404
    assert response.json()["message"] == "Not Found"
    assert requests.post(control, json={"enabled": "no"}, timeout=10).status_code == 400
    requests.post(control, json={"enabled": True}, timeout=10)
    assert _active(sandbox).status_code == 200


def test_lone_surrogates_are_refused_and_inspection_still_works(sandbox: SandboxServer) -> None:
    for raw in (
        b'{"prompt": "a \\ud800 cat"}',
        b'{"prompt": "cat", "callback": "http://127.0.0.1/\\udfff"}',
        b'{"prompt": "cat", "\\udc80": 1}',
        b'{"prompt": "a \xff cat"}',
    ):
        response = requests.post(
            f"{sandbox.base_url}/v1/video-diffusion",
            data=raw,
            headers={**_headers(), "Content-Type": "application/json"},
            timeout=10,
        )
        assert response.status_code == 400, raw
        assert response.json()["message"] == "Invalid request parameters"
    assert sandbox.jobs() == []
    assert requests.get(f"{sandbox.root_url}/_sandbox/jobs", timeout=10).status_code == 200
    faults = requests.post(
        f"{sandbox.root_url}/_sandbox/faults",
        data=b'{"rate": "\\ud800"}',
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert faults.status_code == 400
    assert requests.get(f"{sandbox.root_url}/_sandbox/faults", timeout=10).status_code == 200
