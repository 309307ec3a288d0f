"""For an "outcome unknown" submission: confirm which Legnext job it made, or resubmit it."""

from __future__ import annotations

from datetime import tzinfo

import streamlit as st

from legnext_core import reconcile
from legnext_core.access import Person
from legnext_core.records import JobRecord
from legnext_core.studio import Studio
from legnext_core.submit import request_from_record, submit_job
from ui import forms
from ui.format import code_span
from ui.job_page.times import when


def show_recovery(current: Studio, who: Person, record: JobRecord, zone: tzinfo) -> None:
    local_id = record.local_id
    may_resubmit = who.may_resubmit(record.submitted_by)
    candidates = (record.reconciliation or {}).get("candidates") or []
    if may_resubmit and record.status == "unknown" and candidates:
        with st.container(border=True):
            st.markdown("**Is one of these the job this submission made?**")
            st.caption(
                "Legnext has jobs of the same kind created while this submission was being sent. Nothing "
                "proves which one is this submission's: open it in your Legnext dashboard, compare the "
                "prompt, then confirm. Nothing is linked without you."
            )
            for candidate in candidates:
                created = when(candidate.get("created_at"), zone)
                left, right = st.columns([3, 1])
                left.markdown(f"{code_span(candidate['job_id'])} · created {created}")
                match_id = candidate["job_id"]
                if right.button("This is it", key=f"match-{local_id}-{match_id}", icon=":material/link:"):
                    problem = reconcile.confirm_match(current.store, current.client, local_id, match_id)
                    if problem:
                        st.error(problem, icon=":material/error:")
                    else:
                        current.tracker.refresh()
                        st.rerun()

    if may_resubmit and (
        record.status == "unknown" or (record.status == "submitting" and record.note)
    ):
        with st.container(border=True):
            st.markdown("**Resubmit this job**")
            st.caption(
                "Only if you have checked your Legnext dashboard and the job is not there: if it was "
                "created, submitting again makes (and bills) a second one."
            )
            sure = st.checkbox("I checked: Legnext did not create this job", key=f"resubmit-sure-{local_id}")
            # The same one-shot button as the making pages: a double click or a stale page sends nothing.
            form = f"resubmit-{local_id}"
            result_key = f"{form}:result"
            result = st.session_state.get(result_key)
            pending = forms.submit_button(
                form, "Resubmit", disabled=not sure or result is not None, icon=":material/send:"
            )
            if pending:
                with st.spinner("Submitting to Legnext…"):
                    if forms.take_pending(form):
                        st.session_state[result_key] = submit_job(
                            current, request_from_record(record), resubmit_of=local_id, person=who
                        )
                st.rerun()
            if result is not None and result.outcome == "accepted":
                st.success(result.message, icon=":material/check_circle:")
                st.page_link("pages/job.py", label="Open the new job", query_params={"job": result.job_id})
            elif result is not None:
                st.error(result.message, icon=":material/error:")
