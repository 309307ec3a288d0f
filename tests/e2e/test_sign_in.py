"""Sign-in through a real OpenID Connect provider (oidc-provider-mock, started here on a free loopback
port): the real dashboard with an ``[auth]`` section, driven in Chromium.

- a visitor who has not signed in sees only the sign-in screen on every URL, deep links included, and no
  job data reaches the browser: neither the page nor the WebSocket frames carry a job's prompt;
- an allowed person signs in through the provider, sees the team's jobs, and signs out again;
- a signed-in stranger sees a plain refusal with their address.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import werkzeug.serving

from legnext_core.models import JobKind, JobRequest
from legnext_core.store import JobStore
from tests.e2e.conftest import _free_port, running_dashboard

SECRET_PROMPT = "a violet heron standing in the harbour fog at dawn, team eyes only 7c1f"
DEEP_LINKS = (
    "", "create", "history", "usage", "extend", "upscale", "job?job={local_id}",
    "create?mode=animate&image_job={local_id}&image=0", "extend?job={local_id}&variant=0",
)  # fmt: skip


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """A real OpenID Connect provider on 127.0.0.1; any client id is accepted, any subject signs in."""
    from oidc_provider_mock import app as provider_app

    server = werkzeug.serving.make_server("127.0.0.1", 0, provider_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def _seed_job(data_dir: Path) -> str:
    """A job in the log before the server starts: its prompt is what must never reach a stranger."""
    store = JobStore(data_dir / "jobs.json")
    try:
        record = store.add_intent(
            JobRequest(kind=JobKind.TEXT_VIDEO, prompt=SECRET_PROMPT), api_mode="sandbox",
            api_base_url="http://127.0.0.1:9/sandbox/api", estimated_points=480, submitted_by="ana@team.test",
        )  # fmt: skip
        store.record_unknown(record.local_id, "the connection dropped before the answer")
        return record.local_id
    finally:
        store.close()


@pytest.fixture(scope="module")
def team_dashboard(provider: str, tmp_path_factory: pytest.TempPathFactory):
    data_dir = tmp_path_factory.mktemp("team-dashboard")
    local_id = _seed_job(data_dir)
    port = _free_port()
    secrets = data_dir / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        'cookie_secret = "a-cookie-secret-for-the-sign-in-test-only"\n'
        'client_id = "legnext-studio"\n'
        'client_secret = "not-checked-by-the-test-provider"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n'
    )
    with running_dashboard(
        data_dir, args=("--secrets.files", str(secrets)), port=port,
        LEGNEXT_ALLOWED_DOMAINS="team.test", LEGNEXT_VIEWERS="vic@team.test",
    ) as dashboard:  # fmt: skip
        dashboard.local_id = local_id
        yield dashboard


def _frames(page) -> list[bytes]:
    frames: list[bytes] = []

    def on_socket(socket) -> None:
        def keep(payload) -> None:
            frames.append(payload if isinstance(payload, bytes) else payload.encode())

        socket.on("framereceived", keep)

    page.on("websocket", on_socket)
    return frames


def test_a_visitor_who_has_not_signed_in_sees_only_the_sign_in_screen_everywhere(team_dashboard, page):
    frames = _frames(page)
    for link in DEEP_LINKS:
        page.goto(team_dashboard.page_url(link.format(local_id=team_dashboard.local_id)))
        page.get_by_role("button", name="Sign in").wait_for()
        page.wait_for_timeout(500)  # anything else the run would draw arrives with the button
        body = page.locator("body").inner_text()
        assert SECRET_PROMPT not in body and team_dashboard.local_id not in body, link
        assert "Balance" not in body and "History" not in body.replace("Legnext Video Studio", ""), link
        making = page.get_by_role("button").filter(has_text=re.compile("Create|Extend|Upscale|Export"))
        assert making.count() == 0, link
    assert frames, "the WebSocket frames were captured"
    payload = b"".join(frames)
    assert SECRET_PROMPT.encode() not in payload and SECRET_PROMPT[:30].encode() not in payload
    assert team_dashboard.local_id.encode() not in payload


def _sign_in(page, dashboard, subject: str, start: str = "history") -> None:
    page.goto(dashboard.page_url(start))
    page.get_by_role("button", name="Sign in").click()
    # The provider's own page: who to sign in as.
    page.locator("input[name=sub]").fill(subject)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(re.compile(re.escape(dashboard.url) + r"/.*"))


def test_an_allowed_person_signs_in_sees_the_team_s_jobs_and_signs_out(team_dashboard, page):
    # Signing in from a deep link lands on it, not on the home page.
    deep_link = f"job?job={team_dashboard.local_id}"
    _sign_in(page, team_dashboard, "ana@team.test", start=deep_link)
    page.get_by_text("ana@team.test", exact=True).first.wait_for()
    assert page.url == team_dashboard.page_url(deep_link)
    page.get_by_text(SECRET_PROMPT).first.wait_for()
    page.get_by_role("button", name="Sign out").click()
    # The provider asks before it ends its own session, then sends the browser back.
    page.get_by_role("button", name="End session").click()
    page.get_by_role("button", name="Sign in").wait_for()
    page.goto(team_dashboard.page_url(f"job?job={team_dashboard.local_id}"))
    page.get_by_role("button", name="Sign in").wait_for()
    page.wait_for_timeout(500)
    assert SECRET_PROMPT not in page.locator("body").inner_text()


def test_a_viewer_signs_in_and_sees_no_form(team_dashboard, page):
    _sign_in(page, team_dashboard, "vic@team.test")
    page.goto(team_dashboard.page_url("create"))
    page.get_by_text("vic@team.test may look at the team's jobs but not make new ones").wait_for()
    assert page.get_by_role("button", name=re.compile("Create video")).count() == 0


def test_a_signed_in_stranger_sees_a_plain_refusal(team_dashboard, page):
    _sign_in(page, team_dashboard, "eve@elsewhere.test")
    page.get_by_text("eve@elsewhere.test may not use this dashboard.").wait_for()
    page.wait_for_timeout(500)
    body = page.locator("body").inner_text()
    assert SECRET_PROMPT not in body and "Balance" not in body
