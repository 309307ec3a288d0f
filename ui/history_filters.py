"""What the History table shows: its filters (shared in part with the Gallery) and its pager."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from legnext_core.filters import JobFilter
from legnext_core.history import KIND_LABELS
from ui import access
from ui.job_status import STATUSES, status_label
from ui.timezone import viewer_zone

PAGE_SIZES = (50, 100, 200, 500)
DEFAULT_PAGE_SIZE = 100
PAGE_KEY = "history-page"
PAGE_SIZE_KEY = "history-page-size"
WHOSE = ("Mine", "Everyone")


@dataclass(frozen=True)
class HistoryFilters(JobFilter):
    """The shared filters, whose jobs, and which page of the table."""

    page_size: int = DEFAULT_PAGE_SIZE
    page: int = 0
    #: Only this person's jobs ("Mine"), or everyone's when None.
    submitted_by: str | None = None

    def query(self) -> dict[str, Any]:
        """The filters as keyword arguments for the server's history table."""
        return {
            "statuses": self.statuses or None,
            "kinds": self.kinds or None,
            "text": self.text or None,
            "since": self.since,
            "until": self.until,
            "submitted_by": self.submitted_by,
        }


def day_bounds(days: tuple[date, ...] | list[date], zone=UTC) -> tuple[float | None, float | None]:
    """Epoch bounds of a picked date range, whole days in the viewer's zone, the end day included."""
    if not days:
        return None, None
    start = datetime.combine(days[0], time.min, zone).timestamp()
    last = days[1] if len(days) > 1 else days[0]
    end = datetime.combine(last + timedelta(days=1), time.min, zone).timestamp()
    return start, end


def common_filters(prefix: str, *, search_placeholder: str) -> JobFilter:
    """The shared row of filter widgets, keyed ``<prefix>-status`` and so on."""
    # The date range is the widest value here ("2026-11-01 – 2026-11-30" beside its clear and calendar
    # buttons): in a narrower column it scrolls, showing only the end day.
    status_col, kind_col, text_col, date_col = st.columns([1.3, 1.1, 1.3, 1.7])
    statuses = status_col.multiselect(
        "Status",
        STATUSES,
        key=f"{prefix}-status",
        placeholder="All statuses",
        format_func=status_label,
    )
    kinds = kind_col.multiselect(
        "Kind",
        list(KIND_LABELS),
        key=f"{prefix}-kind",
        placeholder="All kinds",
        format_func=lambda k: KIND_LABELS[k],
    )
    text = text_col.text_input(
        "Search",
        key=f"{prefix}-text",
        placeholder=search_placeholder,
        icon=":material/search:",
    )
    days = date_col.date_input("Submitted", value=[], key=f"{prefix}-days", format="YYYY-MM-DD")
    since, until = day_bounds(tuple(days) if isinstance(days, tuple | list) else (days,), viewer_zone())
    return JobFilter(tuple(statuses), tuple(kinds), text.strip(), since, until)


def filter_bar() -> HistoryFilters:
    """The filter widgets; the table below follows them."""
    shared = common_filters("history", search_placeholder="Prompt words or job id")
    return HistoryFilters(**asdict(shared), submitted_by=_whose_filter())


def _whose_filter() -> str | None:
    """ "Mine / Everyone" for signed-in people; with nobody signing in every job is "local"'s."""
    who = access.person()
    if not who.signed_in:
        return None
    whose = st.segmented_control("Made by", WHOSE, key="history-whose", default="Everyone")
    return who.email if whose == "Mine" else None


def pager_values() -> tuple[int, int]:
    """The page (0-based) and page size the pager below the table holds."""
    page = int(st.session_state.get(PAGE_KEY) or 1) - 1
    size = int(st.session_state.get(PAGE_SIZE_KEY) or DEFAULT_PAGE_SIZE)
    return max(0, page), size


def paged(filters: HistoryFilters) -> HistoryFilters:
    """``filters`` on the page the pager holds."""
    page, size = pager_values()
    return HistoryFilters(**{**filters.__dict__, "page": page, "page_size": size})


def show_pager(page_col: DeltaGenerator, size_col: DeltaGenerator) -> None:
    """The page number and page size inputs (drawn by the full run, never by the refreshing table)."""
    page_col.number_input(
        "Page", min_value=1, step=1, key=PAGE_KEY, help="Past the last page shows the last."
    )
    size_col.selectbox(
        "Rows per page", PAGE_SIZES, index=PAGE_SIZES.index(DEFAULT_PAGE_SIZE), key=PAGE_SIZE_KEY
    )
