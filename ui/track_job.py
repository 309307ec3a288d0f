"""Tracking a job made elsewhere (another tool, a script, Legnext's own site) by its id."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from legnext_core.errors import InvalidInputError, LegnextError, NotFoundError
from legnext_core.records import JobRecord
from legnext_core.studio import Studio
from ui.format import code_span
from ui.job_status import status_label
from ui.lineage import job_link_params


@dataclass(frozen=True)
class TrackOutcome:
    ok: bool
    message: str
    record: JobRecord | None = None


def track_job_by_id(studio: Studio, raw_id: str) -> TrackOutcome:
    """Look a job up on the API by id, log it and hand it to the tracker."""
    if not raw_id.strip():
        return TrackOutcome(False, "Paste a Legnext job id first.")
    job_id = raw_id.strip()
    try:
        record, new = studio.track_job(raw_id)
    except InvalidInputError as exc:
        return TrackOutcome(False, exc.user_message)
    except NotFoundError:
        return TrackOutcome(
            False,
            f"Legnext has no job {code_span(job_id)} on {studio.settings.api_host}: check the id, "
            "and that it was "
            "made with this account (results expire after 30 days).",
        )
    except LegnextError as exc:
        return TrackOutcome(False, exc.user_message)
    if not new:
        return TrackOutcome(True, "This job is already in your history.", record)
    status = status_label(record.status or "").lower()
    return TrackOutcome(True, f"Now tracking job {code_span(job_id)} ({status}).", record)


def track_form(studio: Studio) -> None:
    with st.form("track-by-id", border=False):
        raw = st.text_input(
            "Legnext job id",
            placeholder="1b0f7c2e-5a7d-4e8a-9c3f-2d6e8b1a4f90",
            key="track-job-id",
            help="A job made elsewhere (another tool, a script, Legnext's own site) with this account.",
        )
        go = st.form_submit_button("Track this job", icon=":material/radar:")
    if go:
        outcome = track_job_by_id(studio, raw)
        if outcome.ok:
            st.success(outcome.message, icon=":material/check_circle:")
            if outcome.record is not None:
                st.page_link(
                    "pages/job.py",
                    label="Open it",
                    icon=":material/open_in_new:",
                    query_params=job_link_params(outcome.record),
                )
        else:
            st.error(outcome.message, icon=":material/error:")
