"""Under the Create form: the latest jobs as they are made, with progress, posters and follow-ups.

Reads the job log only (the tracker polls), through the Gallery's pages: a signed-in person's jobs
(their ``submitted_by``) are asked of the shared History table, so a person with few jobs in a large
log costs no walk of the whole log. Without sign-in every job is the one local person's, so the feed
shows the newest jobs of the log.
"""

from __future__ import annotations

import streamlit as st

from legnext_core import gallery
from legnext_core.access import Person
from legnext_core.gallery import Card, GalleryFilter
from legnext_core.history import KIND_LABELS
from legnext_core.studio import Studio
from ui import gallery_actions, gallery_view
from ui.job_status import refresh_seconds, status_label
from ui.live import live_fragment

FEED_SIZE = 4
#: A Legnext job makes at most four videos (or images).
FULL_JOB_TILES = 4
ACTIVE = frozenset({"queued", "submitting", "pending", "staged", "processing"})
VIDEO_KINDS = ("text_video", "image_url_video", "animate", "extend", "upscale")


def show(studio: Studio, who: Person) -> None:
    """``who``'s latest jobs, redrawn in a fragment of their own so progress and posters arrive without a
    reload."""
    person = who.email if who.signed_in else ""
    live_fragment(_feed, refresh_seconds(studio), studio, person)


def _feed(studio: Studio, person: str) -> None:
    page = gallery.load_page(
        studio.store,
        GalleryFilter(kinds=VIDEO_KINDS, person=person),
        per_page=FEED_SIZE,
        history=studio.history,
    )
    if not page.cards:
        return
    st.subheader("Your latest jobs", anchor=False)
    for card in page.cards:
        with st.container(border=True):
            _row(studio, card)


def _row(studio: Studio, card: Card) -> None:
    # The status's own words ("outcome unknown", not "unknown"), as History and the job page say it.
    st.markdown(f"**{KIND_LABELS.get(card.kind, card.kind)}** · {status_label(card.status).lower()}")
    # Prompts are untrusted text: shown literally, and cut as the Gallery's cards cut them (a prompt may
    # run to 8,192 characters; the job's page shows it whole).
    st.text(gallery.prompt_line(card))
    if card.status in ACTIVE:
        st.progress((card.progress or 0) / 100, text=f"{status_label(card.status)} {card.progress or 0}%")
        return
    if card.status != "completed":
        if card.error_message:
            st.text(f"Error: {card.error_message}")  # Legnext's text, shown literally
        return
    if card.tiles:
        # Always the columns of a full job: a one-video job (an upscale, --bs 1) gets one poster the size
        # of the others, not one as wide as the page.
        with st.grid(FULL_JOB_TILES, gap="small", min_column_width=100):
            for tile in card.tiles:
                gallery_view.poster(studio, tile)
    follow = st.container(horizontal=True)
    variant = {"job": card.job_id or "", "variant": "0"}
    if card.kind != "upscale" and card.job_id:
        follow.page_link("pages/extend.py", label="Extend", icon=":material/more_time:", query_params=variant)
        follow.page_link(
            "pages/upscale.py", label="Upscale", icon=":material/high_quality:", query_params=variant
        )
    gallery_actions.remix_link(follow, card.local_id)
