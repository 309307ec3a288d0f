"""Extend: add about 4 s to one of a finished video's results (at most four times per chain, 20 s)."""

from __future__ import annotations

import streamlit as st

from legnext_core.models import (
    EXTEND_MODES,
    MAX_CHAIN_SECONDS,
    MAX_EXTENSIONS,
    JobKind,
    JobRequest,
    estimate_points,
)
from legnext_core.pricing import estimate_note
from legnext_core.submit import submit_job
from ui import feedback, forms, pickers, video_options
from ui.access import require_spending
from ui.context import studio
from ui.controls import pick_one
from ui.format import label_of

FORM = "extend"
RESULT = "extend:result"
EXTEND_MODE_LABELS = {"auto": "Auto: keep the prompt", "manual": "Manual: write a new one"}

current = studio()
# A viewer, or a live server anyone could reach with nobody signing in, gets the reason, not the form.
who = require_spending(current)
forms.take_over(FORM)  # "run again with the same settings" fills this form
st.title("Extend a video", anchor=False)
st.caption(
    "Adds about 4 seconds to one of a finished video's four results. "
    f"One video can be extended at most {MAX_EXTENSIONS} times in a row ({MAX_CHAIN_SECONDS} s in all)."
)

record, index = pickers.choose_video(current, form=FORM, action="extend", label="Video to extend")

chain = current.store.extension_chain(record.legnext_id)
total_seconds = chain.seconds + chain.seconds_left
left = chain.extensions_left
st.markdown(
    f":material/timeline: **{chain.seconds} s of {total_seconds} s**, "
    f"{left} extension{'' if left == 1 else 's'} left"
    + (f" · this video is extension {chain.extensions} of its chain" if chain.extensions else "")
)
offered = (record.available_actions or {}).get("extend")
chain_full = left <= 0 or offered == []
result = st.session_state.get(RESULT)

extend_mode = pick_one(
    "Prompt",
    list(EXTEND_MODES),
    default="auto",
    key=f"{FORM}:mode",
    format_func=label_of(EXTEND_MODE_LABELS),
    help="Auto keeps the video's own prompt and settings; manual sends a new prompt and options.",
)
feedback.field_error(result, "extend_mode")
option_fields: dict = {}
prompt = ""
if extend_mode == "manual":
    prompt = st.text_area(
        "Prompt",
        key=f"{FORM}:prompt",
        placeholder="What happens next, e.g. the camera pulls back to reveal the city",
    )
    feedback.field_error(result, "prompt")
    options = forms.video_options(FORM, resolution=False)
    feedback.field_error(result, "motion", "raw", *video_options.MARKED_BELOW)
    option_fields = options.request_fields()
    callback = options.callback
else:
    st.caption(
        ":material/auto_mode: Legnext continues the motion with the video's own prompt; nothing else is sent."
    )
    callback = forms.callback_override(FORM)
option_fields.pop("video_type", None)
option_fields["callback"] = callback
request = JobRequest(
    kind=JobKind.EXTEND,
    prompt=prompt.strip() or None,
    parent_job_id=record.job_id,
    index=index,
    extend_mode=extend_mode,
    **option_fields,
)
forms.cost_line(
    estimate_points(request, record.video_type),
    note=estimate_note(request, record.video_type),
)
feedback.field_error(result, "callback")

if chain_full:
    st.error(
        f"**This video cannot be extended again.** Its chain already has {MAX_EXTENSIONS} extensions "
        f"({MAX_CHAIN_SECONDS} s), Legnext's limit. Upscale it instead, or extend another video.",
        icon=":material/block:",
    )
    st.page_link(
        "pages/upscale.py",
        label="Upscale this video",
        icon=":material/high_quality:",
        query_params={"job": record.legnext_id, "variant": str(index or 0)},
    )

pending = forms.submit_button(
    FORM,
    "Extend video",
    disabled=chain_full or index is None,
    help="The extension limit is reached." if chain_full else None,
    icon=":material/more_time:",
)
feedback.show_result(
    result,
    current,
    result_key=RESULT,
    shown_fields=("prompt", "callback", "extend_mode", "motion", "raw", *video_options.FIELDS),
)

if pending:
    with st.spinner("Submitting to Legnext…"):
        if forms.take_pending(FORM) and not chain_full:
            st.session_state[RESULT] = submit_job(current, request, person=who)
    st.rerun()
