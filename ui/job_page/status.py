"""The job page's live status block: status, points, queue and run time, progress, errors."""

from __future__ import annotations

import time

import streamlit as st

from legnext_core import reconcile
from legnext_core.records import JobRecord
from legnext_core.studio import Studio
from ui import history_view as hv
from ui.format import code_span, duration, points


def live_status(current: Studio, record: JobRecord, shown_status: str) -> None:
    local_id = record.local_id
    rec = current.store.get(local_id) or record
    status = rec.status or "?"
    if status != shown_status:
        # Outputs, lineage buttons and the refresh rate depend on the status: redraw the whole page.
        st.rerun(scope="app")
    top = st.columns([1.2, 1, 1, 1])
    top[0].markdown(f"### {hv.STATUS_ICONS.get(status, '')} {hv.status_label(status)}")
    top[1].metric("Points used", f"{rec.credits_consumed or 0:,}",
                  help=f"Frozen at submission: {points(rec.credits_frozen)}")
    queue = _span(rec.created_at, rec.started_at)
    running_until = time.time() if status == "processing" else None
    run = _span(rec.started_at, rec.ended_at or running_until)
    top[2].metric("Queue wait", duration(queue))
    top[3].metric("Run time", duration(run))
    if status in hv.CHANGING_STATUSES and status != "unknown":
        progress = rec.progress
        st.progress(
            min(100, max(0, int(progress or 0))),
            text=reconcile.progress_label(rec)
            + (f" · {code_span(rec.last_log)}" if rec.last_log else ""),
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
            + (f"\n\nLegnext's raw message: {code_span(rec.error_raw_message)}"
               if rec.error_raw_message else ""),
            icon=":material/error:",
        )
    elif rec.note and status not in ("unknown", "lost"):
        st.caption(f":material/info: {code_span(rec.note)}")


def _span(start: float | None, end: float | None) -> float | None:
    return None if not start or not end else max(0.0, end - start)
