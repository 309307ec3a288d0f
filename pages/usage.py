"""Usage: points spent per day, by person and by kind, against the caps; jobs and failures per person."""

from __future__ import annotations

import streamlit as st

from ui.access import person
from ui.context import studio

current = studio()
who = person()
st.title("Usage", anchor=False)
