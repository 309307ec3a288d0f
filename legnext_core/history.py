"""The history table: job records -> pandas DataFrame, kept current incrementally, counts and CSV.

:func:`records_to_frame` builds the table from records (for exports and tests). :class:`HistoryTable`
is what the History page reads: one per server process, shared by every open tab. It holds one
compact row per job in column arrays (no copy of the records themselves), updates only the rows of
the records the job log says changed since its last look, and answers a refresh (filters, counts,
credits, one page of rows) with array operations; a refresh that finds nothing changed and asks
what another tab just asked is answered from a small cache. No streamlit here.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from legnext_core.records import JobRecord, RecordStatus, status_rank

#: The word for each status (defined once, by the status itself).
STATUS_LABELS: dict[str, str] = {status.value: status.label for status in RecordStatus}

KIND_LABELS: dict[str, str] = {
    "text_video": "Text → video",
    "image_url_video": "Image URL → video",
    "animate": "Animate image",
    "extend": "Extend",
    "upscale": "Upscale",
    "image": "Image",
}

RESOLUTION_LABELS: dict[int, str] = {0: "480p", 1: "720p"}

#: Kinds whose record's ``video_type`` is what was made (an extend or upscale follows its parent).
_KINDS_WITH_OWN_RESOLUTION = frozenset({"text_video", "image_url_video", "animate"})

PROMPT_CHARS = 80
SHORT_ID_CHARS = 8

#: The table's columns, in order.
COLUMNS: tuple[str, ...] = (
    "status_label",
    "status",
    "progress",
    "kind",
    "prompt",
    "resolution",
    "variant",
    "parent",
    "submitted",
    "finished",
    "queue_wait_s",
    "run_time_s",
    "credits_frozen",
    "credits_consumed",
    "job_id",
    "local_id",
)

#: What a CSV export holds: the table's named columns, so a field added to records later is never
#: exported by accident. Records hold no secrets; the callback URL is left out all the same.
CSV_COLUMNS: tuple[str, ...] = tuple(column for column in COLUMNS if column != "status_label")


def shorten(text: str | None, limit: int = PROMPT_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    if not text:
        return ""
    # Collapsing whitespace is the slow part at 10,000 rows; most prompts need none.
    flat = text if "  " not in text and "\n" not in text and "\t" not in text else " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


# -- one row per record -----------------------------------------------------------------------------------

#: Numeric columns, held as float arrays (NaN for none).
_NUMBERS = (
    "progress",
    "variant",
    "submitted",
    "finished",
    "queue_wait_s",
    "run_time_s",
    "credits_frozen",
    "credits_consumed",
)
#: Text columns, held as lists (None for none). ``search`` is the casefolded prompt and job id.
_TEXTS = ("status", "kind", "prompt", "resolution", "parent", "job_id", "local_id", "search")
_STATUS_CODES = {status.value: code for code, status in enumerate(RecordStatus)}
_UNKNOWN_CODE = len(_STATUS_CODES)


def _number(value: Any) -> float:
    return float(value) if value is not None else np.nan


def _row(record: JobRecord) -> tuple[tuple[float, ...], tuple[Any, ...]]:
    status = str(record.status.value if isinstance(record.status, RecordStatus) else record.status or "")
    kind = str(getattr(record.kind, "value", record.kind) or "")
    started, ended, created = record.started_at, record.ended_at, record.created_at
    queue_wait = started - created if started is not None and created is not None else None
    run_time = ended - started if ended is not None and started is not None else None
    progress = 100.0 if status == "completed" else _number(record.progress)
    resolution = RESOLUTION_LABELS.get(record.video_type or 0) if kind in _KINDS_WITH_OWN_RESOLUTION else None
    numbers = (
        progress,
        _number(record.parent_index + 1 if record.parent_index is not None else None),
        _number(record.sort_time if (record.submitted_at or record.created_at) else None),
        _number(ended),
        # A clock step between two Legnext timestamps must not show as a negative duration.
        _number(queue_wait if queue_wait is not None and queue_wait >= 0 else None),
        _number(run_time if run_time is not None and run_time >= 0 else None),
        _number(record.credits_frozen),
        _number(record.credits_consumed),
    )
    texts = (
        status,
        kind,
        shorten(record.prompt),
        resolution,
        (record.parent_job_id or "")[:SHORT_ID_CHARS] or None,
        record.job_id,
        record.local_id,
        f"{(record.prompt or '').casefold()}\n{(record.job_id or '').casefold()}",
    )
    return numbers, texts


class _Columns:
    """The table's rows as column arrays, in the order records were first seen."""

    def __init__(self, records: Iterable[JobRecord]) -> None:
        rows = [_row(record) for record in records]
        self.numbers = {
            name: np.array([row[0][i] for row in rows], dtype="float64") for i, name in enumerate(_NUMBERS)
        }
        self.texts: dict[str, list[Any]] = {
            name: [row[1][i] for row in rows] for i, name in enumerate(_TEXTS)
        }
        self.position = {local_id: i for i, local_id in enumerate(self.texts["local_id"])}
        self.status_codes = np.array(
            [_STATUS_CODES.get(s, _UNKNOWN_CODE) for s in self.texts["status"]], "int16"
        )
        self.order: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.texts["local_id"])

    def put(self, records: Sequence[JobRecord]) -> None:
        """Update the rows of these records in place; add rows for new ones."""
        added: list[tuple[tuple[float, ...], tuple[Any, ...]]] = []
        for record in records:
            numbers, texts = _row(record)
            position = self.position.get(record.local_id)
            if position is None:
                added.append((numbers, texts))
                continue
            if self.numbers["submitted"][position] != numbers[2]:
                self.order = None
            for i, name in enumerate(_NUMBERS):
                self.numbers[name][position] = numbers[i]
            for i, name in enumerate(_TEXTS):
                self.texts[name][position] = texts[i]
            self.status_codes[position] = _STATUS_CODES.get(texts[0], _UNKNOWN_CODE)
        if added:
            start = len(self)
            for i, name in enumerate(_NUMBERS):
                self.numbers[name] = np.concatenate([self.numbers[name], [row[0][i] for row in added]])
            for i, name in enumerate(_TEXTS):
                self.texts[name].extend(row[1][i] for row in added)
            codes = [_STATUS_CODES.get(row[1][0], _UNKNOWN_CODE) for row in added]
            self.status_codes = np.concatenate([self.status_codes, np.array(codes, "int16")])
            for offset, row in enumerate(added):
                self.position[row[1][6]] = start + offset
            self.order = None

    def newest_first(self) -> np.ndarray:
        if self.order is None:
            # Newest first; records submitted at the same time keep the order they were logged in.
            self.order = np.argsort(-np.nan_to_num(self.numbers["submitted"], nan=0.0), kind="stable")
        return self.order

    def mask(self, *, statuses, kinds, text, since, until) -> np.ndarray:
        keep = np.ones(len(self), dtype=bool)
        if statuses is not None:
            codes = [_STATUS_CODES.get(getattr(s, "value", s), -1) for s in statuses]
            keep &= np.isin(self.status_codes, codes)
        if kinds is not None:
            wanted = {getattr(k, "value", k) for k in kinds}
            keep &= np.fromiter((k in wanted for k in self.texts["kind"]), bool, len(self))
        submitted = np.nan_to_num(self.numbers["submitted"], nan=0.0)
        if since is not None:
            keep &= submitted >= _epoch(since)
        if until is not None:
            keep &= submitted < _epoch(until)
        needle = text.strip().casefold() if text and text.strip() else None
        if needle:
            keep &= np.fromiter((needle in s for s in self.texts["search"]), bool, len(self))
        return keep

    def frame(self, positions: np.ndarray) -> pd.DataFrame:
        """The table (:data:`COLUMNS`) for these rows, in this order."""
        numbers = {name: array[positions] for name, array in self.numbers.items()}
        texts = {name: [values[i] for i in positions] for name, values in self.texts.items()}
        return pd.DataFrame(
            {
                "status_label": [STATUS_LABELS.get(s, s) for s in texts["status"]],
                "status": pd.Series(texts["status"], dtype=object),
                "progress": numbers["progress"],
                "kind": [KIND_LABELS.get(k, k) for k in texts["kind"]],
                "prompt": pd.Series(texts["prompt"], dtype=object),
                "resolution": pd.Series(texts["resolution"], dtype=object),
                "variant": pd.array(numbers["variant"], dtype="Float64").astype("Int64"),
                "parent": pd.Series(texts["parent"], dtype=object),
                "submitted": pd.to_datetime(numbers["submitted"], unit="s", utc=True),
                "finished": pd.to_datetime(numbers["finished"], unit="s", utc=True),
                "queue_wait_s": numbers["queue_wait_s"],
                "run_time_s": numbers["run_time_s"],
                "credits_frozen": pd.array(numbers["credits_frozen"], dtype="Float64").astype("Int64"),
                "credits_consumed": pd.array(numbers["credits_consumed"], dtype="Float64").astype("Int64"),
                "job_id": pd.Series(texts["job_id"], dtype=object),
                "local_id": pd.Series(texts["local_id"], dtype=object),
            },
            columns=list(COLUMNS),
        )


def _epoch(value: float | datetime) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


def records_to_frame(records: Iterable[JobRecord]) -> pd.DataFrame:
    """The history table: one row per record, newest first, the columns of :data:`COLUMNS`.

    ``progress`` is 0-100 (completed jobs 100); ``submitted``/``finished`` are UTC-aware datetimes;
    ``queue_wait_s`` is Legnext's created -> started, ``run_time_s`` started -> ended; ``variant`` is
    the 1-4 output of the parent the job was made from.
    """
    columns = _Columns(records)
    return columns.frame(columns.newest_first())


def status_counts(records: Iterable[JobRecord]) -> dict[str, int]:
    """How many records have each status, in the order a job moves through them (absent ones left out)."""
    counts = Counter(str(getattr(r.status, "value", r.status) or "") for r in records)
    return dict(sorted(counts.items(), key=lambda item: (_rank_or_last(item[0]), item[0])))


def _rank_or_last(status: str) -> int:
    rank = status_rank(status)
    return rank if rank >= 0 else 99


def to_csv(frame: pd.DataFrame) -> bytes:
    """The table as UTF-8 CSV with exactly the columns of :data:`CSV_COLUMNS` (times in ISO 8601 UTC)."""
    exported = frame.loc[:, list(CSV_COLUMNS)]
    return exported.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%SZ").encode("utf-8")


# -- the live table ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryPage:
    """What one refresh shows: a page of rows out of everything that matches the filters."""

    matching: int
    #: The page's local ids, in table order.
    local_ids: tuple[str, ...]
    #: The page as :data:`COLUMNS`.
    frame: pd.DataFrame
    counts: dict[str, int]
    frozen: int
    consumed: int
    page: int
    pages: int


class HistoryTable:
    """The job log as the History table, kept current from the records that changed.

    One per server process; every method is safe from any thread. ``store`` is a
    :class:`~legnext_core.store.JobStore` (its storage tells which records changed).
    """

    #: How many distinct refreshes (filters and page) are remembered for other tabs.
    CACHE_SIZE = 32

    def __init__(self, store: Any) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._version = -1
        self._columns: _Columns | None = None
        self._cache: OrderedDict[tuple, HistoryPage] = OrderedDict()
        #: How many times the table was built from every record, and how many refreshes it computed.
        self.rebuilds = 0
        self.computed = 0

    def sync(self) -> None:
        """Bring the rows up to date with the job log."""
        with self._lock:
            self._sync()

    def _sync(self) -> None:
        changes = self._store.storage.changes_since(self._version)
        if changes.version == self._version and self._columns is not None:
            return
        stored = self._store.stored()
        if changes.ids is None or self._columns is None:
            self._columns = _Columns(JobRecord.from_dict(data) for data in list(stored.values()))
            self.rebuilds += 1
        elif changes.ids:
            changed = [
                JobRecord.from_dict(stored[local_id])
                for table, local_id in changes.ids
                if table == "jobs" and local_id in stored
            ]
            self._columns.put(changed)
        self._version = changes.version
        self._cache.clear()

    def page(
        self,
        *,
        statuses: Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
        text: str | None = None,
        since: float | datetime | None = None,
        until: float | datetime | None = None,
        page: int = 0,
        page_size: int = 100,
    ) -> HistoryPage:
        """One page of the rows matching the filters, newest first, with their counts and credits."""
        statuses = tuple(statuses) if statuses is not None else None
        kinds = tuple(kinds) if kinds is not None else None
        key = (statuses, kinds, text or None, since, until, page, page_size)
        with self._lock:
            self._sync()
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
            result = self._compute(statuses, kinds, text, since, until, page, page_size)
            self._cache[key] = result
            if len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)
            self.computed += 1
            return result

    def _compute(self, statuses, kinds, text, since, until, page, page_size) -> HistoryPage:
        columns = self._columns
        assert columns is not None
        mask = columns.mask(statuses=statuses, kinds=kinds, text=text, since=since, until=until)
        order = columns.newest_first()
        matching = order[mask[order]]
        pages = max(1, -(-len(matching) // page_size))
        page = min(max(0, page), pages - 1)
        shown = matching[page * page_size : (page + 1) * page_size]
        codes = np.bincount(columns.status_codes[mask], minlength=_UNKNOWN_CODE + 1)
        counts = {status: int(codes[code]) for status, code in _STATUS_CODES.items() if codes[code]}
        frozen = np.nansum(columns.numbers["credits_frozen"][mask])
        consumed = np.nansum(columns.numbers["credits_consumed"][mask])
        return HistoryPage(
            matching=len(matching),
            local_ids=tuple(columns.texts["local_id"][i] for i in shown),
            frame=columns.frame(shown),
            counts=counts,
            frozen=int(frozen),
            consumed=int(consumed),
            page=page,
            pages=pages,
        )

    def frame(self, **filters: Any) -> pd.DataFrame:
        """Every row matching the filters as :data:`COLUMNS` (for a CSV export)."""
        with self._lock:
            self._sync()
            columns = self._columns
            assert columns is not None
            mask = columns.mask(
                statuses=filters.get("statuses"),
                kinds=filters.get("kinds"),
                text=filters.get("text"),
                since=filters.get("since"),
                until=filters.get("until"),
            )
            order = columns.newest_first()
            return columns.frame(order[mask[order]])


def filter_records(
    records: Iterable[JobRecord],
    *,
    statuses: Iterable[str] | None = None,
    kinds: Iterable[str] | None = None,
    text: str | None = None,
    since: float | datetime | None = None,
    until: float | datetime | None = None,
) -> list[JobRecord]:
    """The records that pass the same filters as the table, in their given order."""
    records = list(records)
    columns = _Columns(records)
    mask = columns.mask(statuses=statuses, kinds=kinds, text=text, since=since, until=until)
    return [record for record, keep in zip(records, mask, strict=True) if keep]


__all__ = [
    "COLUMNS",
    "CSV_COLUMNS",
    "HistoryPage",
    "HistoryTable",
    "KIND_LABELS",
    "STATUS_LABELS",
    "filter_records",
    "records_to_frame",
    "shorten",
    "status_counts",
    "to_csv",
]
