"""LegnextClient over real HTTP against the sandbox: every method, every error status, every fault mode.

Request counts are read on the sandbox side, so "exactly one POST" means one POST reached the server.
One sandbox serves the module; each test gets an API key of its own, which in the sandbox is an
account of its own (its own points, its own limit of unfinished jobs), and faults are reset per test.
Sleeping is injected (recorded, never slept), and the sandbox runs on a ManualClock.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Iterator

import pytest

from legnext_core.client import LegnextClient
from legnext_core.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InsufficientCreditsError,
    InvalidInputError,
    LegnextError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    SubmissionOutcomeUnknownError,
)
from legnext_core.models import Balance, Job, JobKind, JobRequest, JobStatus
from legnext_core.sandbox import FaultConfig, ManualClock, SandboxConfig, SandboxServer

KEYS = [f"client-test-key-{n:03d}" for n in range(200)]
NO_VIDEO_KEY = "client-test-no-video"
MAX_RETRIES = 2
#: Long enough that every sandbox job of any kind has finished.
LONG_ENOUGH = 1_000.0
TIMEOUT = 5.0
SHORT_TIMEOUT = 0.25
SLOW_SECONDS = 0.8


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    config = SandboxConfig(
        clock=ManualClock(),
        accepted_keys=frozenset([*KEYS, NO_VIDEO_KEY]),
        video_denied_keys=frozenset({NO_VIDEO_KEY}),
        max_unfinished=6,
        seed=11,
        tick_interval=0.05,
    )
    with SandboxServer(config) as sandbox:
        yield sandbox


_fresh_keys = itertools.count()


@pytest.fixture
def key() -> str:
    return KEYS[next(_fresh_keys)]


@pytest.fixture(autouse=True)
def _clean_sandbox(server: SandboxServer) -> Iterator[None]:
    server.set_faults(FaultConfig())
    server.state.reset_request_counts()
    yield
    server.set_faults(FaultConfig())


class Sleeps(list):
    """An injected sleep that records the delays instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(server: SandboxServer, key: str, sleeps: Sleeps) -> Iterator[LegnextClient]:
    with LegnextClient(key, server.base_url, timeout=TIMEOUT, max_retries=MAX_RETRIES, sleep=sleeps) as c:
        yield c


def _jobs_of(server: SandboxServer, job_ids: set[str] | None = None) -> list[dict]:
    jobs = server.jobs()
    return [j for j in jobs if job_ids is None or j["job_id"] in job_ids]


def _jobs_with_prompt(server: SandboxServer, prompt: str) -> list[dict]:
    return [j for j in server.jobs() if j["prompt"] == prompt]


def _completed_image(client: LegnextClient, server: SandboxServer) -> Job:
    job = client.create_image("a lighthouse at dusk")
    server.advance(LONG_ENOUGH)
    return client.get_job(job.job_id)


def _completed_video(client: LegnextClient, server: SandboxServer, video_type: int = 0) -> Job:
    job = client.create_video("a lighthouse at dusk, waves", video_type)
    server.advance(LONG_ENOUGH)
    return client.get_job(job.job_id)


# ---------------------------------------------------------------------------------------------------
# Every method


def test_create_image_returns_a_pending_job_and_get_job_follows_it_to_completion(client, server):
    job = client.create_image("a lighthouse at dusk")
    assert isinstance(job, Job)
    assert job.task_type == "diffusion" and job.status is JobStatus.PENDING and job.job_id
    assert job.usage_frozen == 80
    done = _completed_image(client, server)
    assert done.status is JobStatus.COMPLETED
    assert done.image_url and len(done.image_urls) == 4
    (record,) = [j for j in server.jobs() if j["job_id"] == job.job_id]
    assert record["kind"] == "image" and record["prompt"] == "a lighthouse at dusk"


def test_animate_extend_and_upscale_send_camel_case_follow_ups(client, server):
    image = _completed_image(client, server)
    animated = client.animate_image(image.job_id, 2, prompt="the sea moves", video_type=1)
    assert animated.task_type == "video_diffusion"
    server.advance(LONG_ENOUGH)
    video = client.get_job(animated.job_id)
    assert video.status is JobStatus.COMPLETED and len(video.video_urls) == 4
    assert video.available_actions["extend"] == [0, 1, 2, 3]

    extended = client.extend_video(video.job_id, 1, prompt="then it rains")
    assert extended.task_type == "extend_video"
    server.advance(LONG_ENOUGH)
    upscaled = client.upscale_video(extended.job_id, 3)
    assert upscaled.task_type == "video_upscale"
    server.advance(LONG_ENOUGH)
    final = client.get_job(upscaled.job_id)
    assert final.status is JobStatus.COMPLETED and len(final.video_urls) == 1

    records = {j["job_id"]: j for j in server.jobs()}
    assert (records[animated.job_id]["kind"], records[animated.job_id]["parent_job_id"]) == (
        "animate",
        image.job_id,
    )
    assert (records[animated.job_id]["parent_index"], records[animated.job_id]["video_type"]) == (2, 1)
    assert records[animated.job_id]["prompt"] == "the sea moves"
    assert (records[extended.job_id]["kind"], records[extended.job_id]["parent_index"]) == ("extend", 1)
    assert records[extended.job_id]["prompt"] == "then it rains"
    assert (records[upscaled.job_id]["kind"], records[upscaled.job_id]["parent_index"]) == ("upscale", 3)
    # Extend and upscale take the parent's resolution: a 720p video costs 720p points.
    assert records[extended.job_id]["video_type"] == 1


def test_create_video_in_text_and_image_url_modes(client, server):
    text = client.create_video("a red kite over hills", video_type=1)
    with_url = client.create_video("https://example.com/kite.png the kite climbs")
    records = {j["job_id"]: j for j in server.jobs()}
    assert (records[text.job_id]["kind"], records[text.job_id]["video_type"]) == ("text_video", 1)
    assert records[with_url.job_id]["kind"] == "image_url_video"
    assert text.usage_frozen == 1536 and with_url.usage_frozen == 480


def test_callback_is_sent_and_reported_back(client, server):
    job = client.create_image("a kite", callback="http://127.0.0.1:9/webhooks/legnext")
    assert job.callback == "http://127.0.0.1:9/webhooks/legnext"
    (record,) = _jobs_of(server, {job.job_id})
    assert record["callback"] == "http://127.0.0.1:9/webhooks/legnext"


def test_submit_dispatches_every_kind_to_its_endpoint(client, server):
    image = _completed_image(client, server)
    video = _completed_video(client, server)
    requests_ = [
        JobRequest(JobKind.TEXT_VIDEO, prompt="a fox", motion="low"),
        JobRequest(JobKind.IMAGE_URL_VIDEO, prompt="a fox runs", image_url="https://example.com/fox.png"),
        JobRequest(JobKind.ANIMATE, parent_job_id=image.job_id, index=1, raw=True),
        JobRequest(JobKind.EXTEND, parent_job_id=video.job_id, index=0),
        JobRequest(JobKind.UPSCALE, parent_job_id=video.job_id, index=2),
        JobRequest(JobKind.IMAGE, prompt="a fox"),
    ]
    made = [client.submit(r) for r in requests_]
    records = {j["job_id"]: j for j in server.jobs()}
    assert [records[job.job_id]["kind"] for job in made] == [r.kind.value for r in requests_]
    assert [records[job.job_id]["prompt"] for job in made] == [r.wire_prompt() for r in requests_]
    assert [job.task_type for job in made] == [r.kind.task_type for r in requests_]


def test_get_balance_reads_the_enveloped_answer(client):
    before = client.get_balance()
    assert isinstance(before, Balance)
    assert before.available_points == 50_000 and before.account_id
    assert before.balance_usd == 50.0 and before.low_balance_alert is False
    assert before.updated_at is not None and before.updated_at.tzinfo is not None


def test_one_client_is_shared_by_many_threads(client, server):
    jobs = [client.create_image(f"kite {n}") for n in range(3)]
    results: list[Job] = []
    failures: list[BaseException] = []

    def poll() -> None:
        try:
            for _ in range(5):
                results.extend(client.get_job(job.job_id) for job in jobs)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=poll) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not failures
    assert len(results) == 8 * 5 * 3
    assert server.request_count("GET", "/api/v1/job/") == 120


# ---------------------------------------------------------------------------------------------------
# Validation happens before anything is sent


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: c.create_video(""), "prompt"),
        (lambda c: c.create_video("  "), "prompt"),
        (lambda c: c.create_video("x" * 8193), "prompt"),
        (lambda c: c.create_video("a cat https://example.com/cat.png"), "prompt"),
        (lambda c: c.create_video("a cat", video_type=2), "video_type"),
        (lambda c: c.create_video("a cat", callback="ftp://example.com/hook"), "callback"),
        (lambda c: c.animate_image("not-a-job-id", 0), "image_job_id"),
        (lambda c: c.animate_image(str(uuid.uuid4()), 4), "image_no"),
        (lambda c: c.animate_image(str(uuid.uuid4()), True), "image_no"),
        (lambda c: c.extend_video("../../account/balance", 0), "job_id"),
        (lambda c: c.extend_video(str(uuid.uuid4()), 0, prompt=""), "prompt"),
        (lambda c: c.upscale_video(str(uuid.uuid4()), -1), "video_no"),
        (lambda c: c.create_image(""), "text"),
        (lambda c: c.get_job("x/../../account/balance"), "job_id"),
        (
            lambda c: c.submit(JobRequest(JobKind.IMAGE_URL_VIDEO, image_url="file:///etc/passwd")),
            "image_url",
        ),
    ],
)
def test_invalid_input_sends_no_request(client, server, call, field):
    with pytest.raises(InvalidInputError) as caught:
        call(client)
    assert caught.value.field == field
    assert server.request_counts() == {}


# ---------------------------------------------------------------------------------------------------
# Error statuses: Legnext's message kept, not retried, key never shown


def _assert_clean(error: LegnextError, key: str) -> None:
    for text in (str(error), repr(error), error.user_message):
        assert key not in text


def test_400_moderation_rejection_keeps_the_message(client, server, key):
    with pytest.raises(BadRequestError) as caught:
        client.create_video("something nsfw")
    assert caught.value.status == 400 and caught.value.message
    assert server.request_count("POST", "/api/v1/video-diffusion") == 1
    _assert_clean(caught.value, key)


def test_400_follow_up_on_an_unfinished_job_names_the_reason(client, server, key):
    pending = client.create_video("a fox")
    with pytest.raises(BadRequestError) as caught:
        client.extend_video(pending.job_id, 0)
    assert "pending" in caught.value.raw_message or "pending" in caught.value.message
    assert server.request_count("POST", "/api/v1/extend-video") == 1


def test_401_wrong_key(server):
    client = LegnextClient("not-an-accepted-key", server.base_url, timeout=TIMEOUT, sleep=Sleeps())
    with pytest.raises(AuthenticationError) as caught:
        client.get_balance()
    assert (caught.value.status, caught.value.code) == (401, 401)
    assert caught.value.message == "Failed to verify api key"
    assert "LEGNEXT_API_KEY" in caught.value.user_message
    assert server.request_count("GET", "/api/account/balance") == 1
    _assert_clean(caught.value, "not-an-accepted-key")


def test_402_insufficient_points(client, server, key):
    server.state.adjust_points(key, -49_900)
    with pytest.raises(InsufficientCreditsError) as caught:
        client.create_video("a fox with no points")
    assert caught.value.status == 402 and "480" in caught.value.raw_message
    assert "Top up" in caught.value.user_message
    assert server.request_count("POST", "/api/v1/video-diffusion") == 1
    assert _jobs_with_prompt(server, "a fox with no points") == []


def test_403_job_shaped_body_keeps_the_message(server):
    client = LegnextClient(NO_VIDEO_KEY, server.base_url, timeout=TIMEOUT, sleep=Sleeps())
    with pytest.raises(PermissionDeniedError) as caught:
        client.create_video("a fox")
    assert caught.value.status == 403 and caught.value.code == 403
    assert "whitelisted" in caught.value.message
    assert caught.value.body["status"] == "failed"
    assert server.request_count("POST", "/api/v1/video-diffusion") == 1
    _assert_clean(caught.value, NO_VIDEO_KEY)


def test_404_unknown_job(client, server):
    with pytest.raises(NotFoundError) as caught:
        client.get_job(str(uuid.uuid4()))
    assert caught.value.status == 404
    assert server.request_count("GET", "/api/v1/job/") == 1


def test_429_too_many_unfinished_jobs_is_retried_then_reported_with_retry_after(client, server, sleeps):
    for n in range(6):
        client.create_image(f"busy {n}")
    server.state.reset_request_counts()
    with pytest.raises(RateLimitError) as caught:
        client.create_image("one too many")
    assert server.request_count("POST", "/api/v1/diffusion") == MAX_RETRIES + 1
    assert len(sleeps) == MAX_RETRIES and all(s >= 1 for s in sleeps)
    assert caught.value.retry_after is not None and caught.value.retry_after >= 1
    assert "Wait" in caught.value.user_message
    assert _jobs_with_prompt(server, "one too many") == []


def test_post_is_retried_on_429_and_creates_the_job_once(server, key):
    first = LegnextClient(key, server.base_url, timeout=TIMEOUT, sleep=Sleeps())
    for n in range(6):
        first.create_image(f"busy {n}")
    server.state.reset_request_counts()
    waited: list[float] = []

    def wait(seconds: float) -> None:
        # The sandbox's jobs finish while the client waits, freeing a slot.
        waited.append(seconds)
        server.advance(LONG_ENOUGH)

    client = LegnextClient(key, server.base_url, timeout=TIMEOUT, max_retries=MAX_RETRIES, sleep=wait)
    job = client.create_image("made after a wait")
    assert job.job_id and len(waited) == 1
    assert server.request_count("POST", "/api/v1/diffusion") == 2
    assert len(_jobs_with_prompt(server, "made after a wait")) == 1


# ---------------------------------------------------------------------------------------------------
# Faults on POST: retried only when nothing can have been created


@pytest.mark.parametrize(
    ("fault", "overrides", "created"),
    [
        ("500", {"create_on_500": 1.0}, 1),
        ("500", {"create_on_500": 0.0}, 0),
        ("502", {}, 0),
        ("503", {}, 0),
        ("drop", {}, 0),
        ("lost_answer", {}, 1),
        ("slow", {"slow_seconds": SLOW_SECONDS}, 1),
    ],
)
def test_post_is_sent_once_when_a_job_may_exist(server, key, sleeps, fault, overrides, created):
    client = LegnextClient(key, server.base_url, timeout=SHORT_TIMEOUT, max_retries=MAX_RETRIES, sleep=sleeps)
    server.set_faults(FaultConfig.only(fault, **overrides))
    prompt = f"fault {fault} {overrides}"
    with pytest.raises(SubmissionOutcomeUnknownError) as caught:
        client.create_image(prompt)
    assert server.request_count("POST", "/api/v1/diffusion") == 1
    assert sleeps == []
    assert len(_jobs_with_prompt(server, prompt)) == created
    assert "check History" in caught.value.user_message
    _assert_clean(caught.value, key)


def test_post_is_not_retried_after_read_timeout(server, key, sleeps):
    client = LegnextClient(key, server.base_url, timeout=SHORT_TIMEOUT, sleep=sleeps)
    server.set_faults(FaultConfig.only("slow", slow_seconds=SLOW_SECONDS))
    with pytest.raises(SubmissionOutcomeUnknownError) as caught:
        client.create_video("slow fox")
    assert caught.value.reason == f"no answer within {SHORT_TIMEOUT:g} s"
    assert caught.value.status is None
    assert server.request_count("POST", "/api/v1/video-diffusion") == 1


def test_post_outcome_unknown_on_500_carries_the_status(server, key, sleeps):
    client = LegnextClient(key, server.base_url, timeout=TIMEOUT, sleep=sleeps)
    server.set_faults(FaultConfig.only("500"))
    with pytest.raises(SubmissionOutcomeUnknownError) as caught:
        client.upscale_video(str(uuid.uuid4()), 0)
    assert (caught.value.status, caught.value.reason) == (500, "HTTP 500")
    assert server.request_count("POST", "/api/v1/video-upscale") == 1


def test_post_rate_limited_by_a_fault_honours_retry_after(server, key, sleeps):
    client = LegnextClient(key, server.base_url, timeout=TIMEOUT, max_retries=MAX_RETRIES, sleep=sleeps)
    server.set_faults(FaultConfig.only("429", retry_after=3))
    with pytest.raises(RateLimitError) as caught:
        client.create_image("rate limited")
    assert server.request_count("POST", "/api/v1/diffusion") == MAX_RETRIES + 1
    assert sleeps == [3.0] * MAX_RETRIES
    assert caught.value.retry_after == 3.0
    assert _jobs_with_prompt(server, "rate limited") == []


def test_post_connect_error_is_retried_and_reported_as_nothing_submitted(sleeps):
    # Port 9 on loopback: nothing listens, the connection is refused, nothing can have been created.
    client = LegnextClient("k", "http://127.0.0.1:9/api", timeout=2, max_retries=MAX_RETRIES, sleep=sleeps)
    with pytest.raises(APIConnectionError) as caught:
        client.create_image("a kite")
    assert len(sleeps) == MAX_RETRIES
    assert "nothing was sent" in caught.value.user_message


# ---------------------------------------------------------------------------------------------------
# Faults on GET: retried up to the limit


@pytest.mark.parametrize(
    ("fault", "overrides", "error"),
    [
        ("500", {}, ServerError),
        ("502", {}, ServerError),
        ("503", {}, ServerError),
        ("429", {"retry_after": 1}, RateLimitError),
        ("drop", {}, APIConnectionError),
        ("slow", {"slow_seconds": SLOW_SECONDS}, APITimeoutError),
    ],
)
def test_get_is_retried_up_to_the_limit(server, key, sleeps, fault, overrides, error):
    client = LegnextClient(key, server.base_url, timeout=SHORT_TIMEOUT, max_retries=MAX_RETRIES, sleep=sleeps)
    job = client.create_image("to poll")
    server.state.reset_request_counts()
    server.set_faults(FaultConfig.only(fault, **overrides))
    with pytest.raises(error) as caught:
        client.get_job(job.job_id)
    assert server.request_count("GET", "/api/v1/job/") == MAX_RETRIES + 1
    assert len(sleeps) == MAX_RETRIES
    _assert_clean(caught.value, key)


def test_get_recovers_when_the_fault_passes(server, key, sleeps):
    job = LegnextClient(key, server.base_url, timeout=TIMEOUT).create_image("to poll")
    server.state.reset_request_counts()
    server.set_faults(FaultConfig.only("503"))

    def wait(seconds: float) -> None:
        # The outage ends while the client waits.
        sleeps.append(seconds)
        server.set_faults(FaultConfig())

    client = LegnextClient(key, server.base_url, timeout=TIMEOUT, max_retries=MAX_RETRIES, sleep=wait)
    assert client.get_job(job.job_id).job_id == job.job_id
    assert server.request_count("GET", "/api/v1/job/") == 2
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 0.5


def test_html_502_page_becomes_a_server_error_with_its_text(client, server):
    server.set_faults(FaultConfig.only("502"))
    with pytest.raises(ServerError) as caught:
        client.get_balance()
    assert caught.value.status == 502 and caught.value.body is None
    assert "non-JSON" in caught.value.message and caught.value.raw_message
