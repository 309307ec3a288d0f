"""The job detail view's drawing: its live status, results, details and raw forms.

What is shown comes from :mod:`legnext_core.job_detail`; this module lays it out. The follow-up and
recovery actions live in :mod:`ui.job_actions`.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, tzinfo

import streamlit as st

from legnext_core import job_detail, reconcile
from legnext_core.errors import InvalidInputError
from legnext_core.history import KIND_LABELS
from legnext_core.models import resolution_label, validate_job_id
from legnext_core.records import NO_SIGN_IN, JobRecord
from legnext_core.studio import Studio
from ui import lineage
from ui.format import code_span, duration, points, relative_time
from ui.job_status import STATUS_ICONS, status_guidance, status_label
from ui.track_job import track_job_by_id
from ui.variants import show_variants


def when(epoch: float | None, zone: tzinfo) -> str:
    """A moment as date and time in the viewer's zone, and how long ago."""
    if not epoch:
        return "—"
    stamp = datetime.fromtimestamp(epoch, zone).strftime("%Y-%m-%d %H:%M:%S")
    return f"{stamp} ({relative_time(epoch, time.time())})"


def show_missing(studio: Studio, ref: str) -> None:
    """What the page says when the link names no job of the log; a Legnext job id can be tracked here."""
    st.title("Job")
    if not ref:
        st.info("Open a job from the History page.", icon=":material/info:")
    else:
        st.warning(f"No job {code_span(ref)} in your history.", icon=":material/search_off:")
        try:
            job_id = validate_job_id(ref)
        except InvalidInputError as exc:
            st.caption(exc.message)  # a typo or a cut link: say what an id looks like
        else:
            # A link shared from another dashboard on the same account: one click looks it up (a GET,
            # which costs nothing) and the page then shows it.
            st.caption("If it was made elsewhere with this account, track it: Legnext is asked for it by id.")
            if st.button("Track this job", icon=":material/radar:", key="job:track-missing"):
                outcome = track_job_by_id(studio, job_id)
                if outcome.ok:
                    st.rerun()
                st.error(outcome.message, icon=":material/error:")
    st.page_link("pages/history.py", label="Go to History", icon=":material/history:")


def show_header(record: JobRecord) -> None:
    st.title(KIND_LABELS.get(record.kind or "", record.kind or "Job"))
    st.page_link("pages/history.py", label="Back to History", icon=":material/arrow_back:")


def live_status(studio: Studio, shown: JobRecord) -> None:
    """Status, points, timings and progress as the log holds them now (the page's refreshing part)."""
    rec = studio.store.get(shown.local_id) or shown
    status = rec.status or "?"
    if status != (shown.status or "?"):
        # Outputs, lineage buttons and the refresh rate depend on the status: redraw the whole page.
        st.rerun(scope="app")
    top = st.columns([1.2, 1, 1, 1])
    top[0].markdown(f"### {STATUS_ICONS.get(status, '')} {status_label(status)}")
    top[1].metric(
        "Points used",
        f"{rec.credits_consumed or 0:,}",
        help=f"Frozen at submission: {points(rec.credits_frozen)}",
    )
    top[2].metric("Queue wait", duration(job_detail.queue_wait(rec)))
    top[3].metric("Run time", duration(job_detail.run_time(rec, time.time())))
    if job_detail.is_changing(rec) and status != "unknown":
        st.progress(
            min(100, max(0, int(rec.progress or 0))),
            text=reconcile.progress_label(rec) + (f" · {code_span(rec.last_log)}" if rec.last_log else ""),
        )
    elif rec.last_log:
        st.caption(f":material/notes: Last log: {code_span(rec.last_log)}")
    guidance = status_guidance(studio, rec)
    if guidance:
        st.warning(guidance)
    if rec.error_code or rec.error_message:
        st.error(_failure_text(rec), icon=":material/error:")
    elif rec.note and status not in ("unknown", "lost"):
        st.caption(f":material/info: {code_span(rec.note)}")


def _failure_text(rec: JobRecord) -> str:
    return (
        "**Failed**"
        + (f": {code_span(rec.error_message)}" if rec.error_message else "")
        + (f" (code {code_span(rec.error_code)})" if rec.error_code else "")
        + (f"\n\nLegnext's raw message: {code_span(rec.error_raw_message)}" if rec.error_raw_message else "")
    )


def show_results(studio: Studio, record: JobRecord) -> None:
    """A completed job's outputs, each with the follow-ups it allows."""
    if record.status != "completed":
        return
    st.subheader("Results")
    job_id = record.job_id
    extendable = job_id and record.kind in lineage.EXTENDABLE_KINDS
    chain = studio.store.extension_chain(job_id) if job_id and extendable else None
    if lineage.follow_up_expired(record):
        st.caption(
            ":material/schedule: Legnext accepts follow-ups (extend, upscale, animate) for 3 days after "
            "a job was made; this one is older, so they may be refused."
        )
    prefix = f"job-{record.local_id}"
    show_variants(
        record,
        key_prefix=prefix,
        columns=2,
        actions=lambda variant: lineage.variant_actions(record, variant.index, chain, key_prefix=prefix),
    )


def parameter_lines(record: JobRecord) -> str:
    """What was asked for, as a Markdown list; every value a literal code span (the full prompt is shown
    on its own, copyable, by the detail view)."""
    video_type = record.video_type
    index = record.parent_index
    wire = record.wire_prompt
    estimate = record.estimated_points
    api = f"{record.api_mode} · {record.api_base_url}" if record.api_mode else None
    literal = [
        ("Submitted by", record.submitted_by or NO_SIGN_IN),
        ("Image URL", record.image_url if record.kind == "image_url_video" else None),
        ("Motion", record.motion),
        ("Parent job", record.parent_job_id),
        ("Prompt sent", wire if wire != record.prompt else None),
        ("Seed", record.seed),
        ("API", api),
        ("Batch", record.batch_id),
        ("Resubmission of", record.resubmit_of),
    ]
    ours = [
        ("Kind", KIND_LABELS.get(record.kind or "", record.kind)),
        ("Resolution", resolution_label(video_type)),
        ("Raw", "on" if record.raw else None),
        ("Variant of parent", None if index is None else f"#{index + 1}"),
        ("Estimated cost", points(estimate) if estimate else None),
    ]
    lines = [f"- {label}: {value}" for label, value in ours if value not in (None, "")]
    lines += [f"- {label}: {code_span(value)}" for label, value in literal if value not in (None, "")]
    return "\n".join(lines)


def show_details(record: JobRecord, zone: tzinfo) -> None:
    """Ids and link, parameters and the prompt as typed, and the job's moments."""
    st.subheader("Details")
    ids, params, times = st.columns(3)
    with ids:
        st.markdown("**Job id**")
        st.code(record.job_id or f"(none yet; local id {record.local_id})", language=None, wrap_lines=True)
        st.markdown("**Link to this page**")
        st.code(job_detail.link_to(record, st.context.url), language=None, wrap_lines=True)
    with params:
        st.markdown("**Parameters**")
        st.markdown(parameter_lines(record))
        if record.prompt:
            # The prompt exactly as typed, with a copy button: never rendered as Markdown.
            st.caption("Prompt")
            st.code(record.prompt, language=None, wrap_lines=True)
    with times:
        st.markdown("**Times**")
        rows = job_detail.time_rows(record)
        st.markdown("\n".join(f"- {label}: {when(moment, zone)}" for label, moment in rows))


def show_raw(studio: Studio, record: JobRecord) -> None:
    """Legnext's full current answer, fetched on demand, and the log's own record."""
    job_id = record.job_id
    with st.expander("Raw job JSON from Legnext", icon=":material/data_object:"):
        raw_key = f"raw-job-{job_id}"
        if not job_id:
            st.caption("Legnext has not given this job an id, so there is nothing to fetch.")
        elif st.button("Fetch it now", icon=":material/cloud_download:", key="fetch-raw"):
            raw, problem = job_detail.fetch_raw_job(studio, job_id)
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
    with st.expander("Job log record", icon=":material/receipt_long:"):
        st.code(job_detail.record_json(record), language="json")
