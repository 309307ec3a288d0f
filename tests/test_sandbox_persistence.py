"""The sandbox's state file: a demo's jobs survive a restart; a bad file is moved aside."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from legnext_core.sandbox import ManualClock, SandboxConfig, SandboxServer

KEY = "test-key-sandbox"


def post(sandbox: SandboxServer, path: str, body: dict) -> dict:
    response = requests.post(sandbox.base_url + path, json=body, headers={"x-api-key": KEY}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def get_job(sandbox: SandboxServer, job_id: str) -> requests.Response:
    return requests.get(f"{sandbox.base_url}/v1/job/{job_id}", headers={"x-api-key": KEY}, timeout=10)


def test_jobs_points_and_lineage_survive_a_restart(start_sandbox, manual_clock: ManualClock) -> None:
    first = start_sandbox()
    video = post(first, "/v1/video-diffusion", {"prompt": "a river"})["job_id"]
    first.advance(60)
    running = post(first, "/v1/extend-video", {"jobId": video, "videoNo": 1})["job_id"]
    first.stop()

    second = start_sandbox()
    assert get_job(second, video).json()["status"] == "completed"
    assert get_job(second, running).json()["status"] == "pending"
    second.advance(60)
    assert get_job(second, running).json()["status"] == "completed"
    balance = requests.get(second.base_url + "/account/balance", headers={"x-api-key": KEY}, timeout=10)
    assert balance.json()["data"]["available_points"] == 50_000 - 2 * 480
    assert [job["job_id"] for job in second.jobs()] == [video, running]
    assert second.jobs()[1]["parent_job_id"] == video


def test_state_file_is_json_without_the_key_and_leaves_no_temp_files(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    post(sandbox, "/v1/diffusion", {"text": "a cat"})
    path = tmp_path / "sandbox-state.json"
    data = json.loads(path.read_text())
    assert data["version"] == 1 and len(data["jobs"]) == 1
    assert KEY not in path.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sandbox-state.json"]


def test_callback_of_a_job_that_finished_while_down_fires_after_restart(start_sandbox) -> None:
    first = start_sandbox()
    post(first, "/v1/diffusion", {"text": "a cat", "callback": "http://127.0.0.1:9/hook"})
    first.stop()
    second = start_sandbox()
    second.advance(10)
    assert second.settle()
    assert second.state.deliverer.attempts[0]["url"] == "http://127.0.0.1:9/hook"


def test_corrupt_state_file_is_moved_aside_and_the_sandbox_starts_fresh(
    sandbox_config_factory, tmp_path: Path
) -> None:
    path = tmp_path / "sandbox-state.json"
    path.write_text('{"version": 1, "jobs": [{"job_id": "x"')
    with SandboxServer(sandbox_config_factory()) as sandbox:
        assert sandbox.state.recovered_from is not None
        assert sandbox.state.recovered_from.read_text().startswith('{"version": 1')
        assert sandbox.jobs() == []
        post(sandbox, "/v1/diffusion", {"text": "a cat"})
    assert len(json.loads(path.read_text())["jobs"]) == 1


def test_state_file_of_the_wrong_shape_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"version": 1, "jobs": [{"job_id": "x", "kind": "image"}]}))
    sandbox = SandboxServer(SandboxConfig(state_path=path, clock=ManualClock()))
    try:
        assert sandbox.state.recovered_from is not None and not path.exists()
    finally:
        sandbox.stop()


def test_memory_only_sandbox_writes_no_file(tmp_path: Path, start_sandbox) -> None:
    sandbox = start_sandbox(state_path=None)
    post(sandbox, "/v1/diffusion", {"text": "a cat"})
    assert list(tmp_path.iterdir()) == []
