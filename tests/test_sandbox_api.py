"""The sandbox's Legnext routes over real HTTP: the job object, the lifecycle, every rule and status."""

from __future__ import annotations

import re
import uuid

import pytest
import requests

from legnext_core.sandbox import BLOCKED_WORDS, SandboxServer, create_app
from tests.helpers import asgi_get_status

KEY = "test-key-sandbox"
ZERO = "0001-01-01T00:00:00Z"
JOB_KEYS = ["job_id", "model", "task_type", "status", "config", "input", "output", "meta", "detail"]
JOB_KEYS += ["logs", "error"]
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def post(sandbox: SandboxServer, path: str, body: object, key: str | None = KEY) -> requests.Response:
    headers = {"x-api-key": key} if key is not None else {}
    return requests.post(f"{sandbox.base_url}{path}", json=body, headers=headers, timeout=10)


def get_job(sandbox: SandboxServer, job_id: str, key: str = KEY) -> requests.Response:
    return requests.get(f"{sandbox.base_url}/v1/job/{job_id}", headers={"x-api-key": key}, timeout=10)


def balance(sandbox: SandboxServer, key: str = KEY) -> dict:
    response = requests.get(f"{sandbox.base_url}/account/balance", headers={"x-api-key": key}, timeout=10)
    assert response.status_code == 200
    return response.json()


def completed(sandbox: SandboxServer, path: str, body: dict, key: str = KEY) -> dict:
    response = post(sandbox, path, body, key)
    assert response.status_code == 200, response.text
    sandbox.advance(60)
    job = get_job(sandbox, response.json()["job_id"], key).json()
    assert job["status"] == "completed"
    return job


def assert_bad_request(response: requests.Response, field: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"code", "message", "raw_message", "detail"}
    assert body["code"] == 400
    assert body["message"] == "Invalid request parameters"
    assert field in body["raw_message"]
    assert body["detail"] is None


# -- the job object ----------------------------------------------------------------------------


def test_completed_video_job_has_every_field_of_the_captured_job(sandbox: SandboxServer) -> None:
    job = completed(
        sandbox, "/v1/video-diffusion", {"prompt": "a flowing river", "callback": "http://127.0.0.1:9/h"}
    )
    assert list(job) == JOB_KEYS
    uuid.UUID(job["job_id"])
    assert job["model"] == "midjourney"
    assert job["task_type"] == "video_diffusion"
    assert job["config"] == {
        "service_mode": "public",
        "webhook_config": {"endpoint": "http://127.0.0.1:9/h", "secret": ""},
    }
    assert job["input"] is None and job["detail"] is None
    assert set(job["output"]) == {"video_urls", "seed", "available_actions"}
    assert len(job["output"]["video_urls"]) == 4
    assert all(
        u.startswith(sandbox.root_url + "/media/") and u.endswith(".mp4") for u in job["output"]["video_urls"]
    )
    assert job["output"]["seed"].isdigit()
    assert job["output"]["available_actions"] == {"extend": [0, 1, 2, 3], "upscale": [0, 1, 2, 3]}
    meta = job["meta"]
    assert all(RFC3339.match(meta[name]) for name in ("created_at", "started_at", "ended_at"))
    assert meta["created_at"] <= meta["started_at"] <= meta["ended_at"]
    assert meta["usage"] == {"type": "point", "frozen": 480, "consume": 480}
    assert job["logs"] == []
    assert job["error"] == {"code": 0, "raw_message": "", "message": "", "detail": None}


def test_new_job_is_pending_with_zero_times_frozen_points_and_no_output(sandbox: SandboxServer) -> None:
    job = post(sandbox, "/v1/video-diffusion", {"prompt": "a river", "videoType": 1}).json()
    assert job["status"] == "pending"
    assert job["meta"]["started_at"] == ZERO and job["meta"]["ended_at"] == ZERO
    assert RFC3339.match(job["meta"]["created_at"])
    assert job["meta"]["usage"] == {"type": "point", "frozen": 1536, "consume": 0}
    assert job["output"] == {"video_urls": None, "seed": ""}
    assert job["config"]["webhook_config"]["endpoint"] == ""
    assert job["error"]["code"] == 0


def test_status_moves_pending_staged_processing_completed_on_the_clock(sandbox: SandboxServer) -> None:
    job_id = post(sandbox, "/v1/video-diffusion", {"prompt": "a river"}).json()["job_id"]
    seen: list[str] = []
    progress: list[int] = []
    for _ in range(40):
        job = get_job(sandbox, job_id).json()
        if not seen or seen[-1] != job["status"]:
            seen.append(job["status"])
        if job["status"] == "processing":
            assert len(job["logs"]) == 1
            progress.append(int(re.fullmatch(r"Processing (\d+)%", job["logs"][0]).group(1)))
            assert job["meta"]["started_at"] != ZERO and job["meta"]["ended_at"] == ZERO
        sandbox.advance(1)
    assert seen == ["pending", "staged", "processing", "completed"]
    assert progress == sorted(progress) and progress[0] < progress[-1] <= 99


def test_image_job_completes_in_seconds_with_grid_four_images_and_actions(sandbox: SandboxServer) -> None:
    job_id = post(sandbox, "/v1/diffusion", {"text": "a cat"}).json()["job_id"]
    assert get_job(sandbox, job_id).json()["output"] == {"image_url": "", "image_urls": None, "seed": ""}
    sandbox.advance(9)
    job = get_job(sandbox, job_id).json()
    assert job["status"] == "completed" and job["task_type"] == "diffusion"
    assert job["output"]["image_url"].endswith("/grid.png")
    assert len(set(job["output"]["image_urls"])) == 4
    assert job["output"]["available_actions"] == {"upscale": [0, 1, 2, 3], "variation": [0, 1, 2, 3]}
    assert job["meta"]["usage"] == {"type": "point", "frozen": 80, "consume": 80}


def test_failed_job_carries_error_code_messages_and_consumes_nothing(start_sandbox) -> None:
    sandbox = start_sandbox(failure_rate=1.0)
    job_id = post(sandbox, "/v1/video-diffusion", {"prompt": "a river"}).json()["job_id"]
    sandbox.advance(60)
    job = get_job(sandbox, job_id).json()
    assert job["status"] == "failed"
    assert job["error"]["code"] != 0 and job["error"]["message"] and job["error"]["raw_message"]
    assert job["meta"]["usage"] == {"type": "point", "frozen": 480, "consume": 0}
    assert job["output"] == {"video_urls": None, "seed": ""}
    assert job["meta"]["ended_at"] != ZERO
    assert balance(sandbox)["data"]["available_points"] == 50_000


def test_time_scale_ten_finishes_a_video_in_a_tenth_of_the_time(start_sandbox) -> None:
    sandbox = start_sandbox(time_scale=10)
    job_id = post(sandbox, "/v1/video-diffusion", {"prompt": "a river"}).json()["job_id"]
    sandbox.advance(1.7)
    assert get_job(sandbox, job_id).json()["status"] != "completed"
    sandbox.advance(1.4)
    assert get_job(sandbox, job_id).json()["status"] == "completed"


# -- the three video modes and the follow-ups --------------------------------------------------


def test_image_url_mode_and_animate_mode_make_video_jobs(sandbox: SandboxServer) -> None:
    by_url = post(sandbox, "/v1/video-diffusion", {"prompt": "https://example.com/cat.png a cat walks"})
    assert by_url.status_code == 200
    image = completed(sandbox, "/v1/diffusion", {"text": "a cat"})
    animated = post(sandbox, "/v1/video-diffusion", {"jobId": image["job_id"], "imageNo": 2, "videoType": 1})
    assert animated.status_code == 200, animated.text
    assert animated.json()["task_type"] == "video_diffusion"
    assert animated.json()["meta"]["usage"]["frozen"] == 1536
    kinds = {job["job_id"]: job["kind"] for job in sandbox.jobs()}
    assert kinds[by_url.json()["job_id"]] == "image_url_video"
    assert kinds[animated.json()["job_id"]] == "animate"


def test_extend_costs_a_video_of_the_parents_resolution(sandbox: SandboxServer) -> None:
    video = completed(sandbox, "/v1/video-diffusion", {"prompt": "a river", "videoType": 1})
    extended = post(sandbox, "/v1/extend-video", {"jobId": video["job_id"], "videoNo": 3, "prompt": "more"})
    assert extended.status_code == 200, extended.text
    assert extended.json()["task_type"] == "extend_video"
    assert extended.json()["meta"]["usage"]["frozen"] == 1536


def test_upscale_outputs_one_video_and_no_further_actions(sandbox: SandboxServer) -> None:
    video = completed(sandbox, "/v1/video-diffusion", {"prompt": "a river"})
    upscaled = completed(sandbox, "/v1/video-upscale", {"jobId": video["job_id"], "videoNo": 1})
    assert upscaled["task_type"] == "video_upscale"
    assert len(upscaled["output"]["video_urls"]) == 1
    assert upscaled["output"]["available_actions"] == {}
    assert upscaled["meta"]["usage"]["consume"] == 480
    again = post(sandbox, "/v1/video-upscale", {"jobId": upscaled["job_id"], "videoNo": 0})
    assert_bad_request(again, "jobId")


def test_a_chain_allows_four_extensions_and_refuses_the_fifth(sandbox: SandboxServer) -> None:
    job = completed(sandbox, "/v1/video-diffusion", {"prompt": "a river"})
    for _ in range(4):
        job = completed(sandbox, "/v1/extend-video", {"jobId": job["job_id"], "videoNo": 0})
    assert job["output"]["available_actions"] == {"extend": [], "upscale": [0, 1, 2, 3]}
    fifth = post(sandbox, "/v1/extend-video", {"jobId": job["job_id"], "videoNo": 0})
    assert_bad_request(fifth, "extended 4 times")
    assert post(sandbox, "/v1/video-upscale", {"jobId": job["job_id"], "videoNo": 0}).status_code == 200


@pytest.mark.parametrize(
    ("path", "body_for", "field"),
    [
        ("/v1/extend-video", lambda image, video: {"jobId": image, "videoNo": 0}, "needs a video job"),
        ("/v1/video-upscale", lambda image, video: {"jobId": image, "videoNo": 0}, "needs a video job"),
        ("/v1/video-diffusion", lambda image, video: {"jobId": video, "imageNo": 0}, "needs an image job"),
    ],
)
def test_follow_up_on_a_job_of_the_wrong_type_is_400(sandbox: SandboxServer, path, body_for, field) -> None:
    image = completed(sandbox, "/v1/diffusion", {"text": "a cat"})["job_id"]
    video = completed(sandbox, "/v1/video-diffusion", {"prompt": "a river"})["job_id"]
    assert_bad_request(post(sandbox, path, body_for(image, video)), field)


@pytest.mark.parametrize("path", ["/v1/extend-video", "/v1/video-upscale"])
def test_follow_up_on_an_unfinished_or_failed_job_is_400(start_sandbox, path: str) -> None:
    sandbox = start_sandbox(failure_rate=1.0)
    job_id = post(sandbox, "/v1/video-diffusion", {"prompt": "a river"}).json()["job_id"]
    assert_bad_request(post(sandbox, path, {"jobId": job_id, "videoNo": 0}), "pending")
    sandbox.advance(60)
    assert_bad_request(post(sandbox, path, {"jobId": job_id, "videoNo": 0}), "failed")


def test_follow_up_on_an_unknown_or_foreign_job_is_404(sandbox: SandboxServer) -> None:
    video = completed(sandbox, "/v1/video-diffusion", {"prompt": "a river"})["job_id"]
    for job_id, key in ((str(uuid.uuid4()), KEY), (video, "another-account")):
        response = post(sandbox, "/v1/extend-video", {"jobId": job_id, "videoNo": 0}, key=key)
        assert response.status_code == 404
        assert response.json()["code"] == 404 and response.json()["message"] == "Job not found"


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/video-diffusion", {}, "prompt is required"),
        ("/v1/video-diffusion", {"prompt": ""}, "prompt"),
        ("/v1/video-diffusion", {"prompt": "   "}, "prompt"),
        ("/v1/video-diffusion", {"prompt": "x" * 8193}, "8192"),
        ("/v1/video-diffusion", {"prompt": 5}, "prompt must be a string"),
        ("/v1/video-diffusion", {"prompt": "a", "videoType": 2}, "videoType"),
        ("/v1/video-diffusion", {"prompt": "a", "videoType": True}, "videoType must be an integer"),
        ("/v1/video-diffusion", {"prompt": "a", "videoType": 1.0}, "videoType must be an integer"),
        ("/v1/video-diffusion", {"prompt": "a", "videoType": "1"}, "videoType must be an integer"),
        ("/v1/video-diffusion", {"prompt": "a", "callback": "ftp://x/y"}, "callback"),
        ("/v1/video-diffusion", {"prompt": "a", "callback": 7}, "callback"),
        ("/v1/video-diffusion", {"prompt": "https:// a cat"}, "image URL"),
        ("/v1/video-diffusion", {"prompt": "a cat --motion fast"}, "--motion"),
        ("/v1/video-diffusion", {"prompt": "a cat", "imageNo": 1}, "imageNo"),
        ("/v1/video-diffusion", {"jobId": "not-a-uuid", "imageNo": 0}, "jobId"),
        ("/v1/video-diffusion", {"jobId": str(uuid.uuid4())}, "imageNo is required"),
        ("/v1/video-diffusion", {"jobId": str(uuid.uuid4()), "imageNo": 4}, "imageNo"),
        ("/v1/video-diffusion", {"jobId": str(uuid.uuid4()), "imageNo": 0, "prompt": ""}, "prompt"),
        ("/v1/extend-video", {"videoNo": 0}, "jobId is required"),
        ("/v1/extend-video", {"jobId": 12, "videoNo": 0}, "jobId must be a string"),
        ("/v1/extend-video", {"jobId": str(uuid.uuid4())}, "videoNo is required"),
        ("/v1/extend-video", {"jobId": str(uuid.uuid4()), "videoNo": -1}, "videoNo"),
        ("/v1/extend-video", {"jobId": str(uuid.uuid4()), "videoNo": False}, "videoNo must be an integer"),
        ("/v1/extend-video", {"jobId": str(uuid.uuid4()), "videoNo": 0, "prompt": ["x"]}, "prompt"),
        ("/v1/video-upscale", {"jobId": str(uuid.uuid4()), "videoNo": "0"}, "videoNo"),
        ("/v1/diffusion", {"prompt": "a cat"}, "text is required"),
        ("/v1/diffusion", {"text": None}, "text is required"),
    ],
)
def test_invalid_field_is_400_naming_the_field(
    sandbox: SandboxServer, path: str, body: dict, field: str
) -> None:
    assert_bad_request(post(sandbox, path, body), field)
    assert sandbox.jobs() == []


def test_unknown_request_fields_are_ignored(sandbox: SandboxServer) -> None:
    response = post(sandbox, "/v1/video-diffusion", {"prompt": "a river", "style": "noir", "video_type": 9})
    assert response.status_code == 200


@pytest.mark.parametrize("word", BLOCKED_WORDS)
def test_prompt_with_a_blocked_word_is_a_moderation_400(sandbox: SandboxServer, word: str) -> None:
    response = post(sandbox, "/v1/video-diffusion", {"prompt": f"a scene with {word.upper()} in it"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 400 and "moderation" in body["message"] and word in body["raw_message"]
    assert sandbox.jobs() == []


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "empty"),
        (b"[1, 2]", "JSON object"),
        (b'"text"', "JSON object"),
        (b"null", "JSON object"),
        (b"\xff\xfe{}", "not valid JSON"),
        (b"[" * 50_000, "not valid JSON"),
    ],
)
def test_malformed_body_is_400_never_500(sandbox: SandboxServer, data: bytes, reason: str) -> None:
    response = requests.post(
        f"{sandbox.base_url}/v1/video-diffusion",
        data=data,
        headers={"x-api-key": KEY, "Content-Type": "application/json"},
        timeout=10,
    )
    assert_bad_request(response, reason)


def test_huge_body_is_413_with_a_json_body(sandbox: SandboxServer) -> None:
    response = post(sandbox, "/v1/video-diffusion", {"prompt": "a", "padding": "x" * 100_000})
    assert response.status_code == 413
    assert response.json()["code"] == 413
    chunked = requests.post(
        f"{sandbox.base_url}/v1/diffusion",
        data=iter([b'{"text": "' + b"x" * 40_000] * 3 + [b'"}']),
        headers={"x-api-key": KEY},
        timeout=10,
    )
    assert chunked.status_code == 413
    assert sandbox.jobs() == []


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/api/v1/nothing", 404), ("GET", "/", 404), ("DELETE", "/api/v1/video-diffusion", 405)],
)
def test_unknown_route_or_method_gets_json_not_html(sandbox: SandboxServer, method, path, status) -> None:
    response = requests.request(method, sandbox.root_url + path, headers={"x-api-key": KEY}, timeout=10)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json()["code"] == status


# -- auth, permissions, limits, points ---------------------------------------------------------


@pytest.mark.parametrize("key", [None, ""])
def test_missing_key_is_401_with_top_level_body(sandbox: SandboxServer, key: str | None) -> None:
    for response in (
        post(sandbox, "/v1/video-diffusion", {"prompt": "a"}, key=key),
        requests.get(
            f"{sandbox.base_url}/account/balance",
            headers={"x-api-key": key} if key is not None else {},
            timeout=10,
        ),
    ):
        assert response.status_code == 401
        assert response.json() == {
            "code": 401,
            "message": "Failed to verify api key",
            "raw_message": "",
            "detail": None,
        }


def test_only_accepted_keys_pass_when_a_key_set_is_configured(start_sandbox) -> None:
    sandbox = start_sandbox(accepted_keys=frozenset({"good-key"}))
    assert post(sandbox, "/v1/diffusion", {"text": "a"}, key="bad-key").status_code == 401
    assert post(sandbox, "/v1/diffusion", {"text": "a"}, key="good-key").status_code == 200


def test_key_without_video_permission_gets_job_shaped_403(start_sandbox) -> None:
    sandbox = start_sandbox(video_denied_keys=frozenset({"image-only"}))
    response = post(sandbox, "/v1/video-diffusion", {"prompt": "a river"}, key="image-only")
    assert response.status_code == 403
    body = response.json()
    assert (
        body["status"] == "failed"
        and body["job_id"] == ""
        and body["output"] == {"video_urls": None, "seed": ""}
    )
    assert body["error"]["code"] == 403 and "whitelisted" in body["error"]["message"]
    assert body["meta"]["created_at"] == ZERO
    assert post(sandbox, "/v1/diffusion", {"text": "a cat"}, key="image-only").status_code == 200
    assert [job["kind"] for job in sandbox.jobs()] == ["image"]


def test_unknown_job_is_404(sandbox: SandboxServer) -> None:
    for job_id in (str(uuid.uuid4()), "garbage"):
        response = get_job(sandbox, job_id)
        assert response.status_code == 404
        assert response.json()["code"] == 404 and response.json()["detail"] is None


def test_another_keys_job_is_404(sandbox: SandboxServer) -> None:
    job_id = post(sandbox, "/v1/diffusion", {"text": "a"}).json()["job_id"]
    assert get_job(sandbox, job_id, key="someone-else").status_code == 404


def test_seventh_unfinished_job_is_429_with_retry_after(sandbox: SandboxServer) -> None:
    for _ in range(6):
        assert post(sandbox, "/v1/diffusion", {"text": "a"}).status_code == 200
    refused = post(sandbox, "/v1/diffusion", {"text": "a"})
    assert refused.status_code == 429
    assert refused.json()["code"] == 429 and refused.json()["raw_message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 9
    assert post(sandbox, "/v1/diffusion", {"text": "a"}, key="other-account").status_code == 200
    sandbox.advance(9)
    assert post(sandbox, "/v1/diffusion", {"text": "a"}).status_code == 200
    assert len(sandbox.jobs()) == 8


def test_insufficient_points_is_402_counting_frozen_points(start_sandbox) -> None:
    sandbox = start_sandbox(initial_points=1000)
    assert post(sandbox, "/v1/video-diffusion", {"prompt": "a"}).status_code == 200  # 480 frozen
    refused = post(sandbox, "/v1/video-diffusion", {"prompt": "b"})  # 1000 - 480 < 480? no: 520 left
    assert refused.status_code == 200
    third = post(sandbox, "/v1/diffusion", {"text": "c"})  # 40 left < 80
    assert third.status_code == 402
    assert third.json()["code"] == 402 and "80" in third.json()["raw_message"]
    assert post(sandbox, "/v1/video-diffusion", {"prompt": "d", "videoType": 1}).status_code == 402
    assert len(sandbox.jobs()) == 2


def test_balance_is_wrapped_and_goes_down_as_jobs_complete(sandbox: SandboxServer) -> None:
    before = balance(sandbox)
    assert before["code"] == 200 and before["message"] == "success"
    data = before["data"]
    assert set(data) == {
        "account_id", "balance_usd", "available_credits", "available_points",
        "alert_threshold", "low_balance_alert", "updated_at",
    }  # fmt: skip
    assert data["available_points"] == 50_000 and data["balance_usd"] == 50.0
    assert data["low_balance_alert"] is False and data["alert_threshold"] == 5
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", data["updated_at"])
    post(sandbox, "/v1/video-diffusion", {"prompt": "a", "videoType": 1})
    assert balance(sandbox)["data"]["available_points"] == 50_000
    sandbox.advance(60)
    after = balance(sandbox)["data"]
    assert after["available_points"] == 50_000 - 1536 and after["balance_usd"] == pytest.approx(48.464)
    assert balance(sandbox, key="another")["data"]["available_points"] == 50_000


def test_low_balance_alert_below_five_dollars(start_sandbox) -> None:
    sandbox = start_sandbox(initial_points=5_400)
    post(sandbox, "/v1/video-diffusion", {"prompt": "a"})
    sandbox.advance(60)
    data = balance(sandbox)["data"]
    assert data["balance_usd"] == pytest.approx(4.92) and data["low_balance_alert"] is True


# -- mounting, inspection, control -------------------------------------------------------------


def test_media_urls_carry_the_mount_prefix_when_mounted(sandbox_config_factory) -> None:
    config = sandbox_config_factory()
    with SandboxServer(config, mount="/sandbox") as server:
        assert server.root_url.endswith("/sandbox")
        job_id = post(server, "/v1/diffusion", {"text": "a"}).json()["job_id"]
        server.advance(10)
        url = get_job(server, job_id).json()["output"]["image_url"]
        assert url.startswith(server.root_url + "/media/image/")
        media = requests.get(url, timeout=10)
        assert media.status_code == 200 and media.headers["content-type"] == "image/png"
        counts = requests.get(server.root_url + "/_sandbox/requests", timeout=10).json()["counts"]
        assert counts["POST /api/v1/diffusion"] == 1


def test_inspection_lists_every_job_without_the_key(sandbox: SandboxServer) -> None:
    first = post(sandbox, "/v1/diffusion", {"text": "a"}).json()["job_id"]
    second = post(sandbox, "/v1/video-diffusion", {"prompt": "b"}).json()["job_id"]
    listing = requests.get(sandbox.root_url + "/_sandbox/jobs", timeout=10)
    assert listing.status_code == 200
    body = listing.json()
    assert body["count"] == 2 and [job["job_id"] for job in body["jobs"]] == [first, second]
    assert KEY not in listing.text
    assert body["jobs"][0]["key_hash"] and body["jobs"][0]["job"]["job_id"] == first


def test_request_counts_by_method_and_path(sandbox: SandboxServer) -> None:
    job_id = post(sandbox, "/v1/diffusion", {"text": "a"}).json()["job_id"]
    get_job(sandbox, job_id)
    get_job(sandbox, job_id)
    counts = requests.get(sandbox.root_url + "/_sandbox/requests", timeout=10).json()["counts"]
    assert counts == {"POST /api/v1/diffusion": 1, f"GET /api/v1/job/{job_id}": 2}
    assert sandbox.request_count("GET", "/api/v1/job/") == 2
    requests.delete(sandbox.root_url + "/_sandbox/requests", timeout=10)
    assert sandbox.request_counts() == {}


def test_clock_can_be_advanced_over_http(sandbox: SandboxServer) -> None:
    job_id = post(sandbox, "/v1/diffusion", {"text": "a"}).json()["job_id"]
    before = requests.get(sandbox.root_url + "/_sandbox/clock", timeout=10).json()["now"]
    moved = requests.post(sandbox.root_url + "/_sandbox/clock", json={"advance": 30}, timeout=10)
    assert moved.json()["now"] == before + 30
    assert get_job(sandbox, job_id).json()["status"] == "completed"
    assert (
        requests.post(sandbox.root_url + "/_sandbox/clock", json={"advance": -1}, timeout=10).status_code
        == 400
    )


def test_clock_route_refuses_to_move_real_time(start_sandbox) -> None:
    from legnext_core.sandbox import RealClock

    sandbox = start_sandbox(clock=RealClock())
    assert (
        requests.post(sandbox.root_url + "/_sandbox/clock", json={"advance": 5}, timeout=10).status_code
        == 409
    )


def test_control_routes_refuse_non_loopback_clients(sandbox_config_factory) -> None:
    app = create_app(sandbox_config_factory())
    try:
        outsider = ("203.0.113.9", 5000)
        for path in ("/_sandbox/jobs", "/_sandbox/requests", "/_sandbox/faults", "/_sandbox/clock"):
            assert asgi_get_status(app, path, outsider, host="sandbox.test") == 403, path
            assert asgi_get_status(app, path, ("127.0.0.1", 5000), host="sandbox.test") == 200, path
        key = [(b"x-api-key", KEY.encode())]
        assert asgi_get_status(app, "/api/account/balance", outsider, key, host="sandbox.test") == 200
    finally:
        app.state.sandbox.close()
