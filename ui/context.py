"""How a page reaches the process's Studio, and the settings behind it."""

from __future__ import annotations

import os
from typing import Any

import streamlit as st

from legnext_core.settings import Settings, SettingsError, load_settings
from legnext_core.studio import Studio, get_studio


def _secrets() -> dict[str, Any]:
    # st.secrets raises when there is no secrets file at all; no file simply means no secrets.
    try:
        return st.secrets.to_dict()
    except Exception:  # noqa: BLE001 - any failure to read secrets means "none"
        return {}


def page_settings() -> Settings:
    return load_settings(
        os.environ,
        _secrets(),
        server_port=int(st.get_option("server.port")),
        server_address=st.get_option("server.address"),
    )


def studio() -> Studio:
    """The process's Studio. Under ``streamlit run`` the server started it; under AppTest the first page
    run starts it from the test's own environment and secrets."""
    try:
        return get_studio(page_settings)
    except SettingsError as exc:
        st.error(f"The dashboard's configuration is not usable: {exc}", icon=":material/settings:")
        st.stop()
        raise  # st.stop() raises; this line only tells type checkers so
