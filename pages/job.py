"""One job in full, reached by ``/job?job=<job id>`` (or a local id before Legnext gave one)."""

from __future__ import annotations

import streamlit as st

from legnext_core import job_detail
from ui import access, job_actions, job_view, lineage
from ui.context import studio
from ui.job_status import refresh_seconds
from ui.live import live_fragment
from ui.timezone import viewer_zone

current = studio()
# Behind the sign-in: nothing of the team's work is drawn for anyone not let in.
who = access.person()
ref = st.query_params.get("job", "")
record = job_detail.find_record(current.store, ref)
if record is None:
    job_view.show_missing(current, ref)
    st.stop()

zone = viewer_zone()
job_view.show_header(record)
# The status refreshes itself while it can still change, and redraws the page when it does.
refresh = refresh_seconds(current) if job_detail.is_changing(record) else None
live_fragment(job_view.live_status, refresh, current, record)

job_view.show_results(current, record)
job_actions.show_next_steps(record)
job_actions.show_recovery(current, record, who, zone)

st.subheader("Lineage")
lineage.show_lineage(current.store, record)

job_view.show_details(record, zone)
job_view.show_raw(current, record)
