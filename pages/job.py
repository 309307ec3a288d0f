"""One job in full, reached by ``/job?job=<job id>`` (or a local id before Legnext gave one)."""

from __future__ import annotations

import streamlit as st

from legnext_core.history import KIND_LABELS
from ui import access, lineage
from ui import history_view as hv
from ui.context import studio
from ui.format import code_span
from ui.job_page.details import show_details
from ui.job_page.recovery import show_recovery
from ui.job_page.results import show_results
from ui.job_page.status import live_status

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
job_id = record.job_id
zone = hv.viewer_zone()

kind_label = KIND_LABELS.get(record.kind or "", record.kind or "Job")
st.title(kind_label)
st.page_link("pages/history.py", label="Back to History", icon=":material/arrow_back:")

shown_status = record.status or "?"
changing = shown_status in hv.CHANGING_STATUSES
refresh = hv.refresh_seconds(current) if changing else None
st.fragment(live_status, run_every=refresh)(current, record, shown_status)

# -- outputs and what can follow -----------------------------------------------------------------------
if record.status == "completed":
    show_results(current, record)

actions = st.columns(2)
with actions[0]:
    st.page_link(
        "pages/create.py", label="Run again with the same settings", icon=":material/replay:",
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

show_recovery(current, who, record, zone)

# -- where it sits ---------------------------------------------------------------------------------------
st.subheader("Lineage")
lineage.show_lineage(current.store, record)

show_details(current, record, zone)
