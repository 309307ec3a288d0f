"""The dashboard with sign-in configured, through AppTest's ``st.user``: what a visitor who has not signed
in, a stranger, a viewer and a member each see. The browser tests sign in through a real provider."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from legnext_core.access import Person, Role
from legnext_core.models import JobKind, JobRequest
from legnext_core.studio import current_studio
from legnext_core.submit import submit_job
from tests.ui.helpers import page_text

AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-test-cookie-secret-of-some-length",
    "client_id": "studio",
    "client_secret": "secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
SECRET_PROMPT = "a violet heron standing in the fog of a harbour at dawn (team only)"
ANA = {"is_logged_in": True, "email": "ana@team.test", "email_verified": True, "name": "Ana"}
VIC = {"is_logged_in": True, "email": "vic@team.test", "email_verified": True}


@pytest.fixture
def team_app(app_test, monkeypatch):
    """The dashboard with sign-in on, seen by ``user``: members of team.test, one viewer, one admin."""
    monkeypatch.setenv("LEGNEXT_ALLOWED_DOMAINS", "team.test")
    monkeypatch.setenv("LEGNEXT_VIEWERS", "vic@team.test")
    monkeypatch.setenv("LEGNEXT_ADMINS", "root@team.test")

    def make(user: dict, page: str | None = None, *, query: dict[str, str] | None = None) -> AppTest:
        return app_test(page, query=query, secrets={"auth": AUTH}, user=user)

    return make


def _seed(person: str) -> str:
    current = current_studio()
    assert current is not None
    who = Person(person, Role.MEMBER, signed_in=True)
    result = submit_job(current, JobRequest(kind=JobKind.TEXT_VIDEO, prompt=SECRET_PROMPT), person=who)
    assert result.outcome == "accepted"
    return result.job_id


def _everything(at: AppTest) -> str:
    parts = [page_text(at)]
    for kind in ("text", "dataframe", "title", "button", "metric", "code"):
        parts.extend(str(getattr(e, "value", None) or getattr(e, "label", "")) for e in getattr(at, kind))
    return "\n".join(parts)


@pytest.mark.parametrize("page", [None, "history", "job", "create", "usage"])
def test_a_visitor_who_has_not_signed_in_sees_only_the_sign_in_screen(team_app, page) -> None:
    team_app(ANA)  # starts the Studio
    job_id = _seed("ana@team.test")
    at = team_app({"is_logged_in": False}, page, query={"job": job_id})
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    shown = _everything(at)
    assert SECRET_PROMPT not in shown and job_id not in shown
    assert not at.sidebar.children or not _everything_in(at.sidebar)


def _everything_in(block) -> str:
    return "".join(str(getattr(e, "value", "")) for e in block)


def test_one_button_per_provider(team_app, app_test) -> None:
    auth = {"redirect_uri": AUTH["redirect_uri"], "cookie_secret": AUTH["cookie_secret"],
            "google": {"client_id": "g"}, "microsoft": {"client_id": "m"}}  # fmt: skip
    at = app_test(secrets={"auth": auth}, user={"is_logged_in": False})
    assert [b.label for b in at.button] == ["Sign in with Google", "Sign in with Microsoft"]


def test_a_stranger_is_refused_with_their_address_and_nothing_else(team_app) -> None:
    team_app(ANA)
    _seed("ana@team.test")
    at = team_app({"is_logged_in": True, "email": "eve@elsewhere.test", "email_verified": True}, "history")
    assert [t.value for t in at.text] == ["eve@elsewhere.test may not use this dashboard."]
    assert [b.label for b in at.button] == ["Sign out"]
    assert SECRET_PROMPT not in _everything(at) and not at.dataframe


def test_a_viewer_sees_the_jobs_but_gets_no_form_to_make_one(team_app) -> None:
    team_app(ANA)
    _seed("ana@team.test")
    history = team_app(VIC, "history")
    assert not history.exception
    assert SECRET_PROMPT[:40] in history.dataframe[0].value["prompt"].iloc[0]
    for page in ("create", "extend", "upscale"):
        at = team_app(VIC, page)
        text = page_text(at)
        assert "vic@team.test may look at the team's jobs but not make new ones" in text, page
        assert not any("Create video" in b.label or "Submit" in b.label for b in at.button), page


def test_history_says_who_made_each_job_and_filters_to_mine(team_app) -> None:
    team_app(ANA)
    _seed("ana@team.test")
    _seed("bo@team.test")
    at = team_app(ANA, "history")
    table = at.dataframe[0].value
    assert sorted(table["submitted_by"]) == ["ana@team.test", "bo@team.test"]
    at.segmented_control(key="history-whose").set_value("Mine").run()
    assert list(at.dataframe[0].value["submitted_by"]) == ["ana@team.test"]


def test_the_create_feed_shows_the_signed_in_person_s_own_jobs(team_app) -> None:
    team_app(ANA)
    current = current_studio()
    assert current is not None
    for person, prompt in (("ana@team.test", "Ana's lighthouse"), ("bo@team.test", "Bo's harbour")):
        who = Person(person, Role.MEMBER, signed_in=True)
        result = submit_job(current, JobRequest(kind=JobKind.TEXT_VIDEO, prompt=prompt), person=who)
        assert result.outcome == "accepted"
    ana = team_app(ANA, "create")
    assert "Your latest jobs" in [element.value for element in ana.subheader]
    shown = [element.value for element in ana.text]
    assert "Ana's lighthouse" in shown and "Bo's harbour" not in shown
    newcomer = team_app({**ANA, "email": "cy@team.test"}, "create")
    assert "Your latest jobs" not in [element.value for element in newcomer.subheader]
    assert "Ana's lighthouse" not in [element.value for element in newcomer.text]


def test_the_sidebar_names_the_signed_in_person(team_app) -> None:
    at = team_app(VIC)
    assert "vic@team.test (viewer: sees, cannot make jobs)" in [t.value for t in at.sidebar.text]


def test_resubmitting_an_unknown_outcome_is_for_its_maker_or_an_admin(team_app, tmp_path: Path) -> None:
    team_app(ANA)
    current = current_studio()
    record = current.store.add_intent(
        JobRequest(kind=JobKind.TEXT_VIDEO, prompt="a kite over dunes"), api_mode="sandbox",
        api_base_url=current.settings.base_url, estimated_points=480, submitted_by="ana@team.test",
    )  # fmt: skip
    current.store.record_unknown(record.local_id, "the connection dropped")
    query = {"job": record.local_id}
    maker = team_app(ANA, "job", query=query)
    assert any(b.label == "Resubmit" for b in maker.button)
    other = team_app({**ANA, "email": "bo@team.test"}, "job", query=query)
    assert not any(b.label == "Resubmit" for b in other.button)
    admin = team_app({**ANA, "email": "root@team.test"}, "job", query=query)
    assert any(b.label == "Resubmit" for b in admin.button)


def test_the_usage_page_shows_charts_to_everyone_and_everyone_s_usage_to_admins(team_app) -> None:
    team_app(ANA)
    _seed("ana@team.test")
    _seed("bo@team.test")
    member = team_app(ANA, "usage")
    assert not member.exception
    assert list(member.dataframe[0].value["person"]) == ["ana@team.test"], "a member sees their own jobs"
    assert not member.get("form"), "only admins set the limits"
    charts = member.get("vega_lite_chart")
    assert len(charts) >= 3, "points by person, by kind, jobs per person: pictures, not only tables"
    admin = team_app({**ANA, "email": "root@team.test"}, "usage")
    assert sorted(admin.dataframe[0].value["person"]) == ["ana@team.test", "bo@team.test"]
    admin.number_input[0].set_value(700)
    admin.number_input[1].set_value(900_000)
    admin.button[-1].click().run()
    assert "Saved" in page_text(admin)
    refused = submit_job(
        current_studio(), JobRequest(kind=JobKind.TEXT_VIDEO, prompt="one more"),
        person=Person("ana@team.test", Role.MEMBER, signed_in=True),
    )  # fmt: skip
    assert refused.outcome == "refused" and refused.error.cap == 700


@pytest.fixture
def live_on_every_interface(studio_env, sandbox, monkeypatch):
    """Live mode (a key, the test sandbox as the API), the server told to listen on every interface."""
    from streamlit import config

    monkeypatch.setenv("LEGNEXT_API_KEY", "a-live-key")
    monkeypatch.setenv("LEGNEXT_BASE_URL", sandbox.base_url)
    monkeypatch.delenv("LEGNEXT_SANDBOX_URL")
    previous = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    yield
    config.set_option("server.address", previous)


def test_live_on_every_interface_with_no_sign_in_shows_the_setup_message(live_on_every_interface, app_test,
                                                                          sandbox) -> None:  # fmt: skip
    for page in ("create", "extend", "upscale"):
        at = app_test(page)
        assert "Making jobs is switched off" in page_text(at), page
        assert not any(b.label == "Create video" for b in at.button)
    assert sandbox.request_count("POST", "/api/") == 0


def test_the_loud_override_lets_it_spend_and_the_sidebar_says_so(live_on_every_interface, app_test,
                                                                  monkeypatch) -> None:  # fmt: skip
    monkeypatch.setenv("LEGNEXT_UNSAFE_OPEN_TO_ANYONE", "1")
    at = app_test()  # the shell's run: the sidebar
    assert any("Open to anyone" in e.value for e in at.sidebar.error)
    at.switch_page("pages/create.py").run()
    assert "Making jobs is switched off" not in page_text(at)
    assert any(b.label == "Create video" for b in at.button)
