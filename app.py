"""Legnext Video Studio: the entry point, run with ``streamlit run app.py``.

This one file plays two parts, because Streamlit loads it twice:

* ``streamlit run`` finds ``app = st.App(...)`` below and serves it with uvicorn, importing this file
  as the module ``app``. That side adds the server routes: ``/healthz``,
  ``/webhooks/legnext/<token>`` and, when no API key is set, the Legnext sandbox under ``/sandbox``;
  its lifespan starts the process's one Studio (job log, client, tracker) and stops it on shutdown.
* For every browser session Streamlit executes this file as the script ``__main__``: that side is the
  navigation over ``pages/`` and the sidebar.
"""

from __future__ import annotations

import streamlit as st

if __name__ == "__main__":
    from ui.shell import run_dashboard

    run_dashboard()
else:
    from ui.server import build_server

    app = st.App(__file__, **build_server())
