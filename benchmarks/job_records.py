"""Realistic job records for the benchmarks: what a team's job log holds after two years of use.

Each record is about 2.2 KB: a prompt of 50-600 characters, four signed URLs of ~250 characters on
finished jobs, and the fields sign-in and webhooks add (who submitted, the callback token). The status
mix is that of a working log: mostly completed, a few failed, some still running or never sent.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from legnext_core.models import JobKind, JobRequest
from legnext_core.records import JobRecord
from legnext_core.store import JobStore

_PROSE = (
    "a lighthouse on a cliff at dusk waves rolling slow dolly shot volumetric light neon city rain "
    "reflections cinematic drone over forest fog morning golden hour portrait close up film grain "
    "anamorphic lens flare tracking shot of a red fox running through deep snow under a violet sky"
)
WORDS = tuple(_PROSE.split(" "))
STATUSES = (
    ["completed"] * 70
    + ["failed"] * 8
    + ["processing"] * 6
    + ["pending"] * 4
    + ["staged"] * 2
    + ["rejected"] * 4
    + ["unknown"] * 2
    + ["queued"] * 2
    + ["lost"] * 2
)
PEOPLE = tuple(f"{name}@studio.example.com" for name in ("ana", "bo", "chen", "dara", "eli", "fumi", "gus"))
#: Where the records say they were sent (a live API, so no sandbox shortcut applies).
API_BASE_URL = "https://api.legnext.ai/api"


def prompt(rng: random.Random) -> str:
    """Words from a video prompt vocabulary, 50 to 600 characters."""
    target = rng.randint(50, 600)
    words = []
    length = 0
    while length < target:
        word = rng.choice(WORDS)
        words.append(word)
        length += len(word) + 1
    return " ".join(words)[:target].strip()


def signed_url(rng: random.Random, job_id: str, index: int) -> str:
    """A CloudFront-style signed URL of about 250 characters."""
    signature = f"{rng.getrandbits(480):0120x}"
    return (
        f"https://cdn.legnext.ai/video/{job_id}/{index}.mp4?Expires=1795000000"
        f"&Signature={signature}&Key-Pair-Id=K{rng.getrandbits(40):010X}"
    )


def make_record(rng: random.Random, now: float) -> dict[str, Any]:
    """A record as the store holds it after a job's life (submitted up to 700 days before ``now``)."""
    status = rng.choice(STATUSES)
    job_id = str(uuid.UUID(int=rng.getrandbits(128)))
    submitted = now - rng.uniform(0, 700 * 86400)
    text = prompt(rng)
    record: dict[str, Any] = {
        "local_id": uuid.UUID(int=rng.getrandbits(128)).hex,
        "kind": rng.choice(["text_video"] * 5 + ["extend", "upscale", "animate", "image_url_video"]),
        "api_mode": "live",
        "api_base_url": API_BASE_URL,
        "prompt": text,
        "wire_prompt": text + " --motion high" if rng.random() < 0.3 else None,
        "video_type": rng.choice([0, 0, 1]),
        "status": status,
        "estimated_points": 480,
        "submitted_at": submitted,
        "updated_at": submitted + 200,
        "callback": "https://studio.example.com/webhooks/legnext",
        "submitted_by": rng.choice(PEOPLE),
        "callback_token": uuid.UUID(int=rng.getrandbits(128)).hex,
        "batch_size": rng.choice([1, 1, 2, 4]),
        "speed": rng.choice(["fast", "turbo"]),
    }
    record = {key: value for key, value in record.items() if value is not None}
    if status in ("queued", "rejected", "unknown"):
        if status == "rejected":
            record.update(error_code=400, error_message="Invalid request parameters")
        return record
    record.update(job_id=job_id, created_at=submitted + 1, credits_frozen=480, poll_count=rng.randint(3, 20))
    record.update(last_poll_at=submitted + 190, next_poll_at=submitted + 200)
    if status in ("processing", "completed", "failed", "lost"):
        record.update(started_at=submitted + 5, progress=rng.randint(0, 99), last_log="Generating 55%")
    if status in ("completed", "failed"):
        record.update(ended_at=submitted + rng.uniform(120, 300))
    if status == "completed":
        record.update(
            progress=100,
            credits_consumed=480,
            video_urls=[signed_url(rng, job_id, i) for i in range(4)],
            seed=str(rng.getrandbits(32)),
            available_actions={"extend": [0, 1, 2, 3], "upscale": [0, 1, 2, 3]},
            media_paths=[f"data/media/{job_id}/{i}.mp4" for i in range(4)],
            thumbnails=[f"data/media/{job_id}/{i}.poster.jpg" for i in range(4)],
        )
    if status == "failed":
        record.update(error_code=500, error_message="Generation failed", credits_consumed=0)
    return record


def intent_request(text: str) -> JobRequest:
    """A text-to-video request with prompt ``text``."""
    return JobRequest(kind=JobKind.TEXT_VIDEO, prompt=text)


def add_intent(store: JobStore, request: JobRequest) -> JobRecord:
    """Record an intent as the dashboard does before sending it (live API, 480 points)."""
    return store.add_intent(request, api_mode="live", api_base_url=API_BASE_URL, estimated_points=480)


def poll_record(record: dict[str, Any], now: float) -> dict[str, Any]:
    """What applying a poll snapshot does to a stored record: progress, poll time and count."""
    return {
        **record,
        "progress": min(99, (record.get("progress") or 0) + 1),
        "last_poll_at": now,
        "poll_count": (record.get("poll_count") or 0) + 1,
        "updated_at": now,
    }
