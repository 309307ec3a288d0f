"""The dashboard's frame: page config, navigation over ``pages/`` and the sidebar."""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from legnext_core.studio import Studio
from ui import access, notifier
from ui.context import studio
from ui.format import relative_time

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"
APP_TITLE = "Legnext Video Studio"


def _pages() -> dict[str, list[st.Page]]:
    def page(name: str, title: str, icon: str, **kwargs) -> st.Page:
        return st.Page(PAGES_DIR / f"{name}.py", title=title, icon=icon, url_path=name, **kwargs)

    return {
        "Make": [
            # Streamlit gives the default page the root URL and no other, so a typed /create?... link would
            # be "Page not found". The hidden default page only forwards / to /create.
            st.Page(
                _open_create, title="Legnext Video Studio", url_path="home", default=True, visibility="hidden"
            ),
            page("create", "Create", ":material/movie:"),
            page("extend", "Extend", ":material/more_time:"),
            page("upscale", "Upscale", ":material/high_quality:"),
        ],
        "Library": [
            page("gallery", "Gallery", ":material/photo_library:"),
            page("history", "History", ":material/history:"),
            page("usage", "Usage", ":material/bar_chart:"),
            # Reached from History and from links: /job?job=<job id>.
            page("job", "Job", ":material/info:", visibility="hidden"),
        ],
    }


def _open_create() -> None:
    st.switch_page(PAGES_DIR / "create.py", query_params=st.query_params.to_dict())


def _connection(current: Studio) -> None:
    settings = current.settings
    if settings.is_sandbox:
        st.badge("Sandbox", icon=":material/science:", color="violet")
        st.caption("No API key set: jobs run on the built-in Legnext sandbox and cost nothing.")
    else:
        st.badge("Live", icon=":material/cloud_done:", color="green")
        st.caption(f"Legnext API at `{settings.api_host}`")


def _balance(current: Studio) -> None:
    reading = current.balance()
    if reading.balance is None:
        st.caption(f":material/account_balance_wallet: Balance unavailable: {reading.error}")
        return
    balance = reading.balance
    st.metric(
        "Balance",
        f"{balance.available_points:,} points",
        help="1 point = US$0.001. Points frozen by running jobs are released or consumed when they end.",
    )
    st.caption(f"US${balance.balance_usd:,.2f}")
    if balance.low_balance_alert:
        st.warning(
            f"Low balance: below your alert threshold of US${balance.alert_threshold:,.2f}.",
            icon=":material/warning:",
        )


def _tracker(current: Studio) -> None:
    health = current.tracker.health()
    last = "not yet" if health.last_sweep_at is None else relative_time(health.last_sweep_at, time.time())
    jobs = f"{health.active_jobs} active job{'s' if health.active_jobs != 1 else ''}"
    if health.standby:
        st.caption(":material/radar: Jobs are tracked by another replica of the dashboard")
    else:
        st.caption(f":material/radar: Tracking {jobs} · last check {last}")
    if health.last_error:
        st.caption(f":material/error: {health.last_error}")


@st.fragment(run_every=10)
def _sidebar_status(current: Studio) -> None:
    _connection(current)
    _balance(current)
    _tracker(current)


def run_dashboard() -> None:
    st.set_page_config(page_title=APP_TITLE, page_icon=":material/movie:", layout="wide")
    current = studio()
    if access.decision(current).person is None:
        # Nobody is let in yet: the navigation knows every URL (so a deep link is not "page not found")
        # but is hidden, and no page, sidebar or job data is drawn; the gate shows sign-in or refusal.
        st.navigation(_pages(), position="hidden")
        access.gate(current)
    navigation = st.navigation(_pages())
    who = access.gate(current)
    with st.sidebar:
        st.markdown("### :material/movie_edit: Legnext Video Studio")
        access.sidebar_identity(current, who)
        with st.container():  # the refreshing part in a holder of its own: see ui/live.py
            _sidebar_status(current)
        # Toasts and the running count in the tab's title, on every page (draws nothing).
        notifier.watch(current, who.email, APP_TITLE)
        if current.store.recovered_from is not None:
            st.warning(
                f"The job log could not be read and was kept aside as `{current.store.recovered_from.name}`; "
                "a new log was started.",
                icon=":material/report:",
            )
    navigation.run()
