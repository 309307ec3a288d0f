"""One job in full, reached by ``/job?job=<job id>`` (or a local id before Legnext gave one)."""

from __future__ import annotations

import json
import time
from datetime import datetime
from urllib.parse import urlsplit

import streamlit as st

from legnext_core import reconcile
from legnext_core.history import KIND_LABELS
from legnext_core.records import JobRecord
from legnext_core.submit import request_from_record, submit_job
from ui import access, forms, lineage
from ui import history_view as hv
from ui.context import studio
from ui.format import code_span, duration, points, relative_time
from ui.live import live_fragment
from ui.variants import show_variants

current = studio()
# Behind the sign-in: nothing of the team's work is drawn for anyone not let in.
who = access.person()
ref = st.query_params.get("job", "")
record = hv.find_record(current, ref)

if record is None:
    st.title("Job")
    if ref:
        st.warning(f"No job {code_span(ref)} in your history.", icon=":material/search_off:")
        st.caption("If it was made elsewhere with this account, track it by its id from the History page.")
    else:
        st.info("Open a job from the History page.", icon=":material/info:")
    st.page_link("pages/history.py", label="Go to History", icon=":material/history:")
    st.stop()

local_id = record.local_id
#: The record as found (never None here); functions below do not keep the narrowing of a module-level name.
shown: JobRecord = record
job_id = record.job_id
zone = hv.viewer_zone()


def _when(epoch: float | None) -> str:
    if not epoch:
        return "—"
    stamp = datetime.fromtimestamp(epoch, zone).strftime("%Y-%m-%d %H:%M:%S")
    return f"{stamp} ({relative_time(epoch, time.time())})"


kind_label = KIND_LABELS.get(record.kind or "", record.kind or "Job")
st.title(kind_label)
st.page_link("pages/history.py", label="Back to History", icon=":material/arrow_back:")


def live_status(local_id: str, shown_status: str) -> None:
    rec = current.store.get(local_id) or shown
    status = rec.status or "?"
    if status != shown_status:
        # Outputs, lineage buttons and the refresh rate depend on the status: redraw the whole page.
        st.rerun(scope="app")
    top = st.columns([1.2, 1, 1, 1])
    top[0].markdown(f"### {hv.STATUS_ICONS.get(status, '')} {hv.status_label(status)}")
    top[1].metric(
        "Points used",
        f"{rec.credits_consumed or 0:,}",
        help=f"Frozen at submission: {points(rec.credits_frozen)}",
    )
    queue = _span(rec.created_at, rec.started_at)
    running_until = time.time() if status == "processing" else None
    run = _span(rec.started_at, rec.ended_at or running_until)
    top[2].metric("Queue wait", duration(queue))
    top[3].metric("Run time", duration(run))
    if status in hv.CHANGING_STATUSES and status != "unknown":
        progress = rec.progress
        st.progress(
            min(100, max(0, int(progress or 0))),
            text=reconcile.progress_label(rec) + (f" · {code_span(rec.last_log)}" if rec.last_log else ""),
        )
    elif rec.last_log:
        st.caption(f":material/notes: Last log: {code_span(rec.last_log)}")
    guidance = hv.status_guidance(current, rec)
    if guidance:
        st.warning(guidance)
    if rec.error_code or rec.error_message:
        st.error(
            "**Failed**"
            + (f": {code_span(rec.error_message)}" if rec.error_message else "")
            + (f" (code {code_span(rec.error_code)})" if rec.error_code else "")
            + (
                f"\n\nLegnext's raw message: {code_span(rec.error_raw_message)}"
                if rec.error_raw_message
                else ""
            ),
            icon=":material/error:",
        )
    elif rec.note and status not in ("unknown", "lost"):
        st.caption(f":material/info: {code_span(rec.note)}")


def _span(start: float | None, end: float | None) -> float | None:
    return None if not start or not end else max(0.0, end - start)


shown_status = record.status or "?"
changing = shown_status in hv.CHANGING_STATUSES
live_fragment(live_status, hv.refresh_seconds(current) if changing else None, local_id, shown_status)

# -- outputs and what can follow -----------------------------------------------------------------------
if record.status == "completed":
    st.subheader("Results")
    extendable = job_id and record.kind in lineage.EXTENDABLE_KINDS
    chain = current.store.extension_chain(job_id) if job_id and extendable else None
    if lineage.follow_up_expired(record):
        st.caption(
            ":material/schedule: Legnext accepts follow-ups (extend, upscale, animate) for 3 days after "
            "a job was made; this one is older, so they may be refused."
        )
    show_variants(
        record,
        key_prefix=f"job-{local_id}",
        columns=2,
        actions=lambda variant: lineage.variant_actions(
            shown, variant.index, chain, key_prefix=f"job-{local_id}"
        ),
    )

actions = st.columns(2)
with actions[0]:
    st.page_link(
        "pages/create.py",
        label="Run again with the same settings",
        icon=":material/replay:",
        query_params={"rerun": local_id},
    )
if record.kind == "animate" and record.parent_job_id and record.parent_index is not None:
    with actions[1]:
        if st.button("Animate again", icon=":material/animation:", key="animate-again"):
            st.switch_page(
                "pages/create.py",
                query_params={
                    "mode": "animate",
                    "image_job": record.parent_job_id,
                    "image": str(record.parent_index),
                },
            )

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
            created = _when(candidate.get("created_at"))
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

if may_resubmit and (record.status == "unknown" or (record.status == "submitting" and record.note)):
    with st.container(border=True):
        st.markdown("**Resubmit this job**")
        st.caption(
            "Only if you have checked your Legnext dashboard and the job is not there: if it was created, "
            "submitting again makes (and bills) a second one."
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

# -- where it sits ---------------------------------------------------------------------------------------
st.subheader("Lineage")
lineage.show_lineage(current.store, record)

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
            f"- {label}: {_when(when)}"
            for label, when in (
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
        st.caption("The job log keeps a lean record; this asks Legnext for the job's full current answer.")


def _record_json(rec: JobRecord) -> str:
    # The record as the job log holds it on disk.
    return json.dumps(rec.to_dict(), indent=2, sort_keys=True, default=str)


with st.expander("Job log record", icon=":material/receipt_long:"):
    st.code(_record_json(record), language="json")
