"""The History page's live table: one page of short columns, a selection that follows its job, counts.

The table reads the job log only, never the API, so any number of open tabs costs Legnext nothing; it
refreshes itself in a fragment. Only one page of short columns is sent to the browser per refresh (long
prompts belong to the detail view), which keeps a 10,000-job log quick.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import streamlit as st
from streamlit import dataframe_util

from legnext_core import history
from legnext_core.records import JobRecord
from legnext_core.studio import Studio
from ui.format import points
from ui.history_filters import HistoryFilters
from ui.job_status import STATUS_COLORS, STATUS_ICONS, STATUSES, status_label

if TYPE_CHECKING:
    from streamlit.elements.arrow import DataframeStateInput

TABLE_KEY = "history-table"
#: The job selected in the table, by local id: the table's own state is a row position, which moves
#: when new jobs arrive at the top.
SELECTED_KEY = "history-selected"
ROW_IDS_KEY = "history-row-ids"


@dataclass(frozen=True)
class HistoryView(history.HistoryPage):
    """The server's page of rows, ready for st.dataframe (a record is read only when its row is selected)."""

    #: The table st.dataframe shows, already in Arrow form (see :func:`table_of`).
    table: pa.Table
    #: Reads one record by local id (the selected row's).
    read: Callable[[str], JobRecord | None] = field(repr=False, compare=False)


def load_view(studio: Studio, filters: HistoryFilters) -> HistoryView:
    """One refresh's data: the server's shared, incrementally kept table answers filters and counts."""
    page = studio.history.page(**filters.query(), page=filters.page, page_size=filters.page_size)
    # vars(), not asdict(): the page's frame is shared, never copied.
    return HistoryView(**vars(page), table=table_of(page), read=studio.store.get)


#: Arrow tables of the pages last shown, by page: the server's history table hands every tab asking
#: the same question the same page object until the log changes, so its Arrow form (the costly part of
#: st.dataframe with a pandas frame) is made once for all of them.
_TABLES: OrderedDict[int, tuple[history.HistoryPage, pa.Table]] = OrderedDict()
_TABLES_KEPT = 32
_tables_lock = threading.Lock()


def table_of(page: history.HistoryPage) -> pa.Table:
    """The page's table for st.dataframe, converted as st.dataframe converts a pandas frame."""
    with _tables_lock:
        kept = _TABLES.get(id(page))
        if kept is not None and kept[0] is page:
            _TABLES.move_to_end(id(page))
            return kept[1]
    table = dataframe_util.convert_pandas_df_to_arrow_table(table_frame(page.frame))
    with _tables_lock:
        _TABLES[id(page)] = (page, table)
        while len(_TABLES) > _TABLES_KEPT:
            _TABLES.popitem(last=False)
    return table


def table_frame(page_frame: pd.DataFrame) -> pd.DataFrame:
    """The frame given to st.dataframe: the history module's short columns, status as a coloured pill.

    Only what the table shows is sent: the row's local id stays on the server (the selection is mapped
    back to it by position) and the emoji status label gives way to a coloured pill.
    """
    frame = page_frame.drop(columns=["status_label", "local_id"])
    # A one-item list renders as a coloured pill in a MultiselectColumn: a marker visible at a glance.
    frame["status"] = [[s] for s in frame["status"]]
    return frame


def column_config() -> dict[str, Any]:
    cc = st.column_config
    zone = st.context.timezone or "UTC"
    return {
        "status": cc.MultiselectColumn(
            "Status", options=list(STATUSES), color=[STATUS_COLORS[s] for s in STATUSES], width=110
        ),
        # What a person looks for comes first, so it shows on a narrow screen without scrolling.
        "prompt": cc.TextColumn("Prompt", width="medium", help="Shortened: the detail view has it in full"),
        "submitted": cc.DatetimeColumn("Submitted", format="MMM D, HH:mm:ss", timezone=zone, width=130),
        "progress": cc.ProgressColumn("Progress", min_value=0, max_value=100, format="%d%%", width=90),
        "kind": cc.TextColumn("Kind", width=120),
        "submitted_by": cc.TextColumn("By", width=130, help="Who submitted it"),
        "resolution": cc.TextColumn("Res.", width=55),
        "variant": cc.NumberColumn("Var.", width=45, help="Which output (1-4) of the parent job it works on"),
        "parent": cc.TextColumn("Parent", width=80, help="The job this one was made from (short id)"),
        "finished": cc.DatetimeColumn("Finished", format="MMM D, HH:mm:ss", timezone=zone, width=130),
        "queue_wait_s": cc.NumberColumn("Queue", format="%d s", width=65, help="Waiting at Legnext"),
        "run_time_s": cc.NumberColumn("Run", format="%d s", width=65, help="From start to finish"),
        "credits_frozen": cc.NumberColumn("Frozen", format="%d", width=70, help="Points reserved at submit"),
        "credits_consumed": cc.NumberColumn(
            "Used", format="%d", width=65, help="Points charged (1 point = US$0.001)"
        ),
        "job_id": cc.TextColumn("Job id", width=110, help="Legnext's job id"),
    }


def selected_local_id(state: Any) -> str | None:
    """The job the user has selected, by local id, from the table's row-position state.

    The positions refer to the rows the browser had when the user clicked, which are the rows sent
    by the previous run (kept in session state), not the rows of this run.
    """
    row_ids: list[str] = st.session_state.get(ROW_IDS_KEY, [])
    rows = ((state or {}).get("selection") or {}).get("rows") or []
    if rows and 0 <= rows[0] < len(row_ids):
        return row_ids[rows[0]]
    return None


def _selection(position: int | None) -> DataframeStateInput:
    return {"selection": {"rows": [] if position is None else [position], "columns": []}}


def show_table(view: HistoryView) -> JobRecord | None:
    """The table, keeping the same job selected as rows arrive; returns the selected record."""
    state = st.session_state.get(TABLE_KEY)
    if state is not None:
        st.session_state[SELECTED_KEY] = selected_local_id(state)
    selected_id = st.session_state.get(SELECTED_KEY)
    row_ids = list(view.local_ids)
    position = row_ids.index(selected_id) if selected_id in row_ids else None
    if state is not None and ((state.get("selection") or {}).get("rows") or []) != (
        [] if position is None else [position]
    ):
        # New rows moved the selected job (or pushed it off this page): move the browser's selection.
        st.session_state[TABLE_KEY] = _selection(position)
    st.session_state[ROW_IDS_KEY] = row_ids
    st.dataframe(
        view.table,
        key=TABLE_KEY,
        on_select="rerun",
        selection_mode="single-row",
        selection_default=_selection(position) if position is not None else None,
        hide_index=True,
        column_config=column_config(),
        column_order=[c for c in column_config() if c in view.table.column_names],
        row_height=34,
        height=min(36 + 34 * max(len(row_ids), 3), 560),
        placeholder="—",
    )
    if position is None:
        return None
    return view.read(row_ids[position])


def show_counts(view: HistoryView) -> None:
    """Counts per status and the credits of everything matching the filters."""
    parts = [
        f"{STATUS_ICONS.get(status, '')} {status_label(status).lower()} **{view.counts[status]}**"
        for status in STATUSES
        if view.counts.get(status)
    ]
    st.markdown(
        f"**{view.matching:,}** job{'s' if view.matching != 1 else ''}"
        + (" · " + " · ".join(parts) if parts else "")
        + f" · consumed {points(view.consumed)} · reserved for jobs under way {points(view.reserved)}"
    )


def show_page_caption(view: HistoryView, filters: HistoryFilters) -> None:
    """Which rows of how many the table shows."""
    first = view.page * filters.page_size + 1
    st.caption(
        f"Page {view.page + 1} of {view.pages}: jobs {first:,}-{first + len(view.local_ids) - 1:,} "
        f"of {view.matching:,}, newest first"
    )
