"""Form controls the pages share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import streamlit as st

T = TypeVar("T")


def pick_one(
    label: str,
    options: Sequence[T],
    *,
    default: T,
    key: str,
    format_func: Callable[[Any], str] = str,
    help: str | None = None,
) -> T:
    """A segmented control that always has one option chosen, ``default`` until the person picks another.

    The default is left out when the session already holds a value for ``key`` (a deep link, a form
    filled in again): Streamlit warns when a widget gets both.
    """
    chosen = st.segmented_control(
        label,
        options,
        format_func=format_func,
        default=None if key in st.session_state else default,
        required=True,
        key=key,
        help=help,
    )
    return default if chosen is None else chosen
