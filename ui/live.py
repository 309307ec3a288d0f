"""The one way pages draw a part that refreshes itself: a ``run_every`` fragment in a holder of its own.

Why the holder. A fragment's timer run that starts before the browser has received the full run just
before it makes Streamlit 1.67 drop that full run's unsent deltas for the fragment (its container
included) and still report the full run as finished (``ForwardMsgQueue.clear`` with
``fragment_ids_this_run``). The browser then prunes the fragment's old container as stale, and pruning
removes a node from its parent's list of children: every later sibling moves up one place. The
fragment's next deltas address its container by its old place, so they land on the sibling that moved
there (on History, the block of controls drawn after the table), and the page is left without it until
the next full run. On a busy server that happens after any click outside the fragment that lands just
before a refresh.

Inside a holder drawn by the full run, the fragment's container is the holder's only child: pruning it
moves nothing else, and the fragment's next run draws it again in the same place.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import streamlit as st


def live_fragment(
    body: Callable[..., Any], run_every: float | timedelta | str | None, *args: Any, **kwargs: Any
) -> None:
    """Draw ``body(*args, **kwargs)`` as a fragment refreshing every ``run_every``, in its own holder."""
    with st.container():
        st.fragment(body, run_every=run_every)(*args, **kwargs)
