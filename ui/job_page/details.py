"""The job page's details: ids, link, parameters, times, Legnext's raw answer and the log record."""

from __future__ import annotations

import json
from datetime import tzinfo
from urllib.parse import urlsplit

import streamlit as st

from legnext_core.records import JobRecord
from legnext_core.studio import Studio
from ui import history_view as hv
from ui.job_page.times import when


def show_details(current: Studio, record: JobRecord, zone: tzinfo) -> None:
    local_id = record.local_id
    job_id = record.job_id
    # -- everything about it ---------------------------------------------------------------------------------
    st.subheader("Details")
    ids, params, times = st.columns(3)
    with ids:
        st.markdown("**Job id**")
        st.code(job_id or f"(none yet; local id {local_id})", language=None, wrap_lines=True)
        st.markdown("**Link to this page**")
        base = ""
        if st.context.url:
            parts = urlsplit(st.context.url)
            base = f"{parts.scheme}://{parts.netloc}"
        st.code(f"{base}/job?job={job_id or local_id}", language=None, wrap_lines=True)
    with params:
        st.markdown("**Parameters**")
        st.markdown(hv.parameter_lines(record))
        if record.prompt:
            # The prompt exactly as typed, with a copy button: never rendered as Markdown.
            st.caption("Prompt")
            st.code(record.prompt, language=None, wrap_lines=True)
    with times:
        st.markdown("**Times**")
        st.markdown(
            "\n".join(
                f"- {label}: {when(moment, zone)}"
                for label, moment in (
                    ("Submitted", record.submitted_at),
                    ("Created at Legnext", record.created_at),
                    ("Started", record.started_at),
                    ("Ended", record.ended_at),
                    ("Last checked", record.last_poll_at),
                )
            )
        )

    with st.expander("Raw job JSON from Legnext", icon=":material/data_object:"):
        raw_key = f"raw-job-{job_id}"
        if not job_id:
            st.caption("Legnext has not given this job an id, so there is nothing to fetch.")
        elif st.button("Fetch it now", icon=":material/cloud_download:", key="fetch-raw"):
            raw, problem = hv.fetch_raw_job(current, job_id)
            if problem:
                st.error(problem, icon=":material/error:")
            else:
                st.session_state[raw_key] = raw
        if st.session_state.get(raw_key) is not None:
            st.json(json.dumps(st.session_state[raw_key]), expanded=2)
        elif job_id:
            st.caption(
                "The job log keeps a lean record; this asks Legnext for the job's full current answer."
            )


    def _record_json(rec: JobRecord) -> str:
        # The record as the job log holds it on disk.
        return json.dumps(rec.to_dict(), indent=2, sort_keys=True, default=str)


    with st.expander("Job log record", icon=":material/receipt_long:"):
        st.code(_record_json(record), language="json")
