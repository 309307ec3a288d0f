"""Upscale: a higher-resolution copy of one of a finished video's results."""

from __future__ import annotations

import streamlit as st

from legnext_core.models import JobKind, JobRequest, estimate_points
from legnext_core.schedule import expected_duration
from legnext_core.submit import submit_job
from ui import feedback, forms, pickers
from ui.access import require_spending
from ui.context import studio

FORM = "upscale"
RESULT = "upscale:result"

current = studio()
# A viewer, or a live server anyone could reach with nobody signing in, gets the reason, not the form.
who = require_spending(current)
forms.take_over(FORM)  # "run again with the same settings" fills this form
st.title("Upscale a video", anchor=False)
# How long an upscale takes is the schedule's fact (Legnext's documented durations, scaled for the sandbox).
live = expected_duration(JobKind.UPSCALE.value)
minutes = f"{live.low / 60:.0f}-{live.high / 60:.0f} minutes"
if current.settings.is_sandbox:
    here = expected_duration(JobKind.UPSCALE.value, current.settings.sandbox_duration_scale)
    low, high = max(1, round(here.low)), max(1, round(here.high))
    timing = f"On Legnext an upscale takes {minutes}; this sandbox takes about {low}-{high} s."
else:
    timing = f"An upscale takes {minutes}; it appears in History when it is done."
st.caption("Makes a higher-resolution copy of one of a finished video's four results.")

record, index = pickers.choose_video(
    current,
    form=FORM,
    action="upscale",
    label="Video to upscale",
    # An upscaled video offers no further upscale.
    usable=lambda record: (record.available_actions or {}).get("upscale", [0]) != [],
)
result = st.session_state.get(RESULT)

callback = forms.callback_override(FORM)
feedback.field_error(result, "callback")
request = JobRequest(kind=JobKind.UPSCALE, parent_job_id=record.job_id, index=index, callback=callback)
st.markdown(f":material/schedule: {timing}")
st.caption(
    ":material/info: An upscale takes no prompt, so Midjourney's options (speed, batch size, loop, end "
    "frame) cannot travel with it; Legnext runs it in Fast mode."
)
forms.cost_line(estimate_points(request))

pending = forms.submit_button(FORM, "Upscale video", disabled=index is None, icon=":material/high_quality:")
feedback.show_result(result, current, result_key=RESULT, shown_fields=("callback",))

if pending:
    with st.spinner("Submitting to Legnext…"):
        if forms.take_pending(FORM):
            st.session_state[RESULT] = submit_job(current, request, person=who)
    st.rerun()
