"""“…or upload”: a start or end image from the person's computer, beside the field for its URL.

Legnext only takes images as URLs it downloads, so a good upload is stored and served by the dashboard
(:mod:`legnext_core.uploads`) and its public URL is put in the URL field: the person sees what Legnext
will fetch, and the page checks and sends it like any URL typed there. A file that cannot be used is
taken off the uploader (as a mail client drops an attachment it refuses), with its reason beside the
uploader; the URL field is left without it, so the form shows exactly what would be sent. Where
Legnext could not reach the dashboard (live, without a public address), the uploader says why and
which setting to set instead of taking files.
"""

from __future__ import annotations

import streamlit as st

from legnext_core.settings import Settings
from legnext_core.uploads import PICKER_TYPES, UPLOAD_MAX_BYTES, UploadRefused, store_upload, upload_base_url
from ui.context import studio

SAVE_FAILED = "The image could not be saved on the dashboard's disk. Try again, or give an image URL."
UPLOADED_NOTE = "Uploaded without its metadata; Legnext fetches it from the URL above."


def upload(url_key: str, *, label: str = "…or upload an image") -> None:
    """An uploader for the URL field whose widget key is ``url_key`` (drawn just above it)."""
    settings = studio().settings
    try:
        upload_base_url(settings)
    except UploadRefused as exc:
        st.caption(f":material/cloud_off: **Uploading is not available here.** {exc.message}")
        return
    state = st.session_state
    # A refused file is taken off the uploader by drawing a fresh one (a file uploader's value cannot be set).
    key = f"{url_key}:upload:{state.get(_round_key(url_key), 0)}"
    st.file_uploader(
        label,
        type=list(PICKER_TYPES),
        key=key,
        on_change=_take_upload,
        args=(settings, url_key, key),
        max_upload_size=UPLOAD_MAX_BYTES // (1024 * 1024),
        help="PNG, JPEG or WebP. Its metadata (camera, place, time) is removed before Legnext sees it.",
    )
    refused = state.get(_problem_key(url_key))
    if refused is not None and refused[0] == state.get(url_key):  # until the field is changed
        st.error(refused[1], icon=":material/broken_image:")
    elif state.get(key) is not None and state.get(url_key) == state.get(_url_key(url_key)):
        st.caption(f":material/cloud_done: {UPLOADED_NOTE}")


def _take_upload(settings: Settings, url_key: str, key: str) -> None:
    """Store a new upload and put its URL in the field; a removed or refused one takes its URL away."""
    state = st.session_state
    file = state.get(key)
    previous = state.pop(_url_key(url_key), None)
    state.pop(_problem_key(url_key), None)
    if previous and state.get(url_key) == previous:
        state[url_key] = ""
    if file is None:
        return
    try:
        stored = store_upload(file.getvalue(), file.name, settings)
    except (UploadRefused, OSError) as exc:
        message = exc.message if isinstance(exc, UploadRefused) else SAVE_FAILED
        state[_problem_key(url_key)] = (state.get(url_key, ""), message)
        state[_round_key(url_key)] = state.get(_round_key(url_key), 0) + 1
        return
    state[url_key] = stored.url
    state[_url_key(url_key)] = stored.url


def _problem_key(url_key: str) -> str:
    """(the URL field's value when a file was refused, why it was refused)."""
    return f"{url_key}:upload-refused"


def _url_key(url_key: str) -> str:
    """The URL of the upload now in the field (to take it out again when the upload is removed)."""
    return f"{url_key}:upload-url"


def _round_key(url_key: str) -> str:
    return f"{url_key}:upload-round"
