"""What a job costs, from Legnext's first-party price table (the API notes, "Added 2026-11").

Points, 1 point = US$0.001, in Fast mode:

=============  =====  =====
job            480p   720p
=============  =====  =====
video          480    1536
extend         480    1536
video upscale  480    480
image          80     80
=============  =====  =====

Turbo mode costs double. Those figures are published. Two things are our inference and are said to be
an estimate wherever they are shown: that a smaller batch (``--bs 1|2``, Midjourney's option, whose
pass-through Legnext does not document) costs proportionally less, and that an extension costs a video
of its parent's resolution when that resolution is not known.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from legnext_core.models import JobRequest

POINTS_IMAGE = 80
#: ``videoType`` -> points, Fast mode; an extension costs the same as a video of its resolution.
POINTS_VIDEO = {0: 480, 1: 1536}
POINTS_EXTEND = {0: 480, 1: 1536}
POINTS_UPSCALE = 480
#: Turbo mode costs this many times Fast mode.
TURBO_FACTOR = 2
#: Legnext's default batch: four videos per job.
FULL_BATCH = 4


def base_points(request: JobRequest, parent_video_type: int | None = None) -> int:
    """Fast-mode points for a full batch of the request's kind and resolution."""
    from legnext_core.models import JobKind

    kind = request.kind
    if kind is JobKind.IMAGE:
        return POINTS_IMAGE
    if kind is JobKind.UPSCALE:
        return POINTS_UPSCALE
    if kind is JobKind.EXTEND:
        return POINTS_EXTEND.get(parent_video_type or 0, POINTS_EXTEND[0])
    return POINTS_VIDEO.get(request.video_type, POINTS_VIDEO[0])


def estimate_points(request: JobRequest, parent_video_type: int | None = None) -> int:
    """Points the job will reserve: the table's price, doubled for turbo, scaled by the batch size."""
    points = base_points(request, parent_video_type)
    if request.speed == "turbo":
        points *= TURBO_FACTOR
    batch = request.batch_size or FULL_BATCH
    if batch != FULL_BATCH and request.kind.makes_video:
        points = points * batch // FULL_BATCH
    return points


def estimate_note(request: JobRequest, parent_video_type: int | None = None) -> str | None:
    """Why the figure is an estimate rather than a published price, or None when it is published."""
    from legnext_core.models import JobKind

    reasons = []
    if request.kind.makes_video and (request.batch_size or FULL_BATCH) != FULL_BATCH:
        reasons.append(f"a batch of {request.batch_size} is assumed to cost {request.batch_size}/4 of four")
    if request.kind is JobKind.EXTEND and parent_video_type is None:
        reasons.append("priced as a 480p extension because the video's resolution is not known")
    if not reasons:
        return None
    return "an estimate: " + "; ".join(reasons)
