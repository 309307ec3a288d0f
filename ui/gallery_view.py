"""The Gallery page's parts: filters, the grid of result cards, the player, favourites, tags, hide.

The grid reads the job log only (never the API) and shows poster frames the tracker made when it
archived the media (``legnext_core.thumbnails``), so a refresh decodes nothing. It redraws itself in a
fragment, which is how a job finishing while the page is open shows its posters without a reload.
"""

from __future__ import annotations

import time
from dataclasses import asdict

import streamlit as st

from legnext_core import gallery
from legnext_core.gallery import Card, GalleryFilter, GalleryPage, Tile
from legnext_core.history import KIND_LABELS
from legnext_core.studio import Studio
from legnext_core.thumbnails import poster_source, preview_source
from ui import gallery_actions
from ui.chain_player import chain_of, chain_player
from ui.format import code_span, relative_time
from ui.history_filters import common_filters
from ui.job_status import status_label

#: Positions in the log where the pages seen so far began (the first page has None).
CURSORS_KEY = "gallery:cursors"
FILTER_KEY = "gallery:filter"
#: The variant to play in the player dialog: (local_id, index).
OPEN_KEY = "gallery:open"
#: Every tag seen on the cards this session: the Tags filter's choices.
SEEN_TAGS_KEY = "gallery:seen-tags"
ACTIVE = frozenset({"queued", "submitting", "pending", "staged", "processing"})


def filter_bar() -> GalleryFilter:
    """The filter widgets (History's, plus person, favourites, tags and hidden)."""
    shared = common_filters("gallery", search_placeholder="Words from the prompt, or a job id")
    # The two switches share a column, one above the other: side by side in columns of their own, their
    # labels were cut ("Favourit…", "Show hi…") wherever the page is narrower than about 1200 px.
    person_col, tags_col, switches_col = st.columns([1.3, 1.6, 1.2], vertical_alignment="bottom")
    person = person_col.text_input(
        "Person", key="gallery-person", placeholder="Everyone", help="Who submitted the job (their e-mail)."
    )
    tags = tags_col.multiselect(
        "Tags",
        st.session_state.get(SEEN_TAGS_KEY, []),
        key="gallery-tags",
        placeholder="Any tags",
        accept_new_options=True,
    )
    favourites_only = switches_col.toggle("Favourites only", key="gallery-favourites")
    show_hidden = switches_col.toggle("Show hidden", key="gallery-hidden")
    return GalleryFilter(
        **asdict(shared),
        person=person.strip(),
        favourites_only=favourites_only,
        tags=tuple(tags),
        show_hidden=show_hidden,
    )


def current_cursor(filters: GalleryFilter) -> int | None:
    """Where the shown page begins; back to the newest page whenever the filters change."""
    state = st.session_state
    if state.get(FILTER_KEY) != filters:
        state[FILTER_KEY] = filters
        state[CURSORS_KEY] = [None]
    return state[CURSORS_KEY][-1]


def _newer() -> None:
    st.session_state[CURSORS_KEY].pop()


def _older(position: int) -> None:
    st.session_state[CURSORS_KEY].append(position)


def pager(page: GalleryPage) -> None:
    cursors: list[int | None] = st.session_state[CURSORS_KEY]
    newer, where, older = st.columns([1, 2, 1], vertical_alignment="center")
    newer.button(
        "Newer",
        icon=":material/chevron_left:",
        key="gallery:newer",
        disabled=len(cursors) == 1,
        on_click=_newer,
    )
    where.caption(f"Page {len(cursors)}, newest first")
    older.button(
        "Older",
        icon=":material/chevron_right:",
        key="gallery:older",
        disabled=page.older is None,
        on_click=_older,
        args=(page.older,),
    )


def show_grid(studio: Studio, filters: GalleryFilter) -> None:
    """One page of cards in a responsive grid, and the pager."""
    gallery_actions.follow_selection()
    page = gallery.load_page(studio.store, filters, before=current_cursor(filters), history=studio.history)
    _remember_tags(page)
    if not page.cards:
        st.info("No job matches these filters.", icon=":material/filter_alt_off:")
        return
    with st.grid("auto", min_column_width=340, gap="medium"):
        for card in page.cards:
            with st.container(border=True):
                _card(studio, card)
    pager(page)


def _remember_tags(page: GalleryPage) -> None:
    known = st.session_state.get(SEEN_TAGS_KEY, [])
    seen = set(known).union(tag for card in page.cards for tag in card.tags)
    if len(seen) == len(known):
        return
    st.session_state[SEEN_TAGS_KEY] = sorted(seen, key=str.casefold)
    # The Tags filter above is drawn by full runs only, before this grid: without one more full run it
    # offered no tag at all on a freshly opened Gallery ("No results").
    st.rerun(scope="app")


def _card(studio: Studio, card: Card) -> None:
    label = KIND_LABELS.get(card.kind, card.kind)
    # The status's own words ("outcome unknown", not "unknown"), as History and the job page say it.
    status = status_label(card.status).lower()
    # Shown only with "Show hidden" on: which cards that switch brought back.
    hidden = " · :material/visibility_off: hidden" if card.hidden else ""
    st.markdown(f"**{label}** · {status} · {relative_time(card.submitted_at, time.time())}{hidden}")
    # Prompts are untrusted text: st.text shows them literally, never as Markdown.
    st.text(gallery.prompt_line(card))
    if card.tags:
        # Tags are typed by people: each a code span, shown literally.
        st.caption(":material/sell: " + " ".join(code_span(tag) for tag in card.tags))
    if card.status in ACTIVE:
        st.progress((card.progress or 0) / 100, text=f"{status_label(card.status)} {card.progress or 0}%")
    elif card.status in ("failed", "rejected", "lost", "unknown") and card.error_message:
        st.text(f"Error: {card.error_message}")  # Legnext's text, shown literally
    if card.tiles:
        with st.grid(2, gap="small", min_column_width=120):
            for tile in card.tiles:
                with st.container():
                    _tile(studio, card, tile)
    _card_menu(studio, card)


def poster(studio: Studio, tile: Tile, *, animated: bool = False) -> None:
    """A variant's poster frame, or the placeholder; the alt text says which (and tests read it).

    ``animated``: the short looping preview instead, where one was made (an ``<img>``, no player).
    """
    preview = preview_source(tile.poster, studio.settings.media_dir) if animated else None
    if preview is not None:
        st.image(str(preview), width="stretch", alt=f"Preview of {tile.label.lower()}")
        return
    source = poster_source(tile.poster, studio.settings.media_dir)
    made = not isinstance(source, bytes)
    st.image(
        source,
        width="stretch",
        # Posters are JPEG: naming the format spares Streamlit opening each one to find out.
        output_format="JPEG",
        alt=f"Poster of {tile.label.lower()}" if made else f"No poster yet for {tile.label.lower()}",
    )


def _tile(studio: Studio, card: Card, tile: Tile) -> None:
    poster(studio, tile, animated=True)
    # Sized to their labels, wrapping when a tile is narrow: two equal columns cut "Favourite" to "Favour…".
    buttons = st.container(horizontal=True, gap="small")
    if buttons.button(
        "Play" if tile.is_video else "Open",
        key=f"gallery:play:{card.local_id}:{tile.index}",
        icon=":material/play_arrow:" if tile.is_video else ":material/open_in_full:",
        type="tertiary",
        help=f"Open {tile.label.lower()}",
    ):
        st.session_state[OPEN_KEY] = (card.local_id, tile.index)
        st.rerun(scope="app")
    buttons.button(
        "Favourited" if tile.favourite else "Favourite",
        # The key names the state the click changes: once it has, the star is a new widget, and a
        # click the server receives again for the old one (seen on a busy server) finds nothing to undo.
        key=f"gallery:fav:{card.local_id}:{tile.index}:{'on' if tile.favourite else 'off'}",
        icon=":material/star:" if tile.favourite else ":material/star_border:",
        type="tertiary",
        help=f"{'Remove' if tile.favourite else 'Mark'} {tile.label.lower()} as a favourite",
        # The click asks for what the star says it will do, never "the opposite of now" (see set_favourite).
        on_click=_set_favourite,
        args=(studio, card.local_id, tile.index, not tile.favourite),
    )
    gallery_actions.pick_box(card, tile)


def _set_favourite(studio: Studio, local_id: str, index: int, favourite: bool) -> None:
    gallery.set_favourite(studio.store, local_id, index, favourite)
    st.toast("Kept as a favourite." if favourite else "No longer a favourite.", icon=":material/star:")


def _card_menu(studio: Studio, card: Card) -> None:
    links, menu = st.columns([2, 1], vertical_alignment="center")
    if card.job_id:
        links.page_link(
            "pages/job.py", label="Details", icon=":material/info:", query_params={"job": card.job_id}
        )
    with menu.popover("", icon=":material/more_horiz:", help="Tags and hiding"):
        key = f"gallery:tags:{card.local_id}"
        st.text_input("Tags, separated by commas", value=", ".join(card.tags), key=key)
        st.button(
            "Save tags",
            key=f"{key}:save",
            icon=":material/sell:",
            on_click=_save_tags,
            args=(studio, card.local_id),
        )
        problem = st.session_state.get(f"{key}:problem")
        if problem:
            st.error(problem, icon=":material/edit:")
        st.button(
            "Show in the Gallery again" if card.hidden else "Hide from the Gallery",
            key=f"gallery:hide:{card.local_id}",
            icon=":material/visibility_off:",
            on_click=gallery.set_hidden,
            args=(studio.store, card.local_id, not card.hidden),
        )


def _save_tags(studio: Studio, local_id: str) -> None:
    key = f"gallery:tags:{local_id}"
    try:
        gallery.set_tags(studio.store, local_id, st.session_state.get(key, ""))
    except ValueError as exc:
        st.session_state[f"{key}:problem"] = str(exc)
    else:
        st.session_state.pop(f"{key}:problem", None)


def open_player(studio: Studio) -> None:
    """The player dialog for the variant chosen in the grid (once per click)."""
    chosen = st.session_state.pop(OPEN_KEY, None)
    if not chosen:
        return
    record = studio.store.get(chosen[0])
    if record is None:
        return
    card = gallery.card_of(record)
    tile = next((t for t in card.tiles if t.index == chosen[1]), None)
    if tile is not None:
        _player(studio, card, tile)


@st.dialog("Result", width="large")
def _player(studio: Studio, card: Card, tile: Tile) -> None:
    st.markdown(f"**{tile.label}** of {KIND_LABELS.get(card.kind, card.kind).lower()}")
    record = studio.store.get(card.local_id)
    parts = chain_of(studio, record, tile.index) if record is not None and tile.is_video else []
    if len(parts) > 1:
        # An extended video: the opened video first, its whole chain one tab away (two players one
        # under the other would push the prompt and links out of sight).
        this, whole = st.tabs([tile.label, f"The whole chain, in order ({len(parts)} parts)"])
        with this:
            gallery_actions.play(studio, tile, autoplay=True)
        with whole:
            chain_player(parts, key=f"gallery:chain:{card.local_id}:{tile.index}")
            st.caption(
                "An extension is the video before it plus about 4 s, so each part opens with what the "
                "part before showed: this plays the steps of the chain one after another."
            )
    else:
        gallery_actions.play(studio, tile, autoplay=True)
    gallery_actions.copy_prompt(card)
    links = st.container(horizontal=True)
    gallery_actions.remix_link(links, card.local_id)
    if card.job_id:
        links.page_link(
            "pages/job.py", label="Open the job", icon=":material/info:", query_params={"job": card.job_id}
        )
