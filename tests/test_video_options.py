"""Every video option: end frame, loop, batch size, speed, extend auto/manual.

The request side (validation with a message per field, the wire prompt, the price table) and the
sandbox side (it honours each option and rejects malformed ones with a 400), over real HTTP.
"""

from __future__ import annotations

import pytest
import requests

from legnext_core import pricing
from legnext_core.client import LegnextClient
from legnext_core.errors import BadRequestError, InvalidInputError
from legnext_core.models import JobKind, JobRequest, estimate_points, points_are_estimated
from legnext_core.records import JobRecord
from legnext_core.settings import load_settings
from legnext_core.studio import Studio
from legnext_core.submit import request_from_record, submit_job

KEY = "test-key-sandbox"
JOB_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
END = "https://example.com/last-frame.png"


def text(**options) -> JobRequest:
    return JobRequest(JobKind.TEXT_VIDEO, prompt="a paper boat", **options)


def extend(**options) -> JobRequest:
    return JobRequest(JobKind.EXTEND, parent_job_id=JOB_ID, index=0, **options)


# -- the request -----------------------------------------------------------------------------------


def test_every_option_travels_as_a_prompt_flag_and_defaults_are_not_sent():
    assert text().wire_prompt() == "a paper boat"
    request = text(motion="high", raw=True, end_url=END, batch_size=2, speed="turbo")
    assert request.wire_prompt() == f"a paper boat --motion high --raw --end {END} --bs 2 --turbo"
    assert text(loop=True, batch_size=1).wire_prompt() == "a paper boat --loop --bs 1"
    assert text(speed="fast", batch_size=4).wire_prompt() == "a paper boat"


@pytest.mark.parametrize(
    ("request_", "field", "words"),
    [
        (text(batch_size=3), "batch_size", "1, 2 or 4"),
        (text(batch_size=True), "batch_size", "1, 2 or 4"),
        (text(speed="relax"), "speed", "fast or turbo"),
        (text(end_url="ftp://example.com/a.png"), "end_url", "http:// or https://"),
        (text(end_url="https://example.com/a b.png"), "end_url", "spaces"),
        (text(end_url=""), "end_url", "empty"),
        (text(loop="yes"), "loop", "on or off"),
        (text(loop=True, end_url=END), "loop", "cannot also have an end frame"),
        (JobRequest(JobKind.IMAGE, prompt="a", batch_size=2), "batch_size", "videos only"),
        (JobRequest(JobKind.IMAGE, prompt="a", end_url=END), "end_url", "videos only"),
        (JobRequest(JobKind.IMAGE, prompt="a", loop=True), "loop", "videos only"),
        (JobRequest(JobKind.UPSCALE, parent_job_id=JOB_ID, index=0, speed="turbo"), "prompt", "no prompt"),
        (JobRequest(JobKind.UPSCALE, parent_job_id=JOB_ID, index=0, batch_size=2), "prompt", "no prompt"),
        (extend(extend_mode="auto", prompt="the camera pulls back"), "extend_mode", "choose manual"),
        (extend(extend_mode="auto", loop=True), "extend_mode", "choose manual"),
        (extend(extend_mode="manual"), "prompt", "needs a prompt"),
        (extend(extend_mode="sideways"), "extend_mode", "auto or manual"),
    ],
)
def test_each_bad_option_is_refused_with_a_message_for_its_field(request_, field, words):
    with pytest.raises(InvalidInputError) as caught:
        request_.validate()
    assert caught.value.field == field
    assert words in caught.value.message


def test_extend_auto_sends_no_prompt_and_manual_sends_the_new_one_with_its_options():
    assert extend(extend_mode="auto").validate().wire_prompt() is None
    manual = extend(extend_mode="manual", prompt="the camera pulls back", batch_size=2, speed="turbo")
    assert manual.validate().wire_prompt() == "the camera pulls back --bs 2 --turbo"


def test_end_frame_and_loop_are_accepted_for_every_kind_of_new_video():
    text(end_url=END).validate()
    text(loop=True).validate()
    JobRequest(JobKind.IMAGE_URL_VIDEO, image_url="https://x.io/a.png", end_url=END).validate()
    JobRequest(JobKind.ANIMATE, parent_job_id=JOB_ID, index=1, loop=True, batch_size=1).validate()


# -- the price table -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "parent", "points", "estimated"),
    [
        (text(), None, 480, False),
        (text(speed="turbo"), None, 960, False),
        (text(video_type=1, speed="turbo"), None, 3072, False),
        (text(batch_size=2), None, 240, True),
        (text(batch_size=1, video_type=1), None, 384, True),
        (text(batch_size=2, speed="turbo"), None, 480, True),
        (extend(extend_mode="manual", prompt="on", speed="turbo"), 1, 3072, False),
        (extend(extend_mode="auto"), 0, 480, False),
        (JobRequest(JobKind.UPSCALE, parent_job_id=JOB_ID, index=0), None, 480, False),
        (JobRequest(JobKind.IMAGE, prompt="a"), None, 80, False),
    ],
)
def test_estimates_follow_the_first_party_table(request_, parent, points, estimated):
    assert estimate_points(request_, parent) == points
    assert points_are_estimated(request_, parent) is estimated


def test_a_smaller_batch_says_its_price_is_an_estimate():
    note = pricing.estimate_note(text(batch_size=2))
    assert note is not None and note.startswith("an estimate") and "2/4" in note
    assert pricing.estimate_note(text(speed="turbo")) is None


# -- the sandbox honours each option ---------------------------------------------------------------


def post_video(sandbox, prompt: str) -> requests.Response:
    url = f"{sandbox.base_url}/v1/video-diffusion"
    return requests.post(url, json={"prompt": prompt}, headers={"x-api-key": KEY}, timeout=10)


def finished(sandbox, job_id: str) -> dict:
    sandbox.advance(120)
    answer = requests.get(f"{sandbox.base_url}/v1/job/{job_id}", headers={"x-api-key": KEY}, timeout=10)
    job = answer.json()
    assert job["status"] == "completed"
    return job


def test_sandbox_batch_of_two_gives_two_videos_at_half_the_price(sandbox):
    answer = post_video(sandbox, "a paper boat --bs 2")
    assert answer.status_code == 200, answer.text
    job = finished(sandbox, answer.json()["job_id"])
    assert len(job["output"]["video_urls"]) == 2
    assert job["output"]["available_actions"] == {"extend": [0, 1], "upscale": [0, 1]}
    assert job["meta"]["usage"]["consume"] == 240
    for url in job["output"]["video_urls"]:
        assert requests.get(url, timeout=10).status_code == 200
    third = job["output"]["video_urls"][1].replace("/1.mp4", "/2.mp4")
    assert requests.get(third, timeout=10).status_code == 404


def test_sandbox_turbo_costs_double_and_loop_and_end_are_accepted(sandbox):
    turbo = post_video(sandbox, "a paper boat --turbo")
    assert turbo.json()["meta"]["usage"]["frozen"] == 960
    looped = post_video(sandbox, "a paper boat --loop")
    ended = post_video(sandbox, f"a paper boat --end {END}")
    assert looped.status_code == 200 and ended.status_code == 200
    made = {job["job_id"]: job for job in sandbox.jobs()}
    assert made[looped.json()["job_id"]]["loop"] is True
    assert made[ended.json()["job_id"]]["end_url"] == END
    assert made[turbo.json()["job_id"]]["speed"] == "turbo"


@pytest.mark.parametrize(
    ("prompt", "words"),
    [
        ("a boat --bs 3", "--bs must be followed by 1, 2 or 4"),
        ("a boat --bs", "--bs must be followed by 1, 2 or 4"),
        ("a boat --end", "--end must be followed by an http(s) image URL"),
        ("a boat --end ftp://example.com/a.png", "--end must be followed by an http(s) image URL"),
        ("a boat --end last-frame.png", "--end must be followed by an http(s) image URL"),
        ("a boat --motion medium", "--motion must be followed by low or high"),
        ("a boat --motion", "--motion must be followed by low or high"),
    ],
)
def test_sandbox_rejects_malformed_options_with_400(sandbox, prompt, words):
    answer = post_video(sandbox, prompt)
    assert answer.status_code == 400
    assert words in answer.json()["raw_message"]
    assert sandbox.jobs() == []


def test_sandbox_extension_of_a_two_video_job_offers_only_its_two_videos(sandbox):
    parent = finished(sandbox, post_video(sandbox, "a paper boat --bs 2").json()["job_id"])
    client = LegnextClient(KEY, sandbox.base_url)
    try:
        with pytest.raises(BadRequestError):
            client.extend_video(parent["job_id"], 3)
        child = client.extend_video(parent["job_id"], 1, "it sails on --bs 1 --turbo")
    finally:
        client.close()
    job = finished(sandbox, child.job_id)
    assert len(job["output"]["video_urls"]) == 1
    assert job["meta"]["usage"]["consume"] == 240  # 480 doubled for turbo, a quarter for a batch of one


# -- the record --------------------------------------------------------------------------------------


@pytest.fixture
def studio(sandbox, tmp_path):
    settings = load_settings({"LEGNEXT_SANDBOX_URL": sandbox.base_url, "LEGNEXT_DATA_DIR": str(tmp_path)})
    current = Studio(settings)
    yield current
    current.stop()


def test_options_are_recorded_under_the_agreed_keys_and_read_back(studio, sandbox):
    request = text(end_url=END, batch_size=2, speed="turbo", motion="low")
    result = submit_job(studio, request)
    assert result.outcome == "accepted"
    record = studio.store.get(result.local_id)
    assert (record.end_url, record.batch_size, record.speed) == (END, 2, "turbo")
    assert record.estimated_points == 480
    again = request_from_record(record)
    assert (again.end_url, again.batch_size, again.speed, again.loop) == (END, 2, "turbo", False)
    assert again.wire_prompt() == request.wire_prompt()


def test_a_record_from_before_the_options_reads_back_as_the_defaults():
    old = JobRecord.from_dict({"local_id": "x", "kind": "text_video", "prompt": "a boat"})
    request = request_from_record(old)
    assert (request.batch_size, request.speed, request.loop, request.end_url) == (4, "fast", False, None)
