"""History: every job in the log, live, with filters, a selected-job summary and CSV export."""

from __future__ import annotations

import streamlit as st

from ui import access
from ui import history_view as hv
from ui.context import studio

current = studio()
# Behind the sign-in: nothing of the team's work is drawn for anyone not let in.
who = access.person()

head, track = st.columns([3, 1], vertical_alignment="bottom")
head.title("History")
with track.popover("Track a job by id", icon=":material/radar:", width="stretch"):
    hv.track_form(current)

filters = hv.filter_bar()


def live_table(filters: hv.HistoryFilters) -> None:
    if current.store.count() == 0:
        st.info(
            "No jobs yet. Make your first video and it appears here, with its progress, while it runs.",
            icon=":material/movie:",
        )
        st.page_link("pages/create.py", label="Create a video", icon=":material/add_circle:")
        return
    page = int(st.session_state.get("history-page", 1)) - 1
    size = int(st.session_state.get("history-page-size", hv.DEFAULT_PAGE_SIZE))
    view = hv.load_view(current, hv.HistoryFilters(**{**filters.__dict__, "page": page, "page_size": size}))
    hv.show_counts(view)
    if not view.rows:
        st.info("No job matches these filters.", icon=":material/filter_alt_off:")
        return
    selected = hv.show_table(view)
    pager, size_col, export = st.columns([2, 1, 1], vertical_alignment="bottom")
    with pager:
        st.caption(
            f"Page {view.page + 1} of {view.pages}: jobs {view.page * size + 1:,}-"
            f"{view.page * size + len(view.rows):,} of {view.matching:,}, newest first"
        )
    with size_col:
        if view.pages > 1:
            st.number_input(
                "Page", min_value=1, max_value=view.pages, key="history-page", label_visibility="collapsed"
            )
    with export:
        st.download_button(
            "Export CSV",
            data=lambda: hv.export_csv(current, filters),
            file_name="legnext-jobs.csv",
            mime="text/csv",
            icon=":material/download:",
            on_click="ignore",
            help="Every job matching the filters, not only this page.",
            width="stretch",
        )
    if selected is not None:
        hv.show_selected(current, selected)
    else:
        st.caption("Select a row to see its summary and open it.")


# Reads the job log only (never the API), so any number of open tabs costs Legnext nothing.
st.fragment(live_table, run_every=hv.refresh_seconds(current))(filters)

with st.expander("Table options", icon=":material/tune:"):
    st.selectbox("Rows per page", hv.PAGE_SIZES, index=hv.PAGE_SIZES.index(hv.DEFAULT_PAGE_SIZE),
                 key="history-page-size")
