"""Small helpers the page tests share."""

from __future__ import annotations

from legnext_core.models import JobKind, JobRequest
from legnext_core.submit import submit_job

#: The element kinds whose text a person reads on a page.
TEXT_KINDS = ("markdown", "caption", "success", "error", "warning", "info")


def page_text(at) -> str:
    """The readable text an AppTest run drew, one element per line."""
    return "\n".join(str(element.value) for kind in TEXT_KINDS for element in getattr(at, kind))


def finish_jobs(current, sandbox) -> None:
    """Move the sandbox clock past every job's end and record what Legnext now says (as a poll would)."""
    sandbox.advance(3600)
    for record in current.store.active():
        current.store.apply_job(current.client.get_job(record.job_id))


def finished_video(current, sandbox, prompt: str = "A fox in the snow", **fields) -> str:
    """Submit a text-to-video job through ``current`` and let it finish; its job id."""
    result = submit_job(current, JobRequest(kind=JobKind.TEXT_VIDEO, prompt=prompt, **fields))
    finish_jobs(current, sandbox)
    return result.job_id


def unknown_outcome(current, prompt: str) -> str:
    """A text-to-video submission whose answer was lost: its record's local id."""
    request = JobRequest(kind=JobKind.TEXT_VIDEO, prompt=prompt)
    intent = current.store.add_intent(
        request, api_mode="sandbox", api_base_url=current.settings.base_url, estimated_points=480
    )
    current.store.record_unknown(intent.local_id, "The connection dropped after the request was sent.")
    return intent.local_id
