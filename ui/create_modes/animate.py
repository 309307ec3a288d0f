"""Animate one of the four images of an image job (and, in the sandbox, make such a job)."""

from __future__ import annotations

import streamlit as st

from legnext_core.access import Person
from legnext_core.errors import InvalidInputError, LegnextError
from legnext_core.history import KIND_LABELS
from legnext_core.models import JobKind, JobRequest
from legnext_core.studio import Studio
from legnext_core.submit import submit_job
from ui import feedback, forms, pickers
from ui.create_modes.common import request_area
from ui.create_modes.keys import IMAGE_JOB_KEY, NEXT_IMAGE_JOB, SANDBOX_IMAGE, result_key
from ui.format import code_span

#: Under the greyed-out button until a finished image job is given: what makes it live.
NO_IMAGE_YET = "Give a finished image job above (its id, or pick one) to choose the image to animate."


@st.fragment(run_every=1.5)
def _image_job_progress(current: Studio, job_id: str) -> None:
    """Progress of an image job that is not finished yet (reads the log only; the tracker polls)."""
    record = current.store.by_job_id(job_id)
    if record is None:
        return
    status = record.status
    if status == "completed" or status in ("failed", "lost", "rejected"):
        st.rerun(scope="app")
    progress = record.progress
    st.progress(
        (progress or 0) / 100,
        text=f":material/hourglass_top: Image job {code_span(job_id)} is {status}"
        + (f" ({progress}%)" if progress is not None else "")
        + ". Its four images appear here when it is done.",
    )


def _sandbox_image_maker(current: Studio, who: Person, *, expanded: bool) -> None:
    """Sandbox only: make an image job to animate, so this mode can be shown without a real one."""
    with st.expander(
        "No image job at hand? Make one in the sandbox", icon=":material/science:", expanded=expanded
    ):
        st.caption("The sandbox makes an image job (four images) in a few seconds, free of charge.")
        prompt = st.text_input(
            "Image prompt", key=f"{SANDBOX_IMAGE}:prompt", placeholder="A lighthouse on a cliff at dusk"
        ).strip()
        result = st.session_state.get(result_key(SANDBOX_IMAGE))
        feedback.field_error(result, "prompt")
        pending = forms.submit_button(
            SANDBOX_IMAGE, "Make a sandbox image job", icon=":material/add_photo_alternate:"
        )
        if result is not None and result.outcome != "accepted":
            feedback.show_result(
                result, current, result_key=result_key(SANDBOX_IMAGE), shown_fields=("prompt",)
            )
    if pending:
        with st.spinner("Submitting to the sandbox…"):
            if forms.take_pending(SANDBOX_IMAGE):
                image = JobRequest(kind=JobKind.IMAGE, prompt=prompt or None)
                made = submit_job(current, image, person=who)
                st.session_state[result_key(SANDBOX_IMAGE)] = made
                if made.job_id:
                    st.session_state[NEXT_IMAGE_JOB] = made.job_id
        st.rerun()


def _choose_recent_image(key: str) -> None:
    st.session_state[NEXT_IMAGE_JOB] = st.session_state.get(key)


def animate_mode(current: Studio, who: Person, linked_image: int | None) -> None:
    state = st.session_state
    if NEXT_IMAGE_JOB in state:
        state[IMAGE_JOB_KEY] = state.pop(NEXT_IMAGE_JOB) or ""
    result = state.get(result_key("animate"))
    left, right = st.columns(2, vertical_alignment="bottom")
    job_id = left.text_input(
        "Image job id",
        key=IMAGE_JOB_KEY,
        placeholder="3fa85f64-5717-4562-b3fc-2c963f66afa6",
        help="A completed Midjourney image job (made here or elsewhere with the same key).",
    ).strip()
    recent = pickers.completed_jobs(current, [JobKind.IMAGE])
    if recent:
        by_id = {record.job_id: record for record in recent}
        right.selectbox(
            "…or pick a finished image job",
            list(by_id),
            index=None,
            key="create:animate:recent",
            format_func=lambda jid: pickers.job_label(by_id[jid]),
            placeholder="Recent image jobs",
            on_change=_choose_recent_image,
            args=("create:animate:recent",),
        )
    feedback.field_error(result, "parent_job_id")
    if current.settings.is_sandbox:
        _sandbox_image_maker(current, who, expanded=not job_id)
    record = None
    if job_id:
        try:
            record, _ = current.track_job(job_id, field="parent_job_id")
        except InvalidInputError as exc:
            st.error(exc.message, icon=":material/edit:")
        except LegnextError as exc:
            feedback.show_error(exc, current)
    index = None
    if record is not None:
        if record.kind != JobKind.IMAGE.value:
            kind = KIND_LABELS.get(record.kind or "", "job").lower()
            st.error(
                f"Job {code_span(job_id)} is a {kind} job, not an image job. Animate needs the four "
                "images of an image job; to lengthen a video, use Extend.",
                icon=":material/block:",
            )
            record = None
        elif record.status == "completed":
            index = pickers.pick_variant(record, key="create:animate", preselect=linked_image)
            feedback.field_error(result, "index")
        elif record.status in ("failed", "lost", "rejected"):
            st.error(
                f"Image job {code_span(job_id)} {record.status}: "
                + (code_span(record.error_message) if record.error_message else "it has no images")
                + ". Choose another image job.",
                icon=":material/error:",
            )
            record = None
        else:
            with st.container():  # a live part in a holder of its own (ui/live.py)
                _image_job_progress(current, job_id)
            record = None
    request_area(
        current,
        who,
        "animate",
        JobKind.ANIMATE,
        prompt_label="Prompt (optional)",
        placeholder="How it should move, e.g. slow zoom, hair in the wind",
        label="Animate image",
        shown=("prompt", "parent_job_id", "index", "callback"),
        ready=record is not None and index is not None,
        not_ready=NO_IMAGE_YET,
        parent_job_id=job_id or None,
        index=index,
    )
