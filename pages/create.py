"""Create: a new video from a text prompt, from an image URL, from an image job, or many at once."""

from __future__ import annotations

import streamlit as st

from ui import create_feed
from ui.access import require_spending
from ui.context import studio
from ui.controls import pick_one
from ui.create_modes.animate import animate_mode
from ui.create_modes.batch import batch_mode
from ui.create_modes.deep_link import apply_deep_link
from ui.create_modes.image_url import image_url_mode
from ui.create_modes.keys import MODE_KEY, MODES
from ui.create_modes.text import text_mode
from ui.format import label_of

current = studio()
# A viewer, or a live server anyone could reach with nobody signing in, gets the reason, not the form.
who = require_spending(current)
st.title("Create a video", anchor=False)
st.caption(
    "Legnext makes four ~4 s videos per job. Finished jobs appear in History and can be extended or upscaled."
)
linked_image = apply_deep_link(current)
mode = pick_one("What to start from", list(MODES), default="text", key=MODE_KEY, format_func=label_of(MODES))
if mode == "text":
    text_mode(current, who)
elif mode == "image_url":
    image_url_mode(current, who)
elif mode == "animate":
    animate_mode(current, who, linked_image)
else:
    batch_mode(current, who)
create_feed.show(current, who)
