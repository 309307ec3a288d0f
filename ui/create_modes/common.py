"""What every Create mode draws the same way: prompt, options, cost and the submit button."""

from __future__ import annotations

from typing import Any

import streamlit as st

from legnext_core.access import Person
from legnext_core.models import JobKind, JobRequest, estimate_points
from legnext_core.pricing import estimate_note
from legnext_core.studio import Studio
from legnext_core.submit import submit_job
from ui import feedback, forms, video_options
from ui.create_modes.keys import result_key


def send(current: Studio, who: Person, form: str, request: JobRequest) -> None:
    """Send the pending submission of ``form`` once, keep its result, and redraw the page."""
    with st.spinner("Submitting to Legnext…"):
        if forms.take_pending(form):
            st.session_state[result_key(form)] = submit_job(current, request, person=who)
    st.rerun()


def submit_area(
    current: Studio,
    who: Person,
    mode: str,
    request: JobRequest,
    *,
    label: str,
    shown: tuple[str, ...],
    ready: bool = True,
    not_ready: str | None = None,
) -> None:
    """``not_ready``: said under the greyed-out button while ``ready`` is false (what makes it live)."""
    forms.cost_line(estimate_points(request), note=estimate_note(request))
    pending = forms.submit_button(mode, label, disabled=not ready, icon=":material/movie:")
    if not ready and not_ready:
        st.caption(f":material/info: {not_ready}")
    feedback.show_result(
        st.session_state.get(result_key(mode)),
        current,
        result_key=result_key(mode),
        shown_fields=shown + video_options.FIELDS,
    )
    if pending:
        send(current, who, mode, request)


def prompt_area(mode: str, *, label: str, placeholder: str, help: str | None = None) -> str:
    value = st.text_area(label, key=f"create:{mode}:prompt", placeholder=placeholder, help=help, height=110)
    feedback.field_error(st.session_state.get(result_key(mode)), "prompt")
    return value.strip()


def options_area(mode: str) -> forms.VideoOptions:
    options = forms.video_options(f"create:{mode}")
    result = st.session_state.get(result_key(mode))
    feedback.field_error(result, "callback", "motion", "video_type", "raw", *video_options.MARKED_BELOW)
    return options


def request_area(
    current: Studio,
    who: Person,
    mode: str,
    kind: JobKind,
    *,
    prompt_label: str,
    placeholder: str,
    prompt_help: str | None = None,
    label: str,
    shown: tuple[str, ...],
    ready: bool = True,
    not_ready: str | None = None,
    **fields: Any,
) -> None:
    """The rest of a one-job mode: its prompt, the video options, the cost and the submit button, for a
    request of ``kind`` with the mode's own ``fields``."""
    prompt = prompt_area(mode, label=prompt_label, placeholder=placeholder, help=prompt_help)
    options = options_area(mode)
    request = JobRequest(kind=kind, prompt=prompt or None, **fields, **options.request_fields())
    submit_area(current, who, mode, request, label=label, shown=shown, ready=ready, not_ready=not_ready)
