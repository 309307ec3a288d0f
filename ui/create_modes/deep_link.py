"""Links into the Create page: ``?mode=``, ``?image_job=&image=`` and ``?rerun=`` (run again)."""

from __future__ import annotations

import streamlit as st

from legnext_core.models import JobKind, JobRequest, resolution_label
from legnext_core.studio import Studio
from legnext_core.submit import request_from_record
from ui import forms, pickers, video_options
from ui.create_modes.keys import KIND_MODES, MODE_KEY, MODES, NEXT_IMAGE_JOB, SANDBOX_IMAGE
from ui.format import code_span


def _fill_from_request(current: Studio, mode: str, request: JobRequest) -> None:
    """Put a past request's settings into the form of ``mode`` ("run again with the same settings")."""
    state = st.session_state
    prefix = f"create:{mode}"
    state[f"{prefix}:prompt"] = request.prompt or ""
    state[f"{prefix}:resolution"] = resolution_label(request.video_type or 0)
    state[f"{prefix}:motion"] = request.motion.capitalize() if request.motion else "Default"
    state[f"{prefix}:raw"] = bool(request.raw)
    own_webhook = current.settings.webhook_url
    state[f"{prefix}:callback"] = "" if request.callback in (None, own_webhook) else request.callback
    video_options.fill(
        prefix, batch_size=request.batch_size, speed=request.speed, loop=request.loop, end_url=request.end_url
    )
    if mode == "image_url":
        state[f"{prefix}:url"] = request.image_url or ""


def apply_deep_link(current: Studio) -> int | None:
    """Apply ``?mode=animate&image_job=..&image=..`` or ``?rerun=<local_id>`` once; the linked image index."""
    params = st.query_params
    link = tuple(sorted((name, params.get(name)) for name in ("mode", "image_job", "image", "rerun")))
    state = st.session_state
    first_time = state.get("create:applied_link") != link
    state["create:applied_link"] = link
    linked_image = pickers.parse_index(params.get("image"))
    if not first_time:
        return linked_image
    if params.get("mode") in MODES:
        state[MODE_KEY] = params.get("mode")
    if params.get("image_job"):
        state[MODE_KEY] = "animate"
        state[NEXT_IMAGE_JOB] = params.get("image_job")
    rerun_id = params.get("rerun")
    if rerun_id:
        record = current.store.get(rerun_id) or current.store.by_job_id(rerun_id)
        if record is None:
            st.warning(
                f"There is no job {code_span(rerun_id)} in the log to run again.", icon=":material/warning:"
            )
            return linked_image
        request = request_from_record(record)
        if request.kind in (JobKind.EXTEND, JobKind.UPSCALE):
            target = "pages/extend.py" if request.kind is JobKind.EXTEND else "pages/upscale.py"
            form = "extend" if request.kind is JobKind.EXTEND else "upscale"
            own_webhook = current.settings.webhook_url
            fields = {"callback": "" if request.callback in (None, own_webhook) else request.callback}
            if request.kind is JobKind.EXTEND:
                # An extension sent with a prompt was a manual one; without, Legnext kept the video's own.
                fields["mode"] = "manual" if request.prompt else "auto"
                fields["prompt"] = request.prompt or ""
            forms.hand_over(form, **fields)
            st.switch_page(
                target, query_params={"job": request.parent_job_id or "", "variant": str(request.index or 0)}
            )
        mode = KIND_MODES.get(request.kind.value)
        if mode is None:  # an image job: its prompt goes to the sandbox image form
            state[MODE_KEY] = "animate"
            state[f"{SANDBOX_IMAGE}:prompt"] = request.prompt or ""
            return linked_image
        state[MODE_KEY] = mode
        _fill_from_request(current, mode, request)
        if mode == "animate":
            state[NEXT_IMAGE_JOB] = request.parent_job_id
            return request.index
        st.toast("The form is filled with that job's settings.", icon=":material/replay:")
    return linked_image
