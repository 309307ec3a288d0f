"""The Gallery's data: pages of result cards, newest first, and what people keep, tag and hide.

Pure functions over the job store, no Streamlit. A page is read with :meth:`JobStore.newest_page`,
which walks the log from the newest record and stops as soon as the page is full, so a refresh costs
the same at 100,000 jobs as at 1,000 (no count of every match, no sort, no copy of the log). Paging
is by position in the log: "older" continues where the page ended.

Posters come from the tracker's archiving step (``thumbnails``); a card never decodes a video.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from legnext_core.filters import JobFilter
from legnext_core.history import KIND_LABELS, HistoryTable, shorten
from legnext_core.media import archived_file
from legnext_core.models import JobKind, control_character_problem
from legnext_core.records import NO_SIGN_IN, JobRecord
from legnext_core.store import JobStore

PER_PAGE = 24
#: How much of a prompt a card (and the studio's other small views of a job) shows; the job's page has it all.
CARD_PROMPT_CHARS = 180
MAX_TAGS = 12
MAX_TAG_CHARS = 32


@dataclass(frozen=True)
class GalleryFilter(JobFilter):
    """The same filters as History, plus the Gallery's own (person, favourites, tags, hidden)."""

    #: ``submitted_by`` (an e-mail, or "local" without sign-in); empty for everyone.
    person: str = ""
    favourites_only: bool = False
    #: A card matches when it has every one of these tags.
    tags: tuple[str, ...] = ()
    show_hidden: bool = False

    def predicate(self) -> Callable[[Mapping[str, Any]], bool]:
        """A filter over stored objects, like :func:`record_filter`: a page builds only what it shows."""
        base = super().predicate()
        person = self.person.strip().casefold()
        wanted_tags = {tag.casefold() for tag in self.tags}

        def keep(record: Mapping[str, Any]) -> bool:
            if record.get("hidden") and not self.show_hidden:
                return False
            if self.favourites_only and not record.get("favourite_variants"):
                return False
            if person and (record.get("submitted_by") or NO_SIGN_IN).casefold() != person:
                return False
            if wanted_tags and not wanted_tags <= {t.casefold() for t in record.get("tags") or ()}:
                return False
            return base(record)

        return keep


@dataclass(frozen=True)
class Tile:
    """One variant of a job: its poster (None: show the placeholder), its media, whether it is a favourite."""

    index: int
    poster: str | None
    media: str | None
    url: str | None
    is_video: bool
    favourite: bool

    @property
    def label(self) -> str:
        return f"{'Video' if self.is_video else 'Image'} {self.index + 1}"


@dataclass(frozen=True)
class Card:
    """One job as the Gallery shows it."""

    local_id: str
    job_id: str | None
    kind: str
    status: str
    prompt: str
    submitted_at: float
    progress: int | None
    error_message: str | None
    submitted_by: str | None
    tags: tuple[str, ...]
    hidden: bool
    tiles: tuple[Tile, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class GalleryPage:
    cards: list[Card]
    #: Where the next, older page starts (None: this is the last).
    older: int | None


#: What a card without a prompt says instead, by kind: an upscale never takes one, and an extension sent
#: without one (auto) continued with its video's own.
NO_PROMPT = {
    JobKind.UPSCALE.value: "(an upscale takes no prompt)",
    JobKind.EXTEND.value: "(no new prompt: it continues its video's own)",
}


def prompt_line(card: Card, limit: int = CARD_PROMPT_CHARS) -> str:
    """The card's prompt cut to ``limit`` characters, or what stands in for a missing one."""
    return shorten(card.prompt, limit) or NO_PROMPT.get(card.kind, "(no prompt)")


def card_of(record: JobRecord) -> Card:
    is_video = record.kind != JobKind.IMAGE
    urls = list(record.video_urls or []) if is_video else list(record.image_urls or [])
    media = list(record.media_paths or [])
    posters = list(record.thumbnails or [])
    favourites = set(record.favourite_variants or ())
    count = max(len(urls), len(media))
    tiles = tuple(
        Tile(
            index=i,
            poster=posters[i] if i < len(posters) else None,
            media=media[i] if i < len(media) else None,
            url=urls[i] if i < len(urls) else None,
            is_video=is_video,
            favourite=i in favourites,
        )
        for i in range(count)
    )
    return Card(
        local_id=record.local_id,
        job_id=record.job_id,
        kind=str(record.kind or ""),
        status=str(record.status or ""),
        prompt=record.prompt or "",
        submitted_at=record.sort_time,
        progress=record.progress,
        error_message=record.error_message,
        submitted_by=record.submitted_by,
        tags=tuple(record.tags or ()),
        hidden=record.hidden,
        tiles=tiles,
    )


def load_page(
    store: JobStore,
    filters: GalleryFilter,
    *,
    before: int | None = None,
    per_page: int = PER_PAGE,
    history: HistoryTable | None = None,
) -> GalleryPage:
    """One page of cards, newest first, from ``before`` on (None: the newest page).

    Without a text search the log is walked from its newest record and the walk stops when the page is
    full. A text search may match nothing, which that walk finds out only at the log's first record
    (casefolding every prompt on the way: 257 ms at 100,000 jobs), so with ``history`` (the process's
    shared History table, whose columns already hold every prompt casefolded) the search asks the
    table for the matching jobs instead, and pages by place among them: ``before`` and the page's
    ``older`` are then offsets in that newest-first list, not positions in the log. A person's jobs
    are asked of the table too: a person with few jobs (or none yet, as a newcomer on Create) would
    otherwise make every refresh walk the whole log.
    """
    if (filters.text or filters.person.strip()) and history is not None:
        return _search_page(store, history, filters, offset=before or 0, per_page=per_page)
    records, older = store.newest_page(filters.predicate(), limit=per_page, before=before)
    return GalleryPage([card_of(record) for record in records], older)


def _search_page(
    store: JobStore, history: HistoryTable, filters: GalleryFilter, *, offset: int, per_page: int
) -> GalleryPage:
    person = filters.person.strip().casefold()
    matching = history.local_ids(
        statuses=filters.statuses or None,
        kinds=filters.kinds or None,
        text=filters.text,
        since=filters.since,
        until=filters.until,
        # Addresses are recorded lower-cased (``access.decide``), "local" without sign-in.
        submitted_by=person or None,
    )
    # The table narrows by the History filters and the person; the Gallery's own (hidden, favourites,
    # tags) and the others again are checked on each candidate, so the page is exactly what the walk
    # would find.
    keep = filters.predicate()
    stored = store.stored()
    found: list[JobRecord] = []
    for place in range(max(0, offset), len(matching)):
        data = stored.get(matching[place])
        if data is None or not keep(data):
            continue
        if len(found) == per_page:
            return GalleryPage([card_of(record) for record in found], place)
        found.append(JobRecord.from_dict(data))
    return GalleryPage([card_of(record) for record in found], None)


# -- keep, tag, hide ----------------------------------------------------------------------------------


def toggle_favourite(store: JobStore, local_id: str, index: int) -> bool:
    """Favourite variant ``index`` of a job, or unfavourite it; True when it is now a favourite."""
    record = store.get(local_id)
    if record is None:
        raise KeyError(local_id)
    favourites = set(record.favourite_variants or ())
    now_favourite = index not in favourites
    favourites.symmetric_difference_update({index})
    store.update_library(local_id, favourite_variants=sorted(favourites))
    return now_favourite


def set_favourite(store: JobStore, local_id: str, index: int, favourite: bool) -> None:
    """Make variant ``index`` of a job a favourite or not, as asked.

    The Gallery's star says what a click will do and asks for exactly that, so a click the server
    happens to receive twice (a busy server, a refresh in between) cannot undo itself, as a toggle would.
    """
    record = store.get(local_id)
    if record is None:
        raise KeyError(local_id)
    favourites = set(record.favourite_variants or ())
    if favourite:
        favourites.add(index)
    else:
        favourites.discard(index)
    store.update_library(local_id, favourite_variants=sorted(favourites))


def normalise_tags(raw: Sequence[str] | str) -> tuple[str, ...]:
    """Tags as kept: trimmed, inner spaces collapsed, no duplicates (case-insensitive), bounded.

    Raises ValueError with a sentence for the page when a tag is too long or there are too many.
    """
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    tags: list[str] = []
    seen: set[str] = set()
    for item in items:
        tag = " ".join(str(item).split())
        if not tag or tag.casefold() in seen:
            continue
        if len(tag) > MAX_TAG_CHARS:
            raise ValueError(f"A tag has at most {MAX_TAG_CHARS} characters; “{tag[:40]}…” is longer.")
        control = control_character_problem(tag, "A tag")
        if control is not None:
            raise ValueError(control)
        seen.add(tag.casefold())
        tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValueError(f"A job takes at most {MAX_TAGS} tags.")
    return tuple(tags)


def set_tags(store: JobStore, local_id: str, raw: Sequence[str] | str) -> tuple[str, ...]:
    tags = normalise_tags(raw)
    store.update_library(local_id, tags=list(tags))
    return tags


def set_hidden(store: JobStore, local_id: str, hidden: bool) -> None:
    store.update_library(local_id, hidden=bool(hidden))


#: The most parts a chain is followed back through (Legnext allows four extensions; a hand-edited log
#: may hold a loop).
MAX_CHAIN_PARTS = 8


def extension_chain(store: JobStore, record: JobRecord, index: int) -> list[tuple[JobRecord, int]]:
    """The videos an extended video grew from, oldest first, ending with ``(record, index)`` itself.

    Read from the job log's parent links: an extension names the job and variant it extended
    (``parent_job_id``, ``parent_index``). A parent missing from the log ends the walk there.
    """
    parts = [(record, index)]
    seen = {record.local_id}
    current = record
    while (
        current.kind == JobKind.EXTEND
        and current.parent_job_id
        and current.parent_index is not None
        and len(parts) < MAX_CHAIN_PARTS
    ):
        parent = store.by_job_id(current.parent_job_id)
        if parent is None or parent.local_id in seen:
            break
        seen.add(parent.local_id)
        parts.insert(0, (parent, current.parent_index))
        current = parent
    return parts


def web_url(url: str | None) -> str | None:
    """``url`` when a browser may be sent to it (http or https), else None: result URLs come from
    Legnext's answers, and an empty or odd one is no video to play."""
    return url if url and url.lower().startswith(("https://", "http://")) else None


@dataclass(frozen=True)
class ChainPart:
    """One video of an extension chain as the chain player plays it."""

    #: Its place in the chain, from 1 (the video first made), and how many parts the chain has.
    number: int
    of: int
    #: What it is: "Text to video, video 3".
    label: str
    #: The archived copy (preferred: Legnext's signed URLs expire), else Legnext's http(s) URL; neither:
    #: skipped.
    local_file: Path | None
    url: str | None

    @property
    def title(self) -> str:
        return f"Part {self.number} of {self.of}"

    @property
    def playable(self) -> bool:
        return self.local_file is not None or bool(self.url)


def chain_parts(
    store: JobStore, record: JobRecord, index: int, media_dir: Path | None = None
) -> list[ChainPart]:
    """The parts of the chain ending with ``(record, index)``, in playing order (oldest first).

    Each part's video is found as the Gallery plays it: the archived file under ``media_dir``, else the
    URL Legnext gave. A part with neither keeps its place and number (the player skips it).
    """
    chain = extension_chain(store, record, index)
    parts = []
    for number, (part, variant) in enumerate(chain, start=1):
        card = card_of(part)
        tile = next((t for t in card.tiles if t.index == variant and t.is_video), None)
        parts.append(
            ChainPart(
                number=number,
                of=len(chain),
                label=f"{KIND_LABELS.get(card.kind, card.kind)}, video {variant + 1}",
                local_file=archived_file(tile.media, media_dir) if tile is not None else None,
                url=web_url(tile.url) if tile is not None else None,
            )
        )
    return parts
