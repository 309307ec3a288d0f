"""What the Gallery does with picked results: compare them side by side, take them away as one ZIP,
hide them; and the player's extras (a prompt to copy, Remix).

The tiles' "Select" boxes live in the refreshing grid; everything that acts on the selection is drawn
by full runs of the page (:func:`selection_bar`), above the grid, so a refresh never redraws a button
under the pointer. A box ticked inside the grid asks for one full run, which redraws the bar.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import streamlit as st

from legnext_core import bundle, gallery
from legnext_core.gallery import Card, Tile
from legnext_core.history import KIND_LABELS
from legnext_core.media import archived_file
from legnext_core.records import JobRecord
from legnext_core.studio import Studio
from legnext_core.thumbnails import poster_source
from ui.format import file_size

#: The picked variants, in the order they were picked: {(local_id, index): None}.
PICKS_KEY = "gallery:picks"
PICK_WIDGET_PREFIX = "gallery:pick:"
#: Set by a box ticked in the grid: the next run of the grid asks for a full run.
PICKS_CHANGED_KEY = "gallery:picks-changed"
#: The ZIP made for the current selection: (the picks it holds, its file, its name).
ZIP_KEY = "gallery:zip"
COMPARE_KEY = "gallery:compare"
MIN_COMPARE, MAX_COMPARE = 2, 4

Pick = tuple[str, int]


def picks() -> dict[Pick, None]:
    return st.session_state.setdefault(PICKS_KEY, {})


def pick_box(card: Card, tile: Tile) -> None:
    """The tile's "Select" box (in the grid)."""
    key = (card.local_id, tile.index)
    widget = f"{PICK_WIDGET_PREFIX}{card.local_id}:{tile.index}"
    st.checkbox(
        f"Select {tile.label.lower()}",
        value=key in picks(),
        key=widget,
        on_change=_toggle_pick,
        args=(key, widget),
    )


def _toggle_pick(key: Pick, widget: str) -> None:
    chosen = picks()
    if st.session_state.get(widget):
        chosen[key] = None
    else:
        chosen.pop(key, None)
    st.session_state[PICKS_CHANGED_KEY] = True


def follow_selection() -> None:
    """In the grid's fragment: after a box was ticked there, redraw the whole page once."""
    if st.session_state.pop(PICKS_CHANGED_KEY, False):
        st.rerun(scope="app")


def _picked_records(studio: Studio) -> list[tuple[JobRecord, int]]:
    found = []
    for local_id, index in picks():
        record = studio.store.get(local_id)
        if record is not None:
            found.append((record, index))
    return found


def selection_bar(studio: Studio) -> None:
    """What can be done with the picked results (a full-run part of the page)."""
    st.session_state.pop(PICKS_CHANGED_KEY, None)
    chosen = list(picks())
    if not chosen:
        return
    with st.container(border=True):
        # Sized to their labels and wrapping, not five equal columns: those cut "Clear selection" at 1280 px.
        bar = st.container(horizontal=True, vertical_alignment="center", gap="small")
        bar.markdown(f"**{len(chosen)} selected**", width="content")
        bar.button(
            "Compare",
            icon=":material/view_column:",
            key="gallery:compare-picked",
            disabled=not MIN_COMPARE <= len(chosen) <= MAX_COMPARE,
            help=f"Play {MIN_COMPARE} to {MAX_COMPARE} selected videos side by side, looped.",
            on_click=_open_compare,
        )
        building = bar.button("Make a ZIP", icon=":material/folder_zip:", key="gallery:zip-picked")
        bar.button(
            "Hide",
            icon=":material/visibility_off:",
            key="gallery:hide-picked",
            help="Hide the selected results' jobs from the Gallery (Show hidden brings them back).",
            on_click=_hide_picked,
            args=(studio,),
        )
        bar.button("Clear selection", icon=":material/deselect:", key="gallery:clear", on_click=_clear)
        if building:
            _build_zip(studio, tuple(chosen))
        _offer_zip(tuple(chosen))
    if st.session_state.pop(COMPARE_KEY, False):
        _compare(studio, tuple(chosen))


def _open_compare() -> None:
    st.session_state[COMPARE_KEY] = True


def _clear() -> None:
    state = st.session_state
    state[PICKS_KEY] = {}
    # The boxes keep their own state: untick them too, or they would show picks that are gone.
    for key in [k for k in state if str(k).startswith(PICK_WIDGET_PREFIX)]:
        del state[key]
    _forget_zip()


def _hide_picked(studio: Studio) -> None:
    jobs = dict.fromkeys(local_id for local_id, _ in picks())
    for local_id in jobs:
        gallery.set_hidden(studio.store, local_id, True)
    _clear()
    st.toast(
        f"Hid {len(jobs)} job{'s' if len(jobs) != 1 else ''} from the Gallery.",
        icon=":material/visibility_off:",
    )


# -- the ZIP ----------------------------------------------------------------------------------------


def _forget_zip() -> None:
    made = st.session_state.pop(ZIP_KEY, None)
    if made is not None:
        bundle.remove_download(Path(made[1]))


def _build_zip(studio: Studio, chosen: tuple[Pick, ...]) -> None:
    _forget_zip()
    selection = bundle.select(_picked_records(studio), studio.settings.media_dir)
    if not selection.entries:
        st.error("None of the selected results is archived on this dashboard.", icon=":material/folder_off:")
        return
    name = bundle.zip_file_name(selection)
    target = bundle.new_download(studio.settings.data_dir, name)
    partial = target.with_name(target.name + ".part")
    total = max(1, selection.total_bytes)
    bar = st.progress(0.0, text="Making the ZIP…")
    try:
        with partial.open("wb") as handle:
            for done in bundle.write_zip(selection.entries, handle):
                bar.progress(min(1.0, done / total), text=f"Making the ZIP… {done / total:.0%}")
        os.replace(partial, target)
    except OSError as exc:
        bundle.remove_download(target)
        bar.empty()
        st.error(f"The ZIP could not be made: {exc.strerror or exc}", icon=":material/error:")
        return
    bar.empty()
    st.session_state[ZIP_KEY] = (chosen, str(target), name, selection.missing)


def _offer_zip(chosen: tuple[Pick, ...]) -> None:
    """The made ZIP as a link the server streams from disk (never held in memory by the page)."""
    made = st.session_state.get(ZIP_KEY)
    if made is None:
        return
    path = Path(made[1])
    if made[0] != chosen or not path.is_file():
        _forget_zip()  # the selection changed since (or it expired): not what is picked now
        return
    _, _, name, missing = made
    st.link_button(
        f"Download {name} ({file_size(path.stat().st_size)})",
        bundle.download_url(path),
        icon=":material/download:",
        type="primary",
        help="Ready for an hour; each file inside is named by its job and variant.",
    )
    if missing:
        st.caption("Not archived, so not in the ZIP: " + ", ".join(missing))


# -- comparing and the player's extras ---------------------------------------------------------------


def _source(studio: Studio, tile: Tile) -> Any:
    local = archived_file(tile.media, studio.settings.media_dir)
    return str(local) if local is not None else gallery.web_url(tile.url)


@st.dialog("Compare", width="large")
def _compare(studio: Studio, chosen: tuple[Pick, ...]) -> None:
    shown = []
    for local_id, index in chosen:
        record = studio.store.get(local_id)
        if record is None:
            continue
        card = gallery.card_of(record)
        tile = next((t for t in card.tiles if t.index == index), None)
        if tile is not None:
            shown.append((card, tile))
    if not shown:
        st.caption("The selected results are no longer in the job log.")
        return
    for column, (card, tile) in zip(st.columns(len(shown)), shown, strict=True):
        with column:
            st.markdown(f"**{tile.label}** · {KIND_LABELS.get(card.kind, card.kind).lower()}")
            play(studio, tile, autoplay=True)
            # Cut as on the cards: four columns of whole 8,192-character prompts would push the videos apart.
            st.text(gallery.prompt_line(card))


def play(studio: Studio, tile: Tile, *, autoplay: bool, loop: bool = True) -> None:
    """One variant: its archived copy where there is one, else Legnext's URL, else the placeholder."""
    source = _source(studio, tile)
    if source is None:
        st.image(poster_source(None), width="stretch")
        st.caption("This result is neither archived nor reachable any more.")
    elif tile.is_video:
        st.video(source, autoplay=autoplay, loop=loop, muted=True)
    else:
        st.image(source, width="stretch")


def remix_link(where: Any, local_id: str) -> None:
    """The "Remix" link: the job's form (Create, Extend or Upscale) filled with its prompt and settings."""
    where.page_link(
        "pages/create.py",
        label="Remix",
        icon=":material/replay:",
        query_params={"rerun": local_id},
        help="Open the form filled with this job's prompt and every setting.",
    )


def copy_prompt(card: Card) -> None:
    """The whole prompt, literally, with Streamlit's copy button."""
    if not card.prompt:
        st.text(gallery.prompt_line(card))
        return
    st.caption("Prompt (the copy button is at its top right)")
    st.code(card.prompt, language=None, wrap_lines=True)
