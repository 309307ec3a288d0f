"""The History page's CSV export: every job matching the filters, made on a click, then offered.

The export takes two clicks: "Export CSV" makes the file from the filters in force, then a link offers
it. The file is a made download (``legnext_core.bundle``: a file on disk behind a 128-bit token, served by
the dashboard's own route for an hour), not one of Streamlit's media files: those live only while the
page still references them, and an export made again (or a script run that no longer draws the button)
orphans the one on offer, which Streamlit's sweep after every run of every tab then deletes, sometimes
under the browser's fetch. A made download stays until it expires, whatever the page shows meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from legnext_core import bundle, history
from legnext_core.records import JobRecord
from legnext_core.studio import Studio
from ui.history_filters import HistoryFilters
from ui.timezone import viewer_zone

#: The export made by the last click on "Export CSV": the filters it holds and its bytes.
EXPORT_STATE_KEY = "history-export-file"
EXPORT_KEY = "history-export"


@dataclass(frozen=True)
class PreparedExport:
    """A CSV made for the person on a click, offered until the filters change."""

    query: tuple[tuple[str, Any], ...]
    jobs: int
    #: The made file (see :func:`legnext_core.bundle.save_download`).
    path: Path
    #: When it was made (epoch seconds): the download button says so, as the jobs keep moving.
    made_at: float

    def label(self, zone: tzinfo = UTC) -> str:
        """The download button's words: how many jobs, and when the file was made."""
        made = datetime.fromtimestamp(self.made_at, zone).strftime("%H:%M:%S")
        return f"Download {self.jobs:,} job{'' if self.jobs == 1 else 's'} (CSV, {made})"

    @property
    def url(self) -> str:
        return bundle.download_url(self.path)


def matching_records(studio: Studio, filters: HistoryFilters) -> list[JobRecord]:
    """Every record that passes the filters, newest first, as the log holds them now."""
    return studio.history.records(**filters.query())


def _export_query(filters: HistoryFilters) -> tuple[tuple[str, Any], ...]:
    return tuple(filters.query().items())


def export_csv(studio: Studio, filters: HistoryFilters) -> bytes:
    """Every job matching ``filters`` (not just the page on screen) as CSV, values whole and safe."""
    return history.to_csv(matching_records(studio, filters))


def prepare_export(studio: Studio, filters: HistoryFilters) -> PreparedExport:
    """Every job matching ``filters`` as a made CSV file (the filters in force when the person clicked)."""
    records = matching_records(studio, filters)
    made = datetime.now(UTC)
    path = bundle.save_download(
        studio.settings.data_dir, f"legnext-jobs-{made:%Y%m%dT%H%M%SZ}.csv", history.to_csv(records)
    )
    return PreparedExport(_export_query(filters), len(records), path, made.timestamp())


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
        column.link_button(
            prepared.label(viewer_zone()),
            prepared.url,
            icon=":material/download:",
            # No help tooltip: shown under the pointer after a download, it covered "Export CSV" above.
            width="stretch",
        )
