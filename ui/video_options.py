"""The newer Midjourney video options as form controls: batch size, speed, loop and end frame.

They travel inside the prompt like ``--motion``; ``--loop`` and ``--bs`` are Midjourney's own options,
which Legnext does not document, so the form says they are passed through.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from legnext_core.errors import InvalidInputError
from legnext_core.models import BATCH_SIZES, DEFAULT_BATCH_SIZE, DEFAULT_SPEED, SPEEDS, validate_http_url
from ui import start_image
from ui.controls import pick_one
from ui.format import label_of

PASSED_THROUGH = "Midjourney options, passed through"
SPEED_LABELS = {"fast": "Fast", "turbo": "Turbo (2× price)"}
#: The fields these controls fill, for the pages' per-field error messages.
FIELDS = ("batch_size", "speed", "loop", "end_url")
#: Those the page marks under the whole block; the end frame URL is checked beside its own field as it is
#: typed, with the same words a submission would get, so it is not said a second time further down.
MARKED_BELOW = ("batch_size", "speed", "loop")


@dataclass(frozen=True)
class MoreOptions:
    batch_size: int = DEFAULT_BATCH_SIZE
    speed: str = DEFAULT_SPEED
    loop: bool = False
    end_url: str | None = None


def more_options(key_prefix: str) -> MoreOptions:
    """Speed and end frame, then batch size and loop under the pass-through label."""
    # Top-aligned: the end frame's uploader below its field makes that column the taller one.
    speed_column, end_column = st.columns([1, 2], vertical_alignment="top")
    with speed_column:
        speed = pick_one(
            "Speed",
            list(SPEEDS),
            default=DEFAULT_SPEED,
            key=f"{key_prefix}:speed",
            format_func=label_of(SPEED_LABELS),
            help="Legnext's --turbo renders faster and costs twice as much as Fast.",
        )
    with end_column:
        end_url = st.text_input(
            "End frame URL (optional)",
            key=f"{key_prefix}:end_url",
            placeholder="https://example.com/last-frame.png",
            help="Midjourney's --end: a picture (http or https) the video should end on.",
        ).strip()
        if end_url:
            try:
                validate_http_url(end_url, "end_url", "The end frame URL")
            except InvalidInputError as exc:
                st.error(exc.message, icon=":material/edit:")
        start_image.upload(f"{key_prefix}:end_url", label="…or upload an end frame")
    st.caption(f":material/tune: {PASSED_THROUGH}")
    batch_column, loop_column = st.columns(2, vertical_alignment="bottom")
    with batch_column:
        batch_size = pick_one(
            "Batch size (--bs)",
            list(BATCH_SIZES),
            default=DEFAULT_BATCH_SIZE,
            key=f"{key_prefix}:batch_size",
            format_func=lambda n: f"{n} video{'s' if n != 1 else ''}",
            help="Midjourney's --bs: how many videos the job makes. Fewer videos are estimated to cost "
            "proportionally less (Legnext does not publish it).",
        )
    with loop_column:
        loop = st.toggle(
            "Loop (--loop)",
            key=f"{key_prefix}:loop",
            help="Midjourney's --loop: the video ends on its start frame. Not with an end frame.",
        )
    return MoreOptions(
        batch_size=batch_size,
        speed=speed,
        loop=bool(loop),
        end_url=end_url or None,
    )


def fill(key_prefix: str, *, batch_size: int, speed: str, loop: bool, end_url: str | None) -> None:
    """Put a past request's options into the controls (before they are drawn)."""
    state = st.session_state
    state[f"{key_prefix}:batch_size"] = batch_size
    state[f"{key_prefix}:speed"] = speed
    state[f"{key_prefix}:loop"] = loop
    state[f"{key_prefix}:end_url"] = end_url or ""
