"""Tells a person, on whatever page they are on, that one of their jobs finished or failed.

The app shell runs :func:`watch` once per page run. It is a small fragment that reruns every few seconds
on its own: it compares the person's jobs with what this session saw last time
(``legnext_core.notifications``), shows a toast for each one that ended, and puts the number still running
in the browser tab's title ("(2) Legnext Video Studio"). It draws no element and no widget, so its reruns
never disturb what the page shows or what the person is clicking.

The title is set with ``st.set_page_config(page_title=...)``: in Streamlit 1.67 that call sends a
``page_config_changed`` message (not an element), may be called any number of times in a run and from
a fragment, and the browser sets ``document.title`` from it. The shell's own call at the top of every
full run sets the plain title first, so the count is never stale for longer than one check.
"""

from __future__ import annotations

import time

import streamlit as st

from legnext_core import notifications
from legnext_core.studio import Studio
from ui.format import code_span
from ui.job_status import refresh_seconds
from ui.live import live_fragment

#: The session's cursor (:class:`notifications.Watch`).
WATCH_KEY = "notifier:watch"
#: The last title sent, so a check that changes nothing sends nothing.
TITLE_KEY = "notifier:title"
_ICONS = {"completed": ":material/check_circle:"}


def watch(studio: Studio, person: str, app_title: str) -> None:
    """Start the notifier for ``person`` (their ``submitted_by``) in this run."""
    # A full run has just set the plain title: the next check must send the count again.
    st.session_state.pop(TITLE_KEY, None)
    live_fragment(_check, refresh_seconds(studio), studio, person, app_title)


def _check(studio: Studio, person: str, app_title: str) -> None:
    state = st.session_state
    result = notifications.check(studio.store, person, state.get(WATCH_KEY), now=time.time())
    state[WATCH_KEY] = result.watch
    for record in result.finished:
        status = str(record.status)
        st.toast(
            # Prompts are untrusted: quoted as a code span, never read as Markdown.
            notifications.announcement(record, quote=code_span),
            icon=_ICONS.get(status, ":material/error:"),
            duration="long",
        )
    title = notifications.tab_title(result.running, app_title)
    if state.get(TITLE_KEY) != title:
        st.set_page_config(page_title=title)
        state[TITLE_KEY] = title
