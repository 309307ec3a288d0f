"""Gallery: every result as a picture that plays, newest first, with favourites, tags and filters."""

from __future__ import annotations

import streamlit as st

from ui import gallery_actions
from ui import gallery_view as gv
from ui.context import studio
from ui.job_status import refresh_seconds
from ui.live import live_fragment

current = studio()
st.title("Gallery", anchor=False)
filters = gv.filter_bar()
# Drawn by full runs only, outside the refreshing grid: what to do with the picked results.
gallery_actions.selection_bar(current)
gv.open_player(current)

# Reads the job log only; redraws itself so posters appear as the tracker makes them.
live_fragment(gv.show_grid, refresh_seconds(current), current, filters)
