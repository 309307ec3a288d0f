"""Who may use the dashboard and who may spend the team's points: the rules, without Streamlit.

The app reads ``st.user`` and passes its fields in; nothing here imports streamlit, so every rule is
tested without a browser.

- With no ``[auth]`` section in the secrets nobody signs in. Everyone is the one person ``local``,
  with every right; that is safe only where nobody else can reach the server, which is why a live
  dashboard listening beyond loopback with no sign-in spends nothing (:func:`spending_lock`) unless
  the operator sets :data:`~legnext_core.settings.UNSAFE_OPEN_SETTING`.
- With ``[auth]`` everyone signs in, and only the people the settings name come in: allowed e-mail
  addresses and domains (members: make jobs), viewers (see, never spend) and admins (also change the
  caps and see everyone's usage). A provider that says an address is not verified is not trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from legnext_core.errors import LegnextError
from legnext_core.hosts import is_loopback_host
from legnext_core.records import NO_SIGN_IN
from legnext_core.settings import UNSAFE_OPEN_SETTING, Settings


class Role(StrEnum):
    VIEWER = "viewer"
    MEMBER = "member"
    ADMIN = "admin"


@dataclass(frozen=True)
class Person:
    """The person using the dashboard in this session."""

    email: str
    role: Role
    signed_in: bool

    @property
    def may_spend(self) -> bool:
        return self.role in (Role.MEMBER, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def may_resubmit(self, record_submitted_by: str | None) -> bool:
        """A job whose outcome is unknown is resent only by its maker or an admin."""
        if not self.may_spend:
            return False
        return self.is_admin or (record_submitted_by or NO_SIGN_IN) == self.email


LOCAL = Person(NO_SIGN_IN, Role.ADMIN, signed_in=False)


@dataclass(frozen=True)
class Decision:
    """What the session may see: ``person`` when allowed in, else why not (``sign_in`` or ``refused``)."""

    outcome: str  # "allowed" | "sign_in" | "refused"
    person: Person | None = None
    email: str | None = None

    @property
    def allowed(self) -> bool:
        return self.outcome == "allowed"


def role_of(settings: Settings, email: str) -> Role | None:
    """The role the settings give an e-mail address, or None when it may not come in."""
    address = email.strip().lower()
    if not address or "@" not in address:
        return None
    if address in settings.admins:
        return Role.ADMIN
    if address in settings.allowed_emails:
        return Role.MEMBER
    domain = address.rsplit("@", 1)[1]
    if domain in settings.allowed_domains:
        # A named viewer in an allowed domain stays a viewer.
        return Role.VIEWER if address in settings.viewers else Role.MEMBER
    if address in settings.viewers:
        return Role.VIEWER
    return None


def decide(
    settings: Settings,
    *,
    is_logged_in: bool,
    email: str | None = None,
    email_verified: bool | None = None,
) -> Decision:
    """Whether this session comes in, from ``st.user``'s fields."""
    if not settings.auth_configured:
        return Decision("allowed", LOCAL)
    if not is_logged_in:
        return Decision("sign_in")
    address = (email or "").strip().lower()
    # Providers that do not vouch for an address (email_verified false) could be told any address.
    role = role_of(settings, address) if email_verified is not False else None
    if role is None:
        return Decision("refused", email=email or "(no e-mail address)")
    return Decision("allowed", Person(address, role, signed_in=True))


def listens_on_loopback_only(address: str | None) -> bool:
    """Whether a server told to listen on ``address`` is reachable from this machine only.

    Streamlit listens on every interface when ``server.address`` is unset, so None is not loopback.
    """
    return address is not None and is_loopback_host(address)


#: What a making page shows instead of its form on a live dashboard that anyone could reach.
SPENDING_LOCKED_MESSAGE = (
    "Making jobs is switched off: this dashboard holds the team's paid Legnext key, listens beyond this "
    "machine (server.address = {address}) and nobody signs in, so anyone who reaches it could spend "
    "the team's points. To serve the team, add an [auth] section to .streamlit/secrets.toml and list "
    'who may come in (LEGNEXT_ALLOWED_EMAILS or LEGNEXT_ALLOWED_DOMAINS); see "Serve the team" in '
    "the README. For a private demo on this machine, listen on 127.0.0.1 instead."
)


def spending_lock(settings: Settings) -> str | None:
    """Why nobody may spend on this server, or None. Sandbox jobs cost nothing and are never locked."""
    if settings.is_sandbox or settings.auth_configured or settings.unsafe_open_to_anyone:
        return None
    if listens_on_loopback_only(settings.listen_address):
        return None
    return SPENDING_LOCKED_MESSAGE.format(address=settings.listen_address or "every interface")


def open_to_anyone(settings: Settings) -> bool:
    """True when the operator's override lets anyone who reaches this live server spend (said loudly)."""
    return (
        not settings.is_sandbox
        and not settings.auth_configured
        and settings.unsafe_open_to_anyone
        and not listens_on_loopback_only(settings.listen_address)
    )


OPEN_TO_ANYONE_MESSAGE = (
    f"Open to anyone: {UNSAFE_OPEN_SETTING} is set and nobody signs in, so anyone who reaches this "
    "server can spend the team's points and read every prompt."
)


class SpendingRefusedError(LegnextError):
    """This server or this person may not spend; nothing was recorded or sent. ``reason`` says why."""

    def __init__(self, summary: str, reason: str) -> None:
        super().__init__(summary)
        self.reason = reason

    _headline = "Not sent."
    _advice = "{reason}"
    #: Said where the form would be: "Not sent." would be out of place there.
    _advice_alone = True


class SpendingLockedError(SpendingRefusedError):
    """Nobody may spend on this server (see :func:`spending_lock`)."""

    def __init__(self, reason: str) -> None:
        super().__init__("spending is locked on this server", reason)


class NotAllowedToSpendError(SpendingRefusedError):
    """This person may look but not make jobs (a viewer)."""

    def __init__(self, email: str) -> None:
        advice = f"{email} may look at the team's jobs but not make new ones. Ask an admin for access."
        super().__init__("this person may not spend", advice)
        self.email = email
