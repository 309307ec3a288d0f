"""The sample media: distinct files, right content types, Range requests (playback: tests/e2e)."""

from __future__ import annotations

import hashlib

import requests

from legnext_core.sandbox import SandboxServer

KEY = "test-key-sandbox"


def finished(sandbox: SandboxServer, path: str, body: dict) -> dict:
    response = requests.post(sandbox.base_url + path, json=body, headers={"x-api-key": KEY}, timeout=10)
    job_id = response.json()["job_id"]
    sandbox.advance(60)
    return requests.get(f"{sandbox.base_url}/v1/job/{job_id}", headers={"x-api-key": KEY}, timeout=10).json()


def test_video_variants_are_distinct_mp4_files(sandbox: SandboxServer) -> None:
    job = finished(sandbox, "/v1/video-diffusion", {"prompt": "a river"})
    digests = set()
    for url in job["output"]["video_urls"]:
        response = requests.get(url, timeout=10)
        assert response.status_code == 200
        assert response.headers["content-type"] == "video/mp4"
        assert response.headers["accept-ranges"] == "bytes"
        assert response.content[4:8] == b"ftyp"
        digests.add(hashlib.sha256(response.content).hexdigest())
    assert len(digests) == 4
    upscaled = finished(sandbox, "/v1/video-upscale", {"jobId": job["job_id"], "videoNo": 0})
    body = requests.get(upscaled["output"]["video_urls"][0], timeout=10).content
    assert hashlib.sha256(body).hexdigest() not in digests


def test_range_request_is_answered_with_206_and_the_requested_bytes(sandbox: SandboxServer) -> None:
    url = finished(sandbox, "/v1/video-diffusion", {"prompt": "a river"})["output"]["video_urls"][2]
    whole = requests.get(url, timeout=10).content
    part = requests.get(url, headers={"Range": "bytes=100-199"}, timeout=10)
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole)}"
    assert part.content == whole[100:200]
    assert requests.head(url, timeout=10).headers["content-length"] == str(len(whole))


def test_image_job_serves_a_grid_and_four_distinct_pngs(sandbox: SandboxServer) -> None:
    output = finished(sandbox, "/v1/diffusion", {"text": "a cat"})["output"]
    bodies = [requests.get(u, timeout=10) for u in [output["image_url"], *output["image_urls"]]]
    assert all(b.status_code == 200 and b.headers["content-type"] == "image/png" for b in bodies)
    assert all(b.content.startswith(b"\x89PNG") for b in bodies)
    assert len({hashlib.sha256(b.content).hexdigest() for b in bodies}) == 5


def test_media_of_unknown_or_unfinished_jobs_is_404(sandbox: SandboxServer) -> None:
    response = requests.post(
        sandbox.base_url + "/v1/video-diffusion", json={"prompt": "a"}, headers={"x-api-key": KEY}, timeout=10
    )
    job_id = response.json()["job_id"]
    for path in (f"video/{job_id}/0.mp4", "video/00000000-0000-0000-0000-000000000000/0.mp4", "../state.py"):
        assert requests.get(f"{sandbox.root_url}/media/{path}", timeout=10).status_code == 404
    sandbox.advance(60)
    assert requests.get(f"{sandbox.root_url}/media/video/{job_id}/4.mp4", timeout=10).status_code == 404
    assert requests.get(f"{sandbox.root_url}/media/image/{job_id}/0.png", timeout=10).status_code == 404


def test_committed_media_is_small() -> None:
    from legnext_core.sandbox.state import MEDIA_DIR

    sizes = {p.name: p.stat().st_size for p in MEDIA_DIR.iterdir()}
    assert len(sizes) == 10
    assert sum(sizes.values()) < 300_000
