"""The sandbox's sample clips play in Debian's Chromium (they are what every demo shows)."""

from __future__ import annotations

from legnext_core.sandbox import SandboxServer
from tests.test_sandbox_media import finished


def test_every_video_variant_plays_in_headless_chromium(sandbox: SandboxServer, browser) -> None:
    video = finished(sandbox, "/v1/video-diffusion", {"prompt": "a river"})
    upscaled = finished(sandbox, "/v1/video-upscale", {"jobId": video["job_id"], "videoNo": 0})
    urls = [*video["output"]["video_urls"], *upscaled["output"]["video_urls"]]
    tags = "".join(f'<video src="{u}" muted autoplay playsinline></video>' for u in urls)
    context = browser.new_context()
    try:
        page = context.new_page()
        # Served from the sandbox's own origin so the page and the media share it.
        page.route(
            sandbox.root_url + "/player", lambda route: route.fulfill(body=tags, content_type="text/html")
        )
        page.goto(sandbox.root_url + "/player")
        page.wait_for_function(
            "Array.from(document.querySelectorAll('video')).every(v => v.currentTime > 0.5)",
            timeout=15_000,
        )
        state = page.evaluate(
            "Array.from(document.querySelectorAll('video')).map(v => [v.error, v.videoWidth, v.currentTime])"
        )
    finally:
        context.close()
    assert [error for error, _, _ in state] == [None] * 5
    assert [width for _, width, _ in state] == [320, 320, 320, 320, 640]
