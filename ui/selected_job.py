"""The summary of the job selected in the History table, with the way into its detail view."""

from __future__ import annotations

import streamlit as st

from legnext_core import history
from legnext_core.history import KIND_LABELS
from legnext_core.records import JobRecord
from legnext_core.studio import Studio
from ui.format import code_span
from ui.job_status import STATUS_ICONS, status_guidance, status_label
from ui.lineage import job_link_params


def show_selected(studio: Studio, record: JobRecord) -> None:
    """A compact summary of the selected job with the way into its detail view."""
    with st.container(border=True):
        title, action = st.columns([4, 1], vertical_alignment="center")
        status = record.status or "?"
        kind = KIND_LABELS.get(record.kind or "", record.kind)
        job_id = record.job_id
        title.markdown(
            f"{STATUS_ICONS.get(status, '')} **{kind}**"
            f" · {status_label(status).lower()} · {code_span(job_id) if job_id else 'no job id yet'}"
        )
        with action:
            st.page_link(
                "pages/job.py",
                label="Open details",
                icon=":material/open_in_new:",
                query_params=job_link_params(record),
            )
        if record.prompt:
            # st.text: a prompt is shown as typed, never as Markdown.
            st.text(history.shorten(record.prompt, 300))
        guidance = status_guidance(studio, record)
        if guidance:
            st.caption(guidance)
        if record.error_message:
            st.caption(f":material/error: {code_span(record.error_message)}")
        elif record.last_log and status not in ("completed",):
            st.caption(f":material/notes: {code_span(record.last_log)}")
