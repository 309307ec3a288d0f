"""The History page's CSV export: every job matching the filters, made on a click, then offered.

The export takes two clicks: "Export CSV" makes the file from the filters in force, then a download
button offers it. A one-click deferred download (``data=<callable>``) cannot be relied on: Streamlit
1.67 leaves the file it makes unreferenced, and the orphan sweep that follows every script run (the
table's refreshes in every open tab included) deletes it on its second pass, so on a busy server the
browser's fetch can come too late. A file given as bytes to a download button drawn on every full run
stays referenced by the page while the button is shown (fragment runs keep full-run references), and
the same bytes keep the same file id; the button keeps its identity by key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from legnext_core import history
from legnext_core.records import JobRecord
from legnext_core.studio import Studio
from ui.history_filters import HistoryFilters
from ui.timezone import viewer_zone

#: The export made by the last click on "Export CSV": the filters it holds and its bytes.
EXPORT_STATE_KEY = "history-export-file"
EXPORT_KEY = "history-export"
DOWNLOAD_KEY = "history-export-download"


@dataclass(frozen=True)
class PreparedExport:
    """A CSV made for the person on a click, offered until the filters change."""

    query: tuple[tuple[str, Any], ...]
    jobs: int
    data: bytes
    #: When it was made (epoch seconds): the download button says so, as the jobs keep moving.
    made_at: float

    def label(self, zone: tzinfo = UTC) -> str:
        """The download button's words: how many jobs, and when the file was made."""
        made = datetime.fromtimestamp(self.made_at, zone).strftime("%H:%M:%S")
        return f"Download {self.jobs:,} job{'' if self.jobs == 1 else 's'} (CSV, {made})"


def matching_records(studio: Studio, filters: HistoryFilters) -> list[JobRecord]:
    """Every record that passes the filters, newest first, as the log holds them now."""
    return studio.history.records(**filters.query())


def _export_query(filters: HistoryFilters) -> tuple[tuple[str, Any], ...]:
    return tuple(filters.query().items())


def prepare_export(studio: Studio, filters: HistoryFilters) -> PreparedExport:
    """Every job matching ``filters`` as CSV, made now (the filters in force when the person clicked)."""
    records = matching_records(studio, filters)
    return PreparedExport(
        _export_query(filters), len(records), history.to_csv(records), datetime.now(UTC).timestamp()
    )


def export_csv(studio: Studio, filters: HistoryFilters) -> bytes:
    """Every job matching ``filters`` (not just the page on screen) as CSV, values whole and safe."""
    return prepare_export(studio, filters).data


def show_export(column: DeltaGenerator, studio: Studio, filters: HistoryFilters) -> None:
    """ "Export CSV" and, once made for these filters, its download (drawn by the full run only)."""
    state = st.session_state
    prepared: PreparedExport | None = state.get(EXPORT_STATE_KEY)
    if prepared is not None and prepared.query != _export_query(filters):
        prepared = None  # made for other filters: never offer it for these
        state.pop(EXPORT_STATE_KEY, None)
    if column.button(
        "Export CSV",
        icon=":material/table_view:",
        key=EXPORT_KEY,
        help="Every job matching the filters, not only this page, every field in full.",
        width="stretch",
    ):
        with column, st.spinner("Making the CSV…"):
            prepared = state[EXPORT_STATE_KEY] = prepare_export(studio, filters)
    if prepared is not None:
        column.download_button(
            prepared.label(viewer_zone()),
            data=prepared.data,
            file_name="legnext-jobs.csv",
            mime="text/csv",
            icon=":material/download:",
            # No rerun: a run would redraw the page under the browser's fetch for nothing.
            on_click="ignore",
            key=DOWNLOAD_KEY,
            # No help tooltip: shown under the pointer after a download, it covered "Export CSV" above.
            width="stretch",
        )
