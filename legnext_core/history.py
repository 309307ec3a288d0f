"""The history table: job records -> pandas DataFrame, kept current incrementally, counts and CSV.

:func:`records_to_frame` builds the table from records (for exports and tests). :class:`HistoryTable`
is what the History page reads: one per server process, shared by every open tab. It holds one
compact row per job in column arrays (no copy of the records themselves), updates only the rows of
the records the job log says changed since its last look, and answers a refresh (filters, counts,
credits, one page of rows) with array operations; a refresh that finds nothing changed and asks
what another tab just asked is answered from a small cache. No streamlit here.
"""

from __future__ import annotations

import csv
import io
import threading
from array import array
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from legnext_core.joblog.records_table import Stamp, decode_record, release_freed_memory
from legnext_core.models import JobKind, resolution_label
from legnext_core.records import (
    NO_SIGN_IN,
    JobRecord,
    RecordStatus,
    shared_text,
    sort_newest_first,
    status_rank,
)

#: The word for each record status, everywhere one is shown (defined once, by the status itself).
STATUS_LABELS: dict[str, str] = {status.value: status.label for status in RecordStatus}

#: Kind labels by record value (the wording lives on :class:`JobKind`).
KIND_LABELS: dict[str, str] = {kind.value: kind.label for kind in JobKind}

#: Added to the status label of a job whose progress is estimated from elapsed time.
ESTIMATE_SUFFIX = " · progress estimated"

#: Statuses whose frozen points are still held: the job may yet run (or is running) at Legnext.
RESERVING_STATUSES = frozenset({"submitting", "unknown", "pending", "staged", "processing"})

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
    "submitted_by",
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
    "progress", "variant", "submitted", "finished", "queue_wait_s", "run_time_s",
    "credits_frozen", "credits_consumed",
)  # fmt: skip
#: Text columns, held as lists (None for none). ``prompt`` is the whole prompt as stored: it is
#: shortened only for the rows a page shows, and searched casefolded row by row (a casefolded copy
#: of every prompt, and a shortened one, took ~35 % of the table's memory; a search over 100,000
#: rows takes ~25 ms more, once per search text: its matches are then kept current row by row).
#: ``search_id`` is the casefolded job id (the same
#: string for Legnext's lowercase ids); ``label`` the status label (marked when the progress is
#: estimated). ``status`` stays first and ``local_id`` seventh: rows are read by position.
_TEXTS = (
    "status", "kind", "prompt", "resolution", "parent", "job_id", "local_id",
    "submitted_by", "label", "search_id",
)  # fmt: skip
_STATUS_CODES = {status.value: code for code, status in enumerate(RecordStatus)}
_UNKNOWN_CODE = len(_STATUS_CODES)


def _number(value: Any) -> float:
    return float(value) if value is not None else np.nan


def _folded(text: str) -> str:
    """``text`` casefolded, the same object when it already is (most prompts and every job id)."""
    folded = text.casefold()
    return text if folded == text else folded


#: Status labels of jobs whose progress is estimated, made once per status rather than once per row.
_ESTIMATED_LABELS = {status: label + ESTIMATE_SUFFIX for status, label in STATUS_LABELS.items()}


def _row(data: Mapping[str, Any], key: str | None = None) -> tuple[tuple[float, ...], tuple[Any, ...]]:
    """One stored record's row, read from the stored object itself (as :meth:`JobRecord.from_dict`
    reads it: a missing status is ``submitting``, a missing author ``local``) without building the
    record, which costs more than the row at 100,000 jobs. ``key`` is the log's key of the record
    (its local id): that string is kept rather than the parsed record's copy of it."""
    # Statuses, kinds and authors repeat on every row: one string each for the whole table (a record
    # is parsed anew for its row, with strings of its own).
    raw_status = data.get("status", "submitting")
    status = shared_text(raw_status if type(raw_status) is str else str(raw_status or ""))
    raw_kind = data.get("kind")
    kind = shared_text(raw_kind if type(raw_kind) is str else str(raw_kind or ""))
    started, ended, created = data.get("started_at"), data.get("ended_at"), data.get("created_at")
    queue_wait = started - created if started is not None and created is not None else None
    run_time = ended - started if ended is not None and started is not None else None
    progress = 100.0 if status == "completed" else _number(data.get("progress"))
    resolution = resolution_label(data.get("video_type") or 0) if kind in _KINDS_WITH_OWN_RESOLUTION else None
    parent_index = data.get("parent_index")
    submitted = data.get("submitted_at") or created
    prompt = data.get("prompt") or ""
    job_id = data.get("job_id")
    numbers = (
        progress,
        _number(parent_index + 1 if parent_index is not None else None),
        _number(submitted or None),
        _number(ended),
        # A clock step between two Legnext timestamps must not show as a negative duration.
        _number(queue_wait if queue_wait is not None and queue_wait >= 0 else None),
        _number(run_time if run_time is not None and run_time >= 0 else None),
        _number(data.get("credits_frozen")),
        _number(data.get("credits_consumed")),
    )
    local_id = data.get("local_id")
    texts = (
        status,
        kind,
        prompt,
        resolution,
        (data.get("parent_job_id") or "")[:SHORT_ID_CHARS] or None,
        job_id,
        key if key is not None and key == local_id else local_id,
        # Records made before people signed in were made by the one local user.
        shared_text(data.get("submitted_by") or NO_SIGN_IN),
        (_ESTIMATED_LABELS if data.get("progress_estimated") else STATUS_LABELS).get(status, status),
        _folded(job_id or ""),
    )
    return numbers, texts


def _matches(needle: str, prompt: str, search_id: str) -> bool:
    """Whether a row matches a casefolded search text: in its job id or its prompt, casefolded."""
    return needle in search_id or needle in prompt.casefold()


class _Columns:
    """The table's rows as column arrays, in the order records were first seen.

    Rows are made from stored objects (:meth:`JobRecord.to_dict` form); text cells refer to the
    stored strings wherever the row shows them unchanged, so the table adds little to the log's memory.
    """

    def __init__(self, stored: Iterable[tuple[str | None, Mapping[str, Any]]]) -> None:
        # Filled column by column in one pass: no list of 100,000 row tuples and boxed floats is
        # held (the memory it took stayed with the process after it was freed).
        numbers = [array("d") for _ in _NUMBERS]
        texts: list[list[Any]] = [[] for _ in _TEXTS]
        for key, data in stored:
            row_numbers, row_texts = _row(data, key)
            for column, value in zip(numbers, row_numbers, strict=True):
                column.append(value)
            for cells, cell in zip(texts, row_texts, strict=True):
                cells.append(cell)
        self.numbers = {name: np.array(numbers[i], dtype="float64") for i, name in enumerate(_NUMBERS)}
        self.texts: dict[str, list[Any]] = {name: texts[i] for i, name in enumerate(_TEXTS)}
        self.position = {local_id: i for i, local_id in enumerate(self.texts["local_id"])}
        self.status_codes = np.fromiter(
            (_STATUS_CODES.get(s, _UNKNOWN_CODE) for s in self.texts["status"]), "int16", len(self)
        )
        self.order: np.ndarray | None = None
        #: The rows each recent search text matches, kept current row by row as rows change: while
        #: jobs run a row changes every few seconds, and searching every prompt again each time
        #: would cost ~60 ms at 100,000 rows.
        self.text_matches: OrderedDict[str, np.ndarray] = OrderedDict()

    @classmethod
    def of_records(cls, records: Iterable[JobRecord]) -> _Columns:
        return cls((None, record.to_dict()) for record in records)

    def __len__(self) -> int:
        return len(self.texts["local_id"])

    def put(self, stored: Sequence[tuple[str, Mapping[str, Any]]]) -> bool:
        """Update the rows of these stored records (key, record) in place; add rows for new ones.

        Returns whether any row changed: most changes to the log (a poll's time and count) change
        nothing the table shows, and then every answer already given still holds.
        """
        added: list[tuple[tuple[float, ...], tuple[Any, ...]]] = []
        changed = False
        for key, data in stored:
            numbers, texts = _row(data, key)
            position = self.position.get(texts[6])
            if position is None:
                added.append((numbers, texts))
                continue
            if self._same(position, numbers, texts):
                continue
            changed = True
            if self.numbers["submitted"][position] != numbers[2]:
                self.order = None
            for i, name in enumerate(_NUMBERS):
                self.numbers[name][position] = numbers[i]
            for i, name in enumerate(_TEXTS):
                self.texts[name][position] = texts[i]
            self.status_codes[position] = _STATUS_CODES.get(texts[0], _UNKNOWN_CODE)
            for needle, matches in self.text_matches.items():
                matches[position] = _matches(needle, texts[2], texts[9])
        if added:
            self._append(added)
        return changed or bool(added)

    def _append(self, added: list[tuple[tuple[float, ...], tuple[Any, ...]]]) -> None:
        """Add these rows at the end."""
        start = len(self)
        for i, name in enumerate(_NUMBERS):
            self.numbers[name] = np.concatenate([self.numbers[name], [row[0][i] for row in added]])
        for i, name in enumerate(_TEXTS):
            self.texts[name].extend(row[1][i] for row in added)
        codes = [_STATUS_CODES.get(row[1][0], _UNKNOWN_CODE) for row in added]
        self.status_codes = np.concatenate([self.status_codes, np.array(codes, "int16")])
        for offset, row in enumerate(added):
            self.position[row[1][6]] = start + offset
        for needle, matches in self.text_matches.items():
            more = np.array([_matches(needle, row[1][2], row[1][9]) for row in added], bool)
            self.text_matches[needle] = np.concatenate([matches, more])
        self.order = None

    def _same(self, position: int, numbers: tuple[float, ...], texts: tuple[Any, ...]) -> bool:
        for i, name in enumerate(_NUMBERS):
            old = self.numbers[name][position]
            if old != numbers[i] and not (old != old and numbers[i] != numbers[i]):  # NaN is NaN here
                return False
        return all(self.texts[name][position] == texts[i] for i, name in enumerate(_TEXTS))

    def newest_first(self) -> np.ndarray:
        if self.order is None:
            # Newest first; records submitted at the same time keep the order they were logged in.
            self.order = np.argsort(-np.nan_to_num(self.numbers["submitted"], nan=0.0), kind="stable")
        return self.order

    def mask(self, *, statuses, kinds, text, since, until, submitted_by=None) -> np.ndarray:
        keep = np.ones(len(self), dtype=bool)
        if submitted_by is not None:
            keep &= np.fromiter((by == submitted_by for by in self.texts["submitted_by"]), bool, len(self))
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
            keep &= self._text_matches(needle)
        return keep

    #: How many search texts' matches are kept (a bool per row each).
    TEXTS_KEPT = 8

    def _text_matches(self, needle: str) -> np.ndarray:
        matches = self.text_matches.get(needle)
        if matches is None:
            found = zip(self.texts["prompt"], self.texts["search_id"], strict=True)
            matches = np.fromiter((_matches(needle, p, j) for p, j in found), bool, len(self))
            self.text_matches[needle] = matches
            if len(self.text_matches) > self.TEXTS_KEPT:
                self.text_matches.popitem(last=False)
        else:
            self.text_matches.move_to_end(needle)
        return matches

    def frame(self, positions: np.ndarray) -> pd.DataFrame:
        """The table (:data:`COLUMNS`) for these rows, in this order."""
        numbers = {name: array[positions] for name, array in self.numbers.items()}
        texts = {name: [values[i] for i in positions] for name, values in self.texts.items()}
        return pd.DataFrame(
            {
                "status_label": pd.Series(texts["label"], dtype=object),
                "status": pd.Series(texts["status"], dtype=object),
                "progress": numbers["progress"],
                "kind": [KIND_LABELS.get(k, k) for k in texts["kind"]],
                "submitted_by": pd.Series(texts["submitted_by"], dtype=object),
                "prompt": pd.Series([shorten(p) for p in texts["prompt"]], dtype=object),
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
    columns = _Columns.of_records(records)
    return columns.frame(columns.newest_first())


def status_counts(records: Iterable[JobRecord]) -> dict[str, int]:
    """How many records have each status, in the order a job moves through them (absent ones left out)."""
    counts = Counter(str(getattr(r.status, "value", r.status) or "") for r in records)
    return dict(sorted(counts.items(), key=lambda item: (_rank_or_last(item[0]), item[0])))


def _rank_or_last(status: str) -> int:
    rank = status_rank(status)
    return rank if rank >= 0 else 99


def reserved_points(records: Iterable[JobRecord]) -> int:
    """Points Legnext holds for jobs still under way: frozen at submission, released when a job ends
    (charged as consumed, or given back). A finished job's frozen points are no longer reserved."""
    return sum(record.credits_frozen or 0 for record in records if record.status in RESERVING_STATUSES)


def made_by(records: Iterable[JobRecord], email: str | None) -> list[JobRecord]:
    """The records ``email`` submitted ("Mine"), or all of them when ``email`` is None ("Everyone")."""
    if email is None:
        return list(records)
    return [record for record in records if (record.submitted_by or NO_SIGN_IN) == email]


# -- the CSV export ----------------------------------------------------------------------------------------

#: Cells a spreadsheet would read as a formula start with one of these (OWASP, "CSV Injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

#: Outputs per job: each gets a URL and an archived-file column in the export.
_EXPORT_OUTPUTS = 4

#: What the CSV export holds, in order: every field a person set, every outcome, full values. The
#: callback URL is left out on purpose: a webhook URL may carry a token. ``prompt`` and ``resolution``
#: are named as the batch form's CSV expects, so an export can be sent again as a batch.
EXPORT_COLUMNS: tuple[str, ...] = (
    "local_id", "job_id", "kind", "kind_label", "status", "status_label", "progress",
    "prompt", "image_url", "resolution", "motion", "raw", "speed", "batch_size", "end_url", "loop",
    "parent_job_id", "parent_variant", "batch_id", "resubmit_of", "submitted_by",
    "submitted", "created", "started", "finished", "queue_wait_s", "run_time_s",
    "estimated_points", "credits_frozen", "credits_consumed", "seed",
    "error_code", "error_message", "note",
    *(f"output_{n}_url" for n in range(1, _EXPORT_OUTPUTS + 1)),
    *(f"output_{n}_file" for n in range(1, _EXPORT_OUTPUTS + 1)),
)  # fmt: skip


def _iso(epoch: Any) -> str | None:
    if not isinstance(epoch, int | float):
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _span(start: Any, end: Any) -> float | None:
    if not isinstance(start, int | float) or not isinstance(end, int | float) or end < start:
        return None
    return round(end - start, 3)


def export_row(record: JobRecord) -> dict[str, Any]:
    """One record as a row of :data:`EXPORT_COLUMNS`, values whole (never shortened)."""
    kind = str(getattr(record.kind, "value", record.kind) or "")
    status = str(getattr(record.status, "value", record.status) or "")
    index = record.parent_index
    outputs = list(record.video_urls or record.image_urls or [])
    files = list(record.media_paths or [])
    row: dict[str, Any] = {
        "local_id": record.local_id,
        "job_id": record.job_id,
        "kind": kind,
        "kind_label": KIND_LABELS.get(kind, kind),
        "status": status,
        "status_label": STATUS_LABELS.get(status, status),
        "progress": 100 if status == "completed" else record.progress,
        "prompt": record.prompt,
        "image_url": record.image_url if kind == "image_url_video" else None,
        "resolution": (resolution_label(record.video_type) if kind in _KINDS_WITH_OWN_RESOLUTION else None),
        "motion": record.motion,
        "raw": bool(record.raw) if kind != "image" else None,
        "speed": record.speed,
        "batch_size": record.batch_size,
        "end_url": record.end_url,
        # False is how a record says "not asked for"; the export leaves that cell empty, as before.
        "loop": record.loop or None,
        "parent_job_id": record.parent_job_id,
        "parent_variant": index + 1 if isinstance(index, int) else None,
        "batch_id": record.batch_id,
        "resubmit_of": record.resubmit_of,
        "submitted_by": record.submitted_by or NO_SIGN_IN,
        "submitted": _iso(record.submitted_at or record.created_at),
        "created": _iso(record.created_at),
        "started": _iso(record.started_at),
        "finished": _iso(record.ended_at),
        "queue_wait_s": _span(record.created_at, record.started_at),
        "run_time_s": _span(record.started_at, record.ended_at),
        "estimated_points": record.estimated_points,
        "credits_frozen": record.credits_frozen,
        "credits_consumed": record.credits_consumed,
        "seed": record.seed,
        "error_code": record.error_code,
        "error_message": record.error_message,
        "note": record.note,
    }
    for n in range(_EXPORT_OUTPUTS):
        row[f"output_{n + 1}_url"] = outputs[n] if n < len(outputs) else None
        row[f"output_{n + 1}_file"] = files[n] if n < len(files) else None
    return row


def neutralise_formula(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula, made inert with a leading apostrophe.

    OWASP's advice for CSV injection: prefix cells starting with ``= + - @``, tab or carriage return
    with ``'``; the csv writer quotes the rest. Numbers are left alone (they are ours, not typed).
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def to_csv(records: Iterable[JobRecord]) -> bytes:
    """The export of ``records`` (newest first): :data:`EXPORT_COLUMNS`, full values, formulas made inert,
    times in ISO 8601 UTC, UTF-8 with a byte-order mark so spreadsheets read accents and arrows right."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(EXPORT_COLUMNS), lineterminator="\r\n")
    writer.writeheader()
    for record in sort_newest_first(records):
        writer.writerow({name: neutralise_formula(value) for name, value in export_row(record).items()})
    return buffer.getvalue().encode("utf-8-sig")


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
    #: Points held for the matching jobs still under way (finished jobs hold none).
    reserved: int
    consumed: int
    page: int
    pages: int


class HistoryTable:
    """The job log as the History table, kept current from the records that changed.

    One per server process; every method is safe from any thread. ``store`` is a
    :class:`~legnext_core.store.JobStore` (its storage tells which records changed).
    Filters are keywords: ``statuses``, ``kinds``, ``text``, ``since``, ``until`` (as
    :meth:`JobStore.recent`) and ``submitted_by`` (one person's jobs; None for everyone's).
    """

    #: How many distinct refreshes (filters and page) are remembered for other tabs.
    CACHE_SIZE = 32
    #: How many distinct :meth:`local_ids` answers are remembered.
    IDS_CACHE_SIZE = 8
    #: The most records :meth:`records` keeps built between calls.
    KEEP_BUILT = 20_000

    def __init__(self, store: Any) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._version = -1
        self._columns: _Columns | None = None
        self._cache: OrderedDict[tuple, HistoryPage] = OrderedDict()
        #: The matching local ids of recent :meth:`local_ids` filters (the Gallery's search asks again
        #: on every refresh), dropped with the page cache whenever a row changes.
        self._ids_cache: OrderedDict[_Filters, tuple[str, ...]] = OrderedDict()
        self._built: dict[str, tuple[Stamp, JobRecord]] = {}
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
            # From a copy of the table's bytes, parsed one record at a time: the log may change
            # meanwhile, and the records are never all parsed at once.
            self._columns = _Columns(stored.copy().items())
            release_freed_memory()  # the records parsed for the rows
            self.rebuilds += 1
            self._forget_answers()
        elif changes.ids:
            ids = [i for table, i in changes.ids if table == "jobs"]
            changed = [(i, stored[i]) for i in ids if i in stored]
            if self._columns.put(changed) or len(changed) < len(ids):
                self._forget_answers()
        self._version = changes.version

    def _forget_answers(self) -> None:
        """Drop the pages and id lists already answered: a row they came from has changed."""
        self._cache.clear()
        self._ids_cache.clear()

    def page(
        self,
        *,
        statuses: Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
        text: str | None = None,
        since: float | datetime | None = None,
        until: float | datetime | None = None,
        submitted_by: str | None = None,
        page: int = 0,
        page_size: int = 100,
    ) -> HistoryPage:
        """One page of the rows matching the filters, newest first, with their counts and credits."""
        statuses = tuple(statuses) if statuses is not None else None
        kinds = tuple(kinds) if kinds is not None else None
        filters = _Filters(statuses, kinds, text or None, since, until, submitted_by)
        key = (filters, page, page_size)
        with self._lock:
            self._sync()
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
            result = self._compute(filters, page, page_size)
            self._cache[key] = result
            if len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)
            self.computed += 1
            return result

    def _compute(self, filters: _Filters, page: int, page_size: int) -> HistoryPage:
        columns = self._columns
        assert columns is not None
        mask = columns.mask(**filters._asdict())
        order = columns.newest_first()
        matching = order[mask[order]]
        pages = max(1, -(-len(matching) // page_size))
        page = min(max(0, page), pages - 1)
        shown = matching[page * page_size : (page + 1) * page_size]
        codes = np.bincount(columns.status_codes[mask], minlength=_UNKNOWN_CODE + 1)
        counts = {status: int(codes[code]) for status, code in _STATUS_CODES.items() if codes[code]}
        reserving = mask & np.isin(columns.status_codes, _RESERVING_CODES)
        reserved = np.nansum(columns.numbers["credits_frozen"][reserving])
        consumed = np.nansum(columns.numbers["credits_consumed"][mask])
        return HistoryPage(
            matching=len(matching),
            local_ids=tuple(columns.texts["local_id"][i] for i in shown),
            frame=columns.frame(shown),
            counts=counts,
            reserved=int(reserved),
            consumed=int(consumed),
            page=page,
            pages=pages,
        )

    def local_ids(self, **filters: Any) -> list[str]:
        """The local ids of every row matching the filters, newest first."""
        for name in ("statuses", "kinds"):
            if filters.get(name) is not None:
                filters[name] = tuple(filters[name])
        key = _Filters(**filters)
        with self._lock:
            self._sync()
            found = self._ids_cache.get(key)
            if found is None:
                columns = self._columns
                assert columns is not None
                mask = columns.mask(**key._asdict())
                order = columns.newest_first()
                ids = columns.texts["local_id"]
                found = tuple(ids[i] for i in order[mask[order]])
                self._ids_cache[key] = found
                if len(self._ids_cache) > self.IDS_CACHE_SIZE:
                    self._ids_cache.popitem(last=False)
            else:
                self._ids_cache.move_to_end(key)
            return list(found)

    def records(self, **filters: Any) -> list[JobRecord]:
        """Every record matching the filters, newest first, as the log holds them now.

        For the CSV export, and for the spending check before every submission (this month's
        records). The records of the last answer are kept with the stamp of the stored record each
        was built from (:meth:`RecordTable.stamp`, replaced whenever the record changes), so an
        unchanged record is not read and built again; the month's 4,000
        records at 100,000 jobs took 160 ms to build per submission.
        """
        stored = self._store.stored()
        previous = self._built
        built: dict[str, tuple[Stamp, JobRecord]] = {}
        found = []
        for local_id in self.local_ids(**filters):
            stamp = stored.stamp(local_id)
            if stamp is None:
                continue
            kept = previous.get(local_id)
            if kept is not None and kept[0] is stamp:
                record = kept[1]
            else:
                raw = stored.raw(local_id)
                if raw is None:
                    continue
                record = JobRecord.from_dict(decode_record(raw))
            built[local_id] = (stamp, record)
            found.append(record)
        # Bounded: a whole-log export of a large log is not worth holding on to.
        self._built = built if len(built) <= self.KEEP_BUILT else {}
        return found

    def frame(self, **filters: Any) -> pd.DataFrame:
        """Every row matching the filters as :data:`COLUMNS`."""
        with self._lock:
            self._sync()
            columns = self._columns
            assert columns is not None
            mask = columns.mask(**_Filters(**filters)._asdict())
            order = columns.newest_first()
            return columns.frame(order[mask[order]])


class _Filters(NamedTuple):
    statuses: tuple[str, ...] | None = None
    kinds: tuple[str, ...] | None = None
    text: str | None = None
    since: float | datetime | None = None
    until: float | datetime | None = None
    submitted_by: str | None = None


_RESERVING_CODES = [_STATUS_CODES[status] for status in RESERVING_STATUSES]


def filter_records(records: Iterable[JobRecord], **filters: Any) -> list[JobRecord]:
    """The records that pass the same filters as the table (the keywords of
    :meth:`HistoryTable.page`), in their given order."""
    records = list(records)
    mask = _Columns.of_records(records).mask(**_Filters(**filters)._asdict())
    return [record for record, keep in zip(records, mask, strict=True) if keep]


__all__ = [
    "COLUMNS",
    "ESTIMATE_SUFFIX",
    "EXPORT_COLUMNS",
    "HistoryPage",
    "HistoryTable",
    "KIND_LABELS",
    "RESERVING_STATUSES",
    "STATUS_LABELS",
    "export_row",
    "filter_records",
    "made_by",
    "neutralise_formula",
    "records_to_frame",
    "reserved_points",
    "shorten",
    "status_counts",
    "to_csv",
]
