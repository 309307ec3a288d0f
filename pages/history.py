"""History: every job in the log, live, with filters, a selected-job summary and CSV export."""

from __future__ import annotations

import streamlit as st

from ui import access, history_export, history_filters, history_table
from ui.context import studio
from ui.history_filters import HistoryFilters
from ui.job_status import refresh_seconds
from ui.live import live_fragment
from ui.selected_job import show_selected
from ui.track_job import track_form

current = studio()
# Behind the sign-in: nothing of the team's work is drawn for anyone not let in.
who = access.person()

head, track = st.columns([1.6, 1], vertical_alignment="bottom")
head.title("History")
with track.popover("Track a job by id", icon=":material/radar:", width="stretch"):
    track_form(current)

filters = history_filters.filter_bar()
had_jobs = current.store.count() > 0


def live_table(filters: HistoryFilters) -> None:
    """The part that refreshes itself: counts, the table and the selected job's summary.

    It holds no button, input or download. A control redrawn by a refresh gets a new identity (a
    download its new file id), and a click sent with the old one is lost; so the controls are drawn
    by the full run below, which only the person's own actions cause. The table keeps its identity
    by key, and its selection is a value, not an event, so a refresh cannot swallow it.
    """
    if current.store.count() == 0:
        st.info(
            "No jobs yet. Make your first video and it appears here, with its progress, while it runs.",
            icon=":material/movie:",
        )
        st.page_link("pages/create.py", label="Create a video", icon=":material/add_circle:")
        return
    if not had_jobs:
        # The first job arrived: draw the page once more, now with its controls.
        st.rerun(scope="app")
    view = history_table.load_view(current, filters)
    history_table.show_counts(view)
    if not view.local_ids:
        st.info("No job matches these filters.", icon=":material/filter_alt_off:")
        return
    selected = history_table.show_table(view)
    history_table.show_page_caption(view, filters)
    if selected is not None:
        show_selected(current, selected)
    else:
        st.caption("Select a row to see its summary and open it.")


# Reads the job log only (never the API), so any number of open tabs costs Legnext nothing.
live_fragment(live_table, refresh_seconds(current), history_filters.paged(filters))

if had_jobs:
    # Drawn once per full run, never by the refreshing table (see live_table).
    pager, size, export = st.columns([1, 1, 1.2], vertical_alignment="bottom")
    history_filters.show_pager(pager, size)
    history_export.show_export(export, current, filters)
