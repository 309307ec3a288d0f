"""The History page's parts: filters, the live job table with a stable selection, counts and export.

The table reads the job log only, never the API, so any number of open tabs costs Legnext nothing; it
refreshes itself in a fragment. Only one page of short columns is sent to the browser per refresh (long
prompts belong to the detail view), which keeps a 10,000-job log quick.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import streamlit as st
from streamlit import dataframe_util

from legnext_core import history, reconcile
from legnext_core.errors import InvalidInputError, LegnextError, NotFoundError
from legnext_core.filters import JobFilter
from legnext_core.history import KIND_LABELS
from legnext_core.models import resolution_label
from legnext_core.records import NO_SIGN_IN, JobRecord
from legnext_core.studio import Studio
from ui import access
from ui.format import code_span, points
from ui.lineage import job_link_params

if TYPE_CHECKING:
    from streamlit.elements.arrow import DataframeStateInput

#: Every status a record can have, in the order a job moves through them.
STATUSES = (
    "queued",
    "submitting",
    "unknown",
    "pending",
    "staged",
    "processing",
    "completed",
    "failed",
    "rejected",
    "lost",
)
#: Pill colours in the status column: grey waiting, blue running, green done, red failed, orange unknown.
STATUS_COLORS = {
    "queued": "gray",
    "submitting": "gray",
    "unknown": "orange",
    "pending": "blue",
    "staged": "blue",
    "processing": "blue",
    "completed": "green",
    "failed": "red",
    "rejected": "red",
    "lost": "orange",
}
STATUS_ICONS = {
    "queued": ":material/schedule:",
    "submitting": ":material/upload:",
    "unknown": ":material/help:",
    "pending": ":material/hourglass_top:",
    "staged": ":material/hourglass_top:",
    "processing": ":material/autorenew:",
    "completed": ":material/check_circle:",
    "failed": ":material/error:",
    "rejected": ":material/block:",
    "lost": ":material/link_off:",
}
PAGE_SIZES = (50, 100, 200, 500)
WHOSE = ("Mine", "Everyone")
DEFAULT_PAGE_SIZE = 100
TABLE_KEY = "history-table"
#: The job selected in the table, by local id: the table's own state is a row position, which moves
#: when new jobs arrive at the top.
SELECTED_KEY = "history-selected"
ROW_IDS_KEY = "history-row-ids"
SANDBOX_REFRESH_SECONDS = 2
LIVE_REFRESH_SECONDS = 5


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


def status_label(status: str) -> str:
    """The one word for a record status (see ``history.STATUS_LABELS``)."""
    return history.STATUS_LABELS.get(status, status)


def refresh_seconds(studio: Studio) -> int:
    return SANDBOX_REFRESH_SECONDS if studio.settings.is_sandbox else LIVE_REFRESH_SECONDS


def viewer_zone() -> tzinfo:
    try:
        return ZoneInfo(st.context.timezone) if st.context.timezone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


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
    status_col, kind_col, text_col, date_col = st.columns([1.3, 1.3, 1.6, 1.1])
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


# -- the table --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryView(history.HistoryPage):
    """The server's page of rows, ready for st.dataframe (a record is read only when its row is selected)."""

    #: The table st.dataframe shows, already in Arrow form (see :func:`table_of`).
    table: pa.Table
    #: Reads one record by local id (the selected row's).
    read: Callable[[str], JobRecord | None] = field(repr=False, compare=False)


def matching_records(studio: Studio, filters: HistoryFilters) -> list[JobRecord]:
    """Every record that passes the filters, newest first, as the log holds them now."""
    return studio.history.records(**filters.query())


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


def show_selected(studio: Studio, record: JobRecord) -> None:
    """A compact summary of the selected job with the way into its detail view."""
    with st.container(border=True):
        title, action = st.columns([4, 1], vertical_alignment="center")
        status = record.status or "?"
        kind = KIND_LABELS.get(record.kind or "", record.kind)
        job_id = record.job_id
        title.markdown(
            f"{STATUS_ICONS.get(status, '')} **{kind}**"
            f" · {status_label(status).lower()} · {code_span(job_id) if job_id else 'no job id yet'}"
        )
        with action:
            st.page_link(
                "pages/job.py",
                label="Open details",
                icon=":material/open_in_new:",
                query_params=job_link_params(record),
            )
        if record.prompt:
            # st.text: a prompt is shown as typed, never as Markdown.
            st.text(history.shorten(record.prompt, 300))
        guidance = status_guidance(studio, record)
        if guidance:
            st.caption(guidance)
        if record.error_message:
            st.caption(f":material/error: {code_span(record.error_message)}")
        elif record.last_log and status not in ("completed",):
            st.caption(f":material/notes: {code_span(record.last_log)}")


def status_guidance(studio: Studio, record: JobRecord) -> str | None:
    """What a person should know about a record's state beyond its status word."""
    status = record.status
    if status == "unknown":
        return f":material/help: The submission's outcome is unknown. {reconcile.describe(record)}"
    if status == "submitting" and record.note:
        return (
            ":material/help: The submission's outcome is unknown: Legnext may have created (and billed) "
            "this job. Check your Legnext dashboard; if you find it there, track it by its id. Resubmit it "
            "only deliberately, from its detail view."
        )
    if status == "lost":
        note = record.note
        return f":material/link_off: {code_span(note) if note else 'Legnext no longer knows this job.'}"
    reason = studio.unreachable_reason(record)
    if reason and status not in ("completed", "failed", "rejected", "lost"):
        return f":material/sync_disabled: Not followed here. {reason}"
    return None


def export_csv(studio: Studio, filters: HistoryFilters) -> bytes:
    """Every job matching ``filters`` (not just the page on screen) as CSV, values whole and safe."""
    return prepare_export(studio, filters).data


PAGE_KEY = "history-page"
PAGE_SIZE_KEY = "history-page-size"


def pager_values() -> tuple[int, int]:
    """The page (0-based) and page size the pager below the table holds."""
    page = int(st.session_state.get(PAGE_KEY) or 1) - 1
    size = int(st.session_state.get(PAGE_SIZE_KEY) or DEFAULT_PAGE_SIZE)
    return max(0, page), size


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

    def label(self, zone: ZoneInfo | Any = UTC) -> str:
        """The download button's words: how many jobs, and when the file was made."""
        made = datetime.fromtimestamp(self.made_at, zone).strftime("%H:%M:%S")
        return f"Download {self.jobs:,} job{'' if self.jobs == 1 else 's'} (CSV, {made})"


def _export_query(filters: HistoryFilters) -> tuple[tuple[str, Any], ...]:
    return tuple(filters.query().items())


def prepare_export(studio: Studio, filters: HistoryFilters) -> PreparedExport:
    """Every job matching ``filters`` as CSV, made now (the filters in force when the person clicked)."""
    records = matching_records(studio, filters)
    return PreparedExport(
        _export_query(filters), len(records), history.to_csv(records), datetime.now(UTC).timestamp()
    )


def table_controls(studio: Studio, filters: HistoryFilters) -> None:
    """Pager, page size and export, drawn once per full run (never by the refreshing table).

    The export takes two clicks: "Export CSV" makes the file from the filters in force, then a download
    button offers it. A one-click deferred download (``data=<callable>``) cannot be relied on:
    Streamlit 1.67 leaves the file it makes unreferenced, and the orphan sweep that follows every script
    run (the table's refreshes in every open tab included) deletes it on its second pass, so on a busy
    server the browser's fetch can come too late. A file given as bytes to a download button drawn on
    every full run stays referenced by the page while the button is shown (fragment runs keep full-run
    references), and the same bytes keep the same file id; the button keeps its identity by key.
    """
    pager, size_col, export = st.columns([1, 1, 1.2], vertical_alignment="bottom")
    pager.number_input("Page", min_value=1, step=1, key=PAGE_KEY, help="Past the last page shows the last.")
    size_col.selectbox(
        "Rows per page", PAGE_SIZES, index=PAGE_SIZES.index(DEFAULT_PAGE_SIZE), key=PAGE_SIZE_KEY
    )
    state = st.session_state
    prepared: PreparedExport | None = state.get(EXPORT_STATE_KEY)
    if prepared is not None and prepared.query != _export_query(filters):
        prepared = None  # made for other filters: never offer it for these
        state.pop(EXPORT_STATE_KEY, None)
    if export.button(
        "Export CSV",
        icon=":material/table_view:",
        key=EXPORT_KEY,
        help="Every job matching the filters, not only this page, every field in full.",
        width="stretch",
    ):
        with export, st.spinner("Making the CSV…"):
            prepared = state[EXPORT_STATE_KEY] = prepare_export(studio, filters)
    if prepared is not None:
        export.download_button(
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


# -- tracking a job made elsewhere --------------------------------------------------------------------


@dataclass(frozen=True)
class TrackOutcome:
    ok: bool
    message: str
    record: JobRecord | None = None


def track_job_by_id(studio: Studio, raw_id: str) -> TrackOutcome:
    """Look a job up on the API by id, log it and hand it to the tracker."""
    if not raw_id.strip():
        return TrackOutcome(False, "Paste a Legnext job id first.")
    job_id = raw_id.strip()
    try:
        record, new = studio.track_job(raw_id)
    except InvalidInputError as exc:
        return TrackOutcome(False, exc.user_message)
    except NotFoundError:
        return TrackOutcome(
            False,
            f"Legnext has no job {code_span(job_id)} on {studio.settings.api_host}: check the id, "
            "and that it was "
            "made with this account (results expire after 30 days).",
        )
    except LegnextError as exc:
        return TrackOutcome(False, exc.user_message)
    if not new:
        return TrackOutcome(True, "This job is already in your history.", record)
    status = status_label(record.status or "").lower()
    return TrackOutcome(True, f"Now tracking job {code_span(job_id)} ({status}).", record)


def track_form(studio: Studio) -> None:
    with st.form("track-by-id", border=False):
        raw = st.text_input(
            "Legnext job id",
            placeholder="1b0f7c2e-5a7d-4e8a-9c3f-2d6e8b1a4f90",
            key="track-job-id",
            help="A job made elsewhere (another tool, a script, Legnext's own site) with this account.",
        )
        go = st.form_submit_button("Track this job", icon=":material/radar:")
    if go:
        outcome = track_job_by_id(studio, raw)
        if outcome.ok:
            st.success(outcome.message, icon=":material/check_circle:")
            if outcome.record is not None:
                st.page_link(
                    "pages/job.py",
                    label="Open it",
                    icon=":material/open_in_new:",
                    query_params=job_link_params(outcome.record),
                )
        else:
            st.error(outcome.message, icon=":material/error:")


# -- the detail view's data ---------------------------------------------------------------------------

#: Statuses that can still change on their own: the detail view refreshes itself while a job has one.
CHANGING_STATUSES = frozenset({"queued", "submitting", "pending", "staged", "processing"})
REDACTED = "[redacted]"


def find_record(studio: Studio, ref: str) -> JobRecord | None:
    """The record a ``/job?job=`` link names: a Legnext job id, or our local id before there is one."""
    ref = (ref or "").strip()
    if not ref:
        return None
    return studio.store.by_job_id(ref) or studio.store.get(ref)


def scrub_secrets(value: Any, secrets: list[str]) -> Any:
    """A copy of a JSON value with every secret replaced, and every webhook secret field blanked."""
    if isinstance(value, dict):
        return {k: (REDACTED if k == "secret" and v else scrub_secrets(v, secrets)) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_secrets(v, secrets) for v in value]
    if isinstance(value, str):
        for secret in secrets:
            if secret and secret in value:
                value = value.replace(secret, REDACTED)
        return value
    return value


def fetch_raw_job(studio: Studio, job_id: str) -> tuple[dict[str, Any] | None, str | None]:
    """Legnext's current answer for a job, secrets removed, or the message saying why it failed."""
    try:
        job = studio.client.get_job(job_id)
    except LegnextError as exc:
        return None, exc.user_message
    secrets = [s for s in (studio.settings.api_key, studio.settings.webhook_secret) if s]
    return scrub_secrets(job.raw, secrets), None


def parameter_lines(record: JobRecord) -> str:
    """What was asked for, as a Markdown list; every value a literal code span (the full prompt is shown
    on its own, copyable, by the detail view)."""
    video_type = record.video_type
    index = record.parent_index
    wire = record.wire_prompt
    estimate = record.estimated_points
    api = f"{record.api_mode} · {record.api_base_url}" if record.api_mode else None
    literal = [
        ("Submitted by", record.submitted_by or NO_SIGN_IN),
        ("Image URL", record.image_url if record.kind == "image_url_video" else None),
        ("Motion", record.motion),
        ("Parent job", record.parent_job_id),
        ("Prompt sent", wire if wire != record.prompt else None),
        ("Seed", record.seed),
        ("API", api),
        ("Batch", record.batch_id),
        ("Resubmission of", record.resubmit_of),
    ]
    ours = [
        ("Kind", KIND_LABELS.get(record.kind or "", record.kind)),
        ("Resolution", resolution_label(video_type)),
        ("Raw", "on" if record.raw else None),
        ("Variant of parent", None if index is None else f"#{index + 1}"),
        ("Estimated cost", points(estimate) if estimate else None),
    ]
    lines = [f"- {label}: {value}" for label, value in ours if value not in (None, "")]
    lines += [f"- {label}: {code_span(value)}" for label, value in literal if value not in (None, "")]
    return "\n".join(lines)
