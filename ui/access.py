"""Sign-in and rights on the pages: ``st.user`` in, the rules of ``legnext_core.access`` applied.

The shell calls :func:`gate` before any page runs: a visitor who has not signed in sees the sign-in
screen and nothing else (no sidebar, no job data), and a signed-in person the settings do not name sees
a plain refusal with their address. Making pages call :func:`require_spending`, which shows why the
form is not there instead of drawing it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from legnext_core.access import OPEN_TO_ANYONE_MESSAGE, Decision, Person, decide, open_to_anyone
from legnext_core.studio import Studio
from legnext_core.submit import may_not_spend
from ui.context import studio


def _auth_section() -> Mapping[str, Any]:
    try:
        section = st.secrets.get("auth")
    except Exception:  # noqa: BLE001 - no secrets file at all means no [auth]
        return {}
    return section if isinstance(section, Mapping) else {}


def providers() -> list[str | None]:
    """The sign-in providers of ``[auth]``: its named sub-sections, or None for the one default."""
    section = _auth_section()
    named: list[str | None] = [name for name, value in section.items() if isinstance(value, Mapping)]
    return named or [None]


def decision(current: Studio) -> Decision:
    user = st.user
    logged_in = bool(user.get("is_logged_in", False))
    verified = user.get("email_verified")
    return decide(
        current.settings,
        is_logged_in=logged_in,
        email=str(user.get("email") or "") if logged_in else None,
        email_verified=verified if isinstance(verified, bool) else None,
    )


def _sign_in_screen() -> None:
    st.title("Legnext Video Studio", anchor=False)
    st.write("Sign in to see the team's videos and make new ones.")
    for provider in providers():
        label = "Sign in" if provider is None else f"Sign in with {provider.capitalize()}"
        if st.button(label, icon=":material/login:", key=f"sign-in-{provider or 'default'}", type="primary"):
            st.login() if provider is None else st.login(provider)


def _refusal_screen(email: str) -> None:
    st.title("Legnext Video Studio", anchor=False)
    # The address is shown as text: a provider's claim is never rendered as Markdown.
    st.text(f"{email} may not use this dashboard.")
    st.caption("Ask the person who runs it to add your address, or sign in with another account.")
    if st.button("Sign out", icon=":material/logout:"):
        st.logout()


def gate(current: Studio) -> Person:
    """The person of this session; stops the run on the sign-in or refusal screen when not allowed in."""
    result = decision(current)
    if result.person is not None:
        return result.person
    if result.outcome == "sign_in":
        _sign_in_screen()
    else:
        _refusal_screen(result.email or "")
    st.stop()
    raise AssertionError("st.stop() ends the run")


def person() -> Person:
    """The person of this run, decided afresh from ``st.user``; stops on the sign-in or refusal screen.

    Every page calls it before drawing anything, so a page is behind the sign-in even if it were ever
    run without the shell's navigation.
    """
    return gate(studio())


def sidebar_identity(current: Studio, who: Person) -> None:
    if open_to_anyone(current.settings):
        st.error(OPEN_TO_ANYONE_MESSAGE, icon=":material/lock_open:")
    if not who.signed_in:
        return
    role = {"admin": "admin", "member": "", "viewer": "viewer: sees, cannot make jobs"}[who.role.value]
    st.text(who.email + (f" ({role})" if role else ""))
    if st.button("Sign out", icon=":material/logout:", key="sidebar-sign-out"):
        st.logout()


def require_spending(current: Studio) -> Person:
    """The person, on a page that makes jobs; stops with the reason when they may not make any here."""
    who = person()
    refusal = may_not_spend(current, who)
    if refusal is not None:
        st.warning(refusal.user_message, icon=":material/lock:")
        st.stop()
    return who
