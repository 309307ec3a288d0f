"""One Settings object for the whole dashboard, read once from the environment and secrets.

Where a value comes from, first match wins:

1. the process environment (``LEGNEXT_API_KEY``, ``LEGNEXT_BASE_URL``, ...);
2. the secrets mapping the app passes in (``st.secrets``, i.e. ``.streamlit/secrets.toml``);
3. the defaults below.

With no API key the dashboard runs in **sandbox mode**: it talks to the local Legnext sandbox that
``app.py`` mounts under ``/sandbox`` in the same server (or to ``LEGNEXT_SANDBOX_URL`` when set, which
is how tests and a standalone ``python -m legnext_core.sandbox`` are used). The sandbox is reached over
real HTTP, so sandbox mode runs exactly the code path that live mode runs.

This module must not import streamlit: the app reads ``st.secrets`` and hands the mapping in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

Mode = Literal["sandbox", "live"]

LIVE_BASE_URL = "https://api.legnext.ai/api"
#: Where app.py mounts the sandbox inside the dashboard's own server.
SANDBOX_MOUNT_PATH = "/sandbox"
#: The key the dashboard sends to its own sandbox. Not a secret: the sandbox only runs on this machine.
SANDBOX_API_KEY = "sandbox-demo-key"
#: The route on the dashboard's server that receives Legnext callbacks. Each submission's callback
#: is ``WEBHOOK_PATH + "/" + <its callback_token>``; the bare path only takes signed deliveries.
WEBHOOK_PATH = "/webhooks/legnext"
#: The route on the dashboard's server that serves uploaded start and end images for Legnext to fetch.
UPLOADS_PATH = "/uploads"
#: The setting that says where Legnext can reach this dashboard (webhooks and uploaded images).
PUBLIC_URL_SETTING = "LEGNEXT_PUBLIC_URL"
#: Hosts Legnext is known or expected to serve result media from (see API.md: signed URLs, 30 days).
DEFAULT_MEDIA_HOSTS = ("legnext.ai", "*.legnext.ai", "cdn.legnext.ai")

#: The override that lets a live dashboard listening beyond loopback, with no sign-in, spend money.
UNSAFE_OPEN_SETTING = "LEGNEXT_UNSAFE_OPEN_TO_ANYONE"

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A setting has a value the dashboard cannot use; the message names the setting."""


@dataclass(frozen=True)
class Settings:
    """Everything configurable, resolved once. Secrets never appear in ``repr``."""

    mode: Mode
    #: Base URL of the API, ending in ``/api`` (task endpoints are ``{base_url}/v1/...``).
    base_url: str
    api_key: str = field(repr=False)
    data_dir: Path = PROJECT_ROOT / "data"
    #: Where Legnext (or the sandbox) can reach this dashboard; callbacks go to its /webhooks/legnext.
    public_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    #: Hosts the archiver may download result media from (besides the sandbox in sandbox mode).
    media_hosts: tuple[str, ...] = DEFAULT_MEDIA_HOSTS
    request_timeout: float = 30.0
    #: Sandbox only: 1.0 is demo speed (a video in roughly 15-40 s); 10 makes it ten times faster.
    sandbox_time_scale: float = 1.0
    #: Sandbox only: the share of jobs that end as failed (0-1).
    sandbox_failure_rate: float = 0.05
    #: True when the sandbox runs inside this server (mounted by app.py), not elsewhere.
    sandbox_embedded: bool = False
    # -- who may use the dashboard (the rules are in legnext_core.access) --------------------------
    #: The address the server listens on (Streamlit's ``server.address``); None = every interface.
    listen_address: str | None = None
    #: True when secrets hold an ``[auth]`` section, so everyone signs in with ``st.login``.
    auth_configured: bool = False
    #: People and e-mail domains who may sign in and make jobs; viewers only see, admins also manage.
    allowed_emails: tuple[str, ...] = ()
    allowed_domains: tuple[str, ...] = ()
    viewers: tuple[str, ...] = ()
    admins: tuple[str, ...] = ()
    #: The operator's explicit, loudly named choice to let anyone who reaches the server spend money.
    unsafe_open_to_anyone: bool = False
    # -- spending caps in points (None = no cap); admins may override them in the dashboard ------------
    daily_cap_points: int | None = None
    monthly_cap_points: int | None = None
    #: The PostgreSQL job log every replica shares (``LEGNEXT_DATABASE_URL``); None keeps the TinyDB file.
    database_url: str | None = field(default=None, repr=False)

    @property
    def is_sandbox(self) -> bool:
        return self.mode == "sandbox"

    @property
    def api_host(self) -> str:
        """Host (and port) of the API: the only place the key is ever sent."""
        return urlsplit(self.base_url).netloc

    @property
    def job_log_path(self) -> Path:
        return self.data_dir / "jobs.json"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def uploads_dir(self) -> Path:
        """Uploaded start and end images, by content hash (see :mod:`legnext_core.uploads`)."""
        return self.media_dir / "uploads"

    @property
    def sandbox_state_path(self) -> Path:
        return self.data_dir / "sandbox-state.json"

    @property
    def webhook_url(self) -> str | None:
        """The callback URL to send with submissions, or None when nothing can reach us."""
        if not self.public_url:
            return None
        return self.public_url.rstrip("/") + WEBHOOK_PATH

    def callback_url(self, token: str) -> str | None:
        """The callback URL of one submission (its token is the last path segment), or None."""
        base = self.webhook_url
        return None if base is None else f"{base}/{token}"

    @property
    def sandbox_duration_scale(self) -> float:
        """How much shorter sandbox jobs are than live ones (the tracker scales its schedule by it).

        Demo durations are a tenth of Legnext's documented ones (a 3-5 min video takes 18-30 s),
        and the time-scale setting speeds that up further.
        """
        return 0.1 / self.sandbox_time_scale if self.is_sandbox else 1.0


def _lookup(name: str, env: Mapping[str, str], secrets: Mapping[str, Any]) -> str | None:
    value = env.get(name)
    if value is None or value == "":
        raw = secrets.get(name)
        value = None if raw is None else str(raw)
    value = value.strip() if value is not None else None
    return value or None


def _float(name: str, value: str | None, default: float, *, low: float, high: float) -> float:
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {value!r}.") from None
    if not low <= number <= high:
        raise SettingsError(f"{name} must be between {low:g} and {high:g}, got {number:g}.")
    return number


def _names(value: Any) -> tuple[str, ...]:
    """A list setting: a TOML list, or one string separated by commas or whitespace; lower case."""
    items = value if isinstance(value, list | tuple) else str(value or "").replace(",", " ").split()
    return tuple(dict.fromkeys(str(item).strip().lower() for item in items if str(item).strip()))


def _list_setting(name: str, env: Mapping[str, str], secrets: Mapping[str, Any]) -> tuple[str, ...]:
    raw = env.get(name)
    return _names(raw if raw else secrets.get(name))


def _cap(name: str, value: str | None) -> int | None:
    """A cap in points: a whole number above 0, or nothing (no cap)."""
    if value is None or value.lower() in ("none", "off"):
        return None
    try:
        number = int(value.replace("_", "").replace(",", ""))
    except ValueError:
        raise SettingsError(f"{name} must be a whole number of points, got {value!r}.") from None
    if number <= 0:
        raise SettingsError(f"{name} must be above 0 (leave it unset for no cap), got {number}.")
    return number


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _database_url(value: str | None) -> str | None:
    if value is None:
        return None
    if urlsplit(value).scheme not in ("postgresql", "postgres"):
        # The URL may carry a password: the message names the setting, never its value.
        raise SettingsError("LEGNEXT_DATABASE_URL must be a postgresql:// URL.")
    return value


def _http_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{name} must be an http(s) URL, got {value!r}.")
    return value.rstrip("/")


def load_settings(
    env: Mapping[str, str] | None = None,
    secrets: Mapping[str, Any] | None = None,
    *,
    server_port: int | None = None,
    server_address: str | None = None,
) -> Settings:
    """Resolve the settings.

    ``server_port`` is the port of the dashboard's own server; in sandbox mode with the embedded
    sandbox it gives the sandbox's URL and the webhook URL (both on loopback). ``server_address`` is
    where it listens (Streamlit's ``server.address``; None means every interface).
    """
    env = os.environ if env is None else env
    secrets = secrets or {}

    def get(name: str) -> str | None:
        return _lookup(name, env, secrets)

    api_key = get("LEGNEXT_API_KEY")
    data_dir_raw = get("LEGNEXT_DATA_DIR")
    data_dir = Path(data_dir_raw).expanduser() if data_dir_raw else PROJECT_ROOT / "data"
    if not data_dir.is_absolute():
        data_dir = (PROJECT_ROOT / data_dir).resolve()

    public_url = get(PUBLIC_URL_SETTING)
    if public_url:
        public_url = _http_url(PUBLIC_URL_SETTING, public_url)
    media_hosts_raw = get("LEGNEXT_MEDIA_HOSTS")
    media_hosts = (
        tuple(h.strip().lower() for h in media_hosts_raw.split(",") if h.strip())
        if media_hosts_raw
        else DEFAULT_MEDIA_HOSTS
    )
    common: dict[str, Any] = {
        "data_dir": data_dir,
        "webhook_secret": get("LEGNEXT_WEBHOOK_SECRET"),
        "media_hosts": media_hosts,
        "request_timeout": _float("LEGNEXT_TIMEOUT", get("LEGNEXT_TIMEOUT"), 30.0, low=1, high=600),
        "sandbox_time_scale": _float(
            "LEGNEXT_SANDBOX_TIME_SCALE", get("LEGNEXT_SANDBOX_TIME_SCALE"), 1.0, low=0.01, high=1000
        ),
        "sandbox_failure_rate": _float(
            "LEGNEXT_SANDBOX_FAILURE_RATE", get("LEGNEXT_SANDBOX_FAILURE_RATE"), 0.05, low=0, high=1
        ),
        "listen_address": (server_address or "").strip() or None,
        "auth_configured": isinstance(secrets.get("auth"), Mapping) and bool(secrets.get("auth")),
        "allowed_emails": _list_setting("LEGNEXT_ALLOWED_EMAILS", env, secrets),
        "allowed_domains": tuple(
            d.lstrip("@") for d in _list_setting("LEGNEXT_ALLOWED_DOMAINS", env, secrets)
        ),
        "viewers": _list_setting("LEGNEXT_VIEWERS", env, secrets),
        "admins": _list_setting("LEGNEXT_ADMINS", env, secrets),
        "unsafe_open_to_anyone": _flag(get(UNSAFE_OPEN_SETTING)),
        "daily_cap_points": _cap("LEGNEXT_DAILY_CAP_POINTS", get("LEGNEXT_DAILY_CAP_POINTS")),
        "monthly_cap_points": _cap("LEGNEXT_MONTHLY_CAP_POINTS", get("LEGNEXT_MONTHLY_CAP_POINTS")),
        "database_url": _database_url(get("LEGNEXT_DATABASE_URL")),
    }

    if api_key:
        base_url = _http_url("LEGNEXT_BASE_URL", get("LEGNEXT_BASE_URL") or LIVE_BASE_URL)
        return Settings(mode="live", base_url=base_url, api_key=api_key, public_url=public_url, **common)

    sandbox_url = get("LEGNEXT_SANDBOX_URL")
    if sandbox_url:
        base_url = _http_url("LEGNEXT_SANDBOX_URL", sandbox_url)
        embedded = False
    else:
        port = server_port or 8501
        base_url = f"http://127.0.0.1:{port}{SANDBOX_MOUNT_PATH}/api"
        embedded = True
        # The sandbox delivers its callbacks to this same server, so webhooks run in every demo.
        public_url = public_url or f"http://127.0.0.1:{port}"
    return Settings(
        mode="sandbox",
        base_url=base_url,
        api_key=SANDBOX_API_KEY,
        public_url=public_url,
        sandbox_embedded=embedded,
        **common,
    )


def read_secrets_files(paths: list[Path] | tuple[Path, ...]) -> dict[str, Any]:
    """The secrets of several files, later ones winning at the top level (as Streamlit merges them)."""
    merged: dict[str, Any] = {}
    for path in paths:
        merged.update(read_secrets_file(path))
    return merged


def read_secrets_file(path: Path) -> dict[str, Any]:
    """The top-level values of a ``secrets.toml``, or {} when there is none or it cannot be parsed.

    The server side reads the file itself because ``st.secrets`` belongs to script runs; the pages read
    the same file through ``st.secrets``, so both sides resolve the same settings.
    """
    import tomllib

    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError):
        return {}
