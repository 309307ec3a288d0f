"""What the job detail view offers to do next: run again, animate again, and, for a submission whose
outcome is unknown, confirm which Legnext job it made or resubmit it deliberately."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import tzinfo

import streamlit as st

from legnext_core import job_detail, reconcile
from legnext_core.access import Person
from legnext_core.records import JobRecord
from legnext_core.studio import Studio
from legnext_core.submit import request_from_record, submit_job
from ui import forms
from ui.format import code_span
from ui.job_view import when


def show_next_steps(record: JobRecord) -> None:
    """Run again with the same settings; animate the same image again."""
    again, animate = st.columns(2)
    with again:
        st.page_link(
            "pages/create.py",
            label="Run again with the same settings",
            icon=":material/replay:",
            query_params={"rerun": record.local_id},
        )
    query = job_detail.animate_again_query(record)
    if query is not None:
        with animate:
            if st.button("Animate again", icon=":material/animation:", key="animate-again"):
                st.switch_page("pages/create.py", query_params=query)


@contextmanager
def _decision(question: str, explanation: str) -> Iterator[None]:
    """A bordered box for a decision only a person can take about an unknown submission."""
    with st.container(border=True):
        st.markdown(f"**{question}**")
        st.caption(explanation)
        yield


def show_candidates(studio: Studio, record: JobRecord, zone: tzinfo) -> None:
    """Legnext jobs that may be this unknown submission's, each confirmed only by a person."""
    candidates = job_detail.match_candidates(record)
    if not candidates:
        return
    local_id = record.local_id
    with _decision(
        "Is one of these the job this submission made?",
        "Legnext has jobs of the same kind created while this submission was being sent. Nothing "
        "proves which one is this submission's: open it in your Legnext dashboard, compare the "
        "prompt, then confirm. Nothing is linked without you.",
    ):
        for candidate in candidates:
            left, right = st.columns([3, 1])
            match_id = candidate["job_id"]
            left.markdown(f"{code_span(match_id)} · created {when(candidate.get('created_at'), zone)}")
            if right.button("This is it", key=f"match-{local_id}-{match_id}", icon=":material/link:"):
                problem = reconcile.confirm_match(studio.store, studio.client, local_id, match_id)
                if problem:
                    st.error(problem, icon=":material/error:")
                else:
                    studio.tracker.refresh()
                    st.rerun()


def show_resubmit(studio: Studio, record: JobRecord, who: Person) -> None:
    """Resubmit an unknown submission, only once its person has checked Legnext did not create it."""
    if not job_detail.is_unresolved(record):
        return
    local_id = record.local_id
    with _decision(
        "Resubmit this job",
        "Only if you have checked your Legnext dashboard and the job is not there: if it was created, "
        "submitting again makes (and bills) a second one.",
    ):
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
                        studio, request_from_record(record), resubmit_of=local_id, person=who
                    )
            st.rerun()
        if result is not None and result.outcome == "accepted":
            st.success(result.message, icon=":material/check_circle:")
            st.page_link("pages/job.py", label="Open the new job", query_params={"job": result.job_id})
        elif result is not None:
            st.error(result.message, icon=":material/error:")


def show_recovery(studio: Studio, record: JobRecord, who: Person, zone: tzinfo) -> None:
    """For an unknown outcome, to the person allowed to resubmit it: candidates, then resubmission."""
    if not who.may_resubmit(record.submitted_by):
        return
    show_candidates(studio, record, zone)
    show_resubmit(studio, record, who)
