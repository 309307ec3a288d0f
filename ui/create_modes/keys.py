"""Session-state keys the Create page's modes share."""

from __future__ import annotations

from legnext_core.models import JobKind

MODES = {
    "text": ":material/notes: Text to video",
    "image_url": ":material/image: Image URL to video",
    "animate": ":material/animation: Animate an image job",
    "batch": ":material/format_list_numbered: Batch",
}
MODE_KEY = "create:mode"
KIND_MODES = {
    JobKind.TEXT_VIDEO.value: "text",
    JobKind.IMAGE_URL_VIDEO.value: "image_url",
    JobKind.ANIMATE.value: "animate",
}
#: Animate mode keeps the image job id here; a chosen or freshly made job is handed over via NEXT_IMAGE_JOB,
#: because a widget's value cannot be set once the widget is drawn in a run.
IMAGE_JOB_KEY = "create:animate:job_id"
NEXT_IMAGE_JOB = "create:animate:next_job_id"
#: The last image URL checked and what the check found: (url, ImageCheck).
IMAGE_CHECK_KEY = "create:image_url:check"
SANDBOX_IMAGE = "create:sandbox_image"
#: Set once a batch is sent: the next run empties the batch form (a drawn widget cannot be changed).
BATCH_SENT = "create:batch:sent"
#: The result rows of every batch sent in this session, newest first.
BATCH_RESULTS = "create:batch:results"


def result_key(mode: str) -> str:
    return f"create:{mode}:result"
