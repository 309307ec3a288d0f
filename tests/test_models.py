"""Parsing of every documented wire variant, and validation of job requests before anything is sent."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from legnext_core.errors import InvalidInputError
from legnext_core.models import (
    Balance,
    Job,
    JobKind,
    JobRequest,
    JobStatus,
    estimate_points,
    points_are_estimated,
    progress_from_logs,
    validate_http_url,
    validate_prompt,
)

JOB_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
IMAGE_JOB_ID = "0b7e4f0c-1a2b-4c3d-8e9f-0123456789ab"

# The captured completed video job from the API notes (2025-10).
COMPLETED_VIDEO = {
    "job_id": JOB_ID,
    "model": "midjourney",
    "task_type": "video_diffusion",
    "status": "completed",
    "config": {"service_mode": "public", "webhook_config": {"endpoint": "", "secret": ""}},
    "input": None,
    "output": {
        "video_urls": [f"https://cdn.legnext.ai/video/{i}.mp4" for i in range(4)],
        "seed": "123456",
        "available_actions": {"extend": [0, 1, 2, 3], "upscale": [0, 1, 2, 3]},
    },
    "meta": {
        "created_at": "2025-10-21T10:51:46Z",
        "started_at": "2025-10-21T10:51:47Z",
        "ended_at": "2025-10-21T10:54:22Z",
        "usage": {"type": "point", "frozen": 480, "consume": 480},
    },
    "detail": None,
    "logs": [],
    "error": {"code": 0, "raw_message": "", "message": "", "detail": None},
}

PENDING_VIDEO = {
    "job_id": JOB_ID,
    "model": "midjourney",
    "task_type": "video_diffusion",
    "status": "pending",
    "config": {
        "service_mode": "public",
        "webhook_config": {"endpoint": "https://me.example/hook", "secret": ""},
    },
    "input": None,
    "output": {"video_urls": None, "seed": "", "available_actions": None},
    "meta": {
        "created_at": "2025-10-21T10:51:46Z",
        "started_at": "0001-01-01T00:00:00Z",
        "ended_at": "0001-01-01T00:00:00Z",
        "usage": {"type": "point", "frozen": 480, "consume": 0},
    },
    "detail": None,
    "logs": [],
    "error": {"code": 0, "raw_message": "", "message": "", "detail": None},
}

# Shape 2 of the error bodies: a job object on an HTTP 403.
FORBIDDEN_JOB = {
    "job_id": "",
    "model": "",
    "task_type": "",
    "status": "failed",
    "config": {"service_mode": "", "webhook_config": {"endpoint": "", "secret": ""}},
    "input": None,
    "output": None,
    "meta": {
        "created_at": "",
        "started_at": "",
        "ended_at": "",
        "usage": {"type": "", "frozen": 0, "consume": 0},
    },
    "detail": None,
    "logs": [],
    "error": {
        "code": 403,
        "raw_message": "",
        "message": "This feature is only available for whitelisted accounts. Contact support.",
        "detail": None,
    },
}

COMPLETED_IMAGE = {
    "job_id": IMAGE_JOB_ID,
    "model": "midjourney",
    "task_type": "diffusion",
    "status": "completed",
    "output": {
        "image_url": "https://cdn.legnext.ai/grid.png",
        "image_urls": [f"https://cdn.legnext.ai/{i}.png" for i in range(4)],
        "seed": "42",
        "available_actions": {"upscale": [0, 1, 2, 3], "variation": [0, 1, 2, 3]},
    },
    "meta": {"created_at": "2025-10-21T10:00:00Z", "usage": {"frozen": 80, "consume": 80}},
    "error": {"code": 0, "message": ""},
}


def test_completed_video_job_parses_every_field():
    job = Job.from_api(COMPLETED_VIDEO)
    assert job.job_id == JOB_ID
    assert job.task_type == "video_diffusion"
    assert job.status is JobStatus.COMPLETED and job.status.is_terminal
    assert job.video_urls == [f"https://cdn.legnext.ai/video/{i}.mp4" for i in range(4)]
    assert job.seed == "123456"
    assert job.available_actions == {"extend": [0, 1, 2, 3], "upscale": [0, 1, 2, 3]}
    assert (job.usage_frozen, job.usage_consumed) == (480, 480)
    assert job.error is None
    assert job.created_at == datetime(2025, 10, 21, 10, 51, 46, tzinfo=UTC)
    assert job.ended_at == datetime(2025, 10, 21, 10, 54, 22, tzinfo=UTC)
    assert job.callback is None
    assert job.progress == 100
    assert job.model == "midjourney"
    assert job.extra == {}
    assert job.raw is COMPLETED_VIDEO


def test_pending_job_reads_zero_time_as_unset_and_null_output_as_empty():
    job = Job.from_api(PENDING_VIDEO)
    assert job.status is JobStatus.PENDING and not job.status.is_terminal
    assert job.started_at is None and job.ended_at is None
    assert job.created_at is not None
    assert job.video_urls == [] and job.available_actions == {} and job.seed is None
    assert job.callback == "https://me.example/hook"
    assert job.progress is None


def test_empty_string_timestamps_are_unset():
    job = Job.from_api(FORBIDDEN_JOB)
    assert job.created_at is job.started_at is job.ended_at is None


def test_job_shaped_error_carries_the_message():
    job = Job.from_api(FORBIDDEN_JOB)
    assert job.status is JobStatus.FAILED
    assert job.error is not None and job.error.code == 403
    assert "whitelisted" in job.error.message


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("video-diffusion", "video_diffusion"),
        ("extend-video", "extend_video"),
        ("video_upscale", "video_upscale"),
        ("Video-Upscale", "video_upscale"),
        ("diffusion", "diffusion"),
    ],
)
def test_task_type_is_normalised_to_underscores(wire, expected):
    data = dict(COMPLETED_VIDEO, task_type=wire)
    assert Job.from_api(data).task_type == expected


def test_failed_job_keeps_code_message_and_raw_message():
    data = copy.deepcopy(PENDING_VIDEO)
    data["status"] = "failed"
    data["error"] = {
        "code": 10001,
        "message": "Generation failed",
        "raw_message": "upstream said no",
        "detail": None,
    }
    job = Job.from_api(data)
    assert job.error is not None
    assert (job.error.code, job.error.message, job.error.raw_message) == (
        10001,
        "Generation failed",
        "upstream said no",
    )


def test_missing_and_null_fields_are_not_fatal():
    job = Job.from_api({"job_id": JOB_ID})
    assert job.status is JobStatus.PENDING
    assert job.task_type == "" and job.video_urls == [] and job.logs == [] and job.error is None
    job = Job.from_api(
        {"job_id": JOB_ID, "status": "processing", "output": None, "meta": None, "logs": None, "error": None}
    )
    assert job.status is JobStatus.PROCESSING
    assert job.usage_frozen is None and job.created_at is None


def test_unknown_fields_are_kept_in_extra():
    data = dict(COMPLETED_VIDEO, queue_position=3, region="eu")
    data["output"] = dict(COMPLETED_VIDEO["output"], thumbnail_url="https://cdn.legnext.ai/t.jpg")
    job = Job.from_api(data)
    assert job.extra == {
        "queue_position": 3,
        "region": "eu",
        "output": {"thumbnail_url": "https://cdn.legnext.ai/t.jpg"},
    }


def test_unknown_status_keeps_the_job_tracked_and_remembers_the_value():
    job = Job.from_api(dict(PENDING_VIDEO, status="queued_upstream"))
    assert job.status is JobStatus.PROCESSING and not job.status.is_terminal
    assert job.extra["unknown_status"] == "queued_upstream"


def test_uppercase_status_is_understood():
    assert Job.from_api(dict(PENDING_VIDEO, status="COMPLETED")).status is JobStatus.COMPLETED


@pytest.mark.parametrize(
    ("logs", "expected"),
    [
        (["Processing 45%"], 45),
        (["queued", "progress: 45%"], 45),
        (["Processing 10%", "Processing 62.6 %"], 63),
        (["starting", "rendering"], None),
        ([], None),
    ],
)
def test_progress_is_read_from_the_latest_log_line_that_carries_it(logs, expected):
    assert progress_from_logs(logs) == expected
    job = Job.from_api(dict(PENDING_VIDEO, status="processing", logs=logs))
    assert job.progress == expected


def test_progress_field_wins_over_logs_and_is_clamped():
    assert Job.from_api(dict(PENDING_VIDEO, progress=30, logs=["Processing 45%"])).progress == 30
    assert Job.from_api(dict(PENDING_VIDEO, progress=250)).progress == 100
    assert Job.from_api(dict(PENDING_VIDEO, progress="garbage", logs=["5%"])).progress == 5


def test_image_job_outputs():
    job = Job.from_api(COMPLETED_IMAGE)
    assert job.task_type == "diffusion"
    assert job.image_url == "https://cdn.legnext.ai/grid.png"
    assert len(job.image_urls) == 4
    assert job.output_urls == job.image_urls
    assert job.available_actions["variation"] == [0, 1, 2, 3]


def test_upscale_with_a_single_video_url_field():
    job = Job.from_api(
        {"job_id": JOB_ID, "status": "completed", "output": {"video_url": "https://x.io/u.mp4"}}
    )
    assert job.video_urls == ["https://x.io/u.mp4"]


def test_job_from_api_refuses_a_non_object():
    with pytest.raises(ValueError):
        Job.from_api(["not", "a", "job"])  # type: ignore[arg-type]


BALANCE = {
    "account_id": 1234,
    "balance_usd": 12.5,
    "available_credits": 0,
    "available_points": 12500,
    "alert_threshold": 5.0,
    "low_balance_alert": False,
    "updated_at": "2025-10-21T10:00:00Z",
}


@pytest.mark.parametrize("body", [{"code": 200, "data": BALANCE, "message": "success"}, BALANCE])
def test_balance_parses_enveloped_or_bare(body):
    balance = Balance.from_api(body)
    assert balance.account_id == "1234"
    assert balance.balance_usd == 12.5
    assert balance.available_points == 12500
    assert balance.alert_threshold == 5.0
    assert balance.low_balance_alert is False
    assert balance.updated_at == datetime(2025, 10, 21, 10, 0, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------------
# Requests


def test_wire_prompt_puts_url_first_then_text_then_flags():
    request = JobRequest(
        JobKind.IMAGE_URL_VIDEO,
        prompt="  a cat walks ",
        image_url="https://x.io/cat.png",
        motion="high",
        raw=True,
    )
    assert request.wire_prompt() == "https://x.io/cat.png a cat walks --motion high --raw"
    assert request.validate() is request


def test_wire_prompt_is_none_when_nothing_to_say():
    assert JobRequest(JobKind.EXTEND, parent_job_id=JOB_ID, index=0).wire_prompt() is None


VALID = [
    JobRequest(JobKind.TEXT_VIDEO, prompt="a cat", video_type=1),
    JobRequest(JobKind.TEXT_VIDEO, prompt="https://x.io/cat.png a cat --end https://x.io/dog.png"),
    JobRequest(JobKind.IMAGE_URL_VIDEO, image_url="https://x.io/cat.png"),
    JobRequest(JobKind.ANIMATE, parent_job_id=IMAGE_JOB_ID, index=3),
    JobRequest(JobKind.ANIMATE, parent_job_id=IMAGE_JOB_ID, index=0, prompt="slowly", motion="low"),
    JobRequest(JobKind.EXTEND, parent_job_id=JOB_ID, index=2, prompt="then it rains"),
    JobRequest(JobKind.UPSCALE, parent_job_id=JOB_ID.upper(), index=1),
    JobRequest(JobKind.IMAGE, prompt="a cat", raw=True, callback="https://me.example/hook"),
]


@pytest.mark.parametrize("request_", VALID, ids=lambda r: r.kind.value)
def test_valid_requests_pass(request_):
    request_.validate()


INVALID = [
    ("prompt", JobRequest(JobKind.TEXT_VIDEO, prompt="")),
    ("prompt", JobRequest(JobKind.TEXT_VIDEO, prompt="   \n\t ")),
    ("prompt", JobRequest(JobKind.TEXT_VIDEO)),
    ("prompt", JobRequest(JobKind.TEXT_VIDEO, prompt="x" * 8193)),
    # The flags count against the limit: the prompt is checked as it goes on the wire.
    ("prompt", JobRequest(JobKind.TEXT_VIDEO, prompt="x" * 8190, motion="low")),
    ("prompt", JobRequest(JobKind.TEXT_VIDEO, prompt="a cat https://x.io/cat.png")),
    ("prompt", JobRequest(JobKind.TEXT_VIDEO, prompt="ftp://x.io/cat.png a cat")),
    ("prompt", JobRequest(JobKind.IMAGE, prompt="")),
    ("image_url", JobRequest(JobKind.IMAGE_URL_VIDEO, prompt="a cat")),
    ("image_url", JobRequest(JobKind.IMAGE_URL_VIDEO, image_url="file:///etc/passwd")),
    ("image_url", JobRequest(JobKind.IMAGE_URL_VIDEO, image_url="https://")),
    ("image_url", JobRequest(JobKind.IMAGE_URL_VIDEO, image_url="https://x.io/a cat.png")),
    ("image_url", JobRequest(JobKind.TEXT_VIDEO, prompt="a cat", image_url="https://x.io/c.png")),
    (
        "prompt",
        JobRequest(JobKind.IMAGE_URL_VIDEO, image_url="https://x.io/c.png", prompt="https://x.io/d.png"),
    ),
    ("parent_job_id", JobRequest(JobKind.ANIMATE, index=0)),
    ("parent_job_id", JobRequest(JobKind.EXTEND, parent_job_id="../account/balance", index=0)),
    ("parent_job_id", JobRequest(JobKind.UPSCALE, parent_job_id="not-a-uuid", index=0)),
    ("index", JobRequest(JobKind.UPSCALE, parent_job_id=JOB_ID, index=4)),
    ("index", JobRequest(JobKind.UPSCALE, parent_job_id=JOB_ID, index=-1)),
    ("index", JobRequest(JobKind.UPSCALE, parent_job_id=JOB_ID, index=True)),
    ("index", JobRequest(JobKind.UPSCALE, parent_job_id=JOB_ID, index="1")),
    ("index", JobRequest(JobKind.EXTEND, parent_job_id=JOB_ID)),
    ("video_type", JobRequest(JobKind.TEXT_VIDEO, prompt="a cat", video_type=2)),
    ("video_type", JobRequest(JobKind.ANIMATE, parent_job_id=JOB_ID, index=0, video_type=True)),
    ("callback", JobRequest(JobKind.IMAGE, prompt="a cat", callback="javascript:alert(1)")),
    ("callback", JobRequest(JobKind.IMAGE, prompt="a cat", callback="not a url")),
    ("motion", JobRequest(JobKind.TEXT_VIDEO, prompt="a cat", motion="medium")),
    ("motion", JobRequest(JobKind.IMAGE, prompt="a cat", motion="low")),
    ("prompt", JobRequest(JobKind.UPSCALE, parent_job_id=JOB_ID, index=0, prompt="bigger")),
]


@pytest.mark.parametrize(("field", "request_"), INVALID)
def test_invalid_requests_name_the_field_with_a_readable_message(field, request_):
    with pytest.raises(InvalidInputError) as caught:
        request_.validate()
    assert caught.value.field == field
    message = caught.value.user_message
    assert message and message[0].isupper() and message.endswith(".")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url <b>x</b>", "The image URL must start with http:// or https://."),
        ("ftp://example.com/a.png", "The image URL must start with http:// or https://."),
        ("https://example.com/a b.png", "The image URL must not contain spaces."),
        ("https:///a.png", "The image URL has no host name."),
        ("HTTPS://example.com/a.png", None),
    ],
)
def test_a_bad_url_is_told_its_first_problem(url, message):
    if message is None:
        assert validate_http_url(url, "image_url", "The image URL") == url
        return
    with pytest.raises(InvalidInputError) as caught:
        validate_http_url(url, "image_url", "The image URL")
    assert caught.value.message == message


def test_prompt_of_exactly_the_limit_is_accepted():
    assert validate_prompt("x" * 8192) == "x" * 8192


@pytest.mark.parametrize(("character", "shown"), [("\x00", "U+0000"), ("\x1b", "U+001B"), ("\x7f", "U+007F")])
def test_a_prompt_with_an_invisible_control_character_is_refused_saying_which_and_where(character, shown):
    with pytest.raises(InvalidInputError) as refused:
        JobRequest(JobKind.TEXT_VIDEO, prompt=f"a fox{character} in snow").validate()
    assert refused.value.field == "prompt"
    assert f"({shown}) at position 6" in str(refused.value)


def test_tabs_and_line_breaks_in_a_prompt_are_fine():
    assert validate_prompt("a fox\tin snow\r\nat dusk") == "a fox\tin snow\r\nat dusk"


@pytest.mark.parametrize(
    ("request_", "parent_video_type", "points", "estimated"),
    [
        (JobRequest(JobKind.IMAGE, prompt="a"), None, 80, False),
        (JobRequest(JobKind.TEXT_VIDEO, prompt="a"), None, 480, False),
        (JobRequest(JobKind.TEXT_VIDEO, prompt="a", video_type=1), None, 1536, False),
        (JobRequest(JobKind.ANIMATE, parent_job_id=JOB_ID, index=0, video_type=1), None, 1536, False),
        (JobRequest(JobKind.UPSCALE, parent_job_id=JOB_ID, index=0), None, 480, False),
        # Extension prices are first-party now; only an unknown parent resolution is a guess.
        (JobRequest(JobKind.EXTEND, parent_job_id=JOB_ID, index=0), 1, 1536, False),
        (JobRequest(JobKind.EXTEND, parent_job_id=JOB_ID, index=0), 0, 480, False),
        (JobRequest(JobKind.EXTEND, parent_job_id=JOB_ID, index=0), None, 480, True),
    ],
)
def test_estimate_points(request_, parent_video_type, points, estimated):
    assert estimate_points(request_, parent_video_type) == points
    assert points_are_estimated(request_, parent_video_type) is estimated


def test_job_kind_maps_to_legnext_task_types():
    # Read the other way round from the table in models.py: which kinds Legnext reports under each type.
    kinds_by_type: dict[str, set[JobKind]] = {}
    for kind in JobKind:
        kinds_by_type.setdefault(kind.task_type, set()).add(kind)
    assert kinds_by_type == {
        "video_diffusion": {JobKind.TEXT_VIDEO, JobKind.IMAGE_URL_VIDEO, JobKind.ANIMATE},
        "extend_video": {JobKind.EXTEND},
        "video_upscale": {JobKind.UPSCALE},
        "diffusion": {JobKind.IMAGE},
    }
