"""The viewer's time zone, as the browser reports it: times are shown in it, day ranges picked in it."""

from __future__ import annotations

from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import streamlit as st


def viewer_zone() -> tzinfo:
    """The browser's zone, or UTC when it sent none (or one this machine does not know)."""
    try:
        return ZoneInfo(st.context.timezone) if st.context.timezone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC
