"""The sandbox fetches a job's start and end images over HTTP, and fails the job when it cannot use one."""

from __future__ import annotations

import hashlib

import requests

from legnext_core.sandbox import SandboxServer
from legnext_core.sandbox.fetch import FETCH_FAILURE
from tests.test_sandbox_api import completed, get_job, post


def image_url(sandbox: SandboxServer) -> str:
    """A picture served over loopback (the first image of a finished sandbox image job)."""
    return completed(sandbox, "/v1/diffusion", {"text": "a cat"})["output"]["image_urls"][0]


def images_of(sandbox: SandboxServer, job_id: str) -> list[dict]:
    (job,) = [job for job in sandbox.jobs() if job["job_id"] == job_id]
    return job["images"]


def test_a_start_image_is_fetched_and_the_job_goes_on(sandbox: SandboxServer) -> None:
    url = image_url(sandbox)
    job_id = post(sandbox, "/v1/video-diffusion", {"prompt": f"{url} the cat walks"}).json()["job_id"]
    assert sandbox.settle()
    (start,) = images_of(sandbox, job_id)
    picture = requests.get(url, timeout=10).content
    assert start["role"] == "start" and start["url"] == url
    assert start["fetched"] and start["ok"]
    assert start["content_type"] == "image/png"
    assert start["sha256"] == hashlib.sha256(picture).hexdigest() and start["size"] == len(picture)
    sandbox.advance(60)
    assert get_job(sandbox, job_id).json()["status"] == "completed"


def test_an_image_that_is_missing_fails_the_job_at_once_with_the_reason(sandbox: SandboxServer) -> None:
    missing = f"{sandbox.root_url}/media/image/nothing/0.png"
    job_id = post(sandbox, "/v1/video-diffusion", {"prompt": f"{missing} the cat walks"}).json()["job_id"]
    assert sandbox.settle()
    job = get_job(sandbox, job_id).json()  # no time has passed: it fails without waiting its turn
    assert job["status"] == "failed"
    assert (job["error"]["code"], job["error"]["message"]) == FETCH_FAILURE
    assert job["error"]["raw_message"] == f"start image {missing}: HTTP 404"
    assert job["meta"]["usage"]["consume"] == 0


def test_a_file_that_is_not_an_image_fails_the_job(sandbox: SandboxServer) -> None:
    video = completed(sandbox, "/v1/video-diffusion", {"prompt": "a river"})["output"]["video_urls"][0]
    job_id = post(sandbox, "/v1/video-diffusion", {"prompt": f"{video} flowing"}).json()["job_id"]
    assert sandbox.settle()
    job = get_job(sandbox, job_id).json()
    assert job["status"] == "failed"
    assert "not an image (video/mp4)" in job["error"]["raw_message"]


def test_an_end_frame_is_fetched_too(sandbox: SandboxServer) -> None:
    url = image_url(sandbox)
    missing = f"{sandbox.root_url}/media/image/nothing/1.png"
    good = post(sandbox, "/v1/video-diffusion", {"prompt": f"a river --end {url}"}).json()["job_id"]
    bad = post(sandbox, "/v1/video-diffusion", {"prompt": f"a river --end {missing}"}).json()["job_id"]
    assert sandbox.settle()
    assert [(i["role"], i["ok"]) for i in images_of(sandbox, good)] == [("end", True)]
    assert get_job(sandbox, bad).json()["error"]["raw_message"] == f"end image {missing}: HTTP 404"


def test_an_image_beyond_this_machine_is_not_fetched_and_the_job_goes_on(sandbox: SandboxServer) -> None:
    answer = post(sandbox, "/v1/video-diffusion", {"prompt": "https://example.com/cat.png a cat"})
    job_id = answer.json()["job_id"]
    assert sandbox.settle()
    assert images_of(sandbox, job_id) == []
    sandbox.advance(60)
    assert get_job(sandbox, job_id).json()["status"] == "completed"


def test_a_fetch_interrupted_by_a_restart_is_done_on_the_next_start(start_sandbox) -> None:
    first = start_sandbox()
    url = image_url(first)
    job_id = post(first, "/v1/video-diffusion", {"prompt": f"{url} the cat walks"}).json()["job_id"]
    assert first.settle()
    first.stop()
    # The state file of a sandbox that stopped before fetching: the job still waits for its image.
    state = first.state
    state._jobs[job_id]["inputs_pending"] = True
    state._save()
    second = start_sandbox()
    assert second.settle()
    assert [image["ok"] for image in images_of(second, job_id)] == [False]  # the first server is gone
    assert get_job(second, job_id).json()["error"]["raw_message"].startswith(f"start image {url}: no answer")
