"""Who comes in, who may spend, and where nobody may: the rules of legnext_core.access and the Host
allow-list, without a browser."""

from __future__ import annotations

import pytest

from legnext_core.access import (
    LOCAL,
    Person,
    Role,
    decide,
    listens_on_loopback_only,
    open_to_anyone,
    spending_lock,
)
from legnext_core.hosts import host_allowed
from legnext_core.settings import SettingsError, load_settings

AUTH = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32}}


def team(**env: str):
    base = {
        "LEGNEXT_ALLOWED_EMAILS": "ana@studio.test, Bo@Elsewhere.test",
        "LEGNEXT_ALLOWED_DOMAINS": "@team.test",
        "LEGNEXT_VIEWERS": "vic@team.test, guest@partner.test",
        "LEGNEXT_ADMINS": "root@studio.test",
        **env,
    }
    return load_settings(base, AUTH)


def test_lists_are_read_from_the_environment_or_as_toml_lists_from_secrets() -> None:
    settings = team()
    assert settings.allowed_emails == ("ana@studio.test", "bo@elsewhere.test")
    assert settings.allowed_domains == ("team.test",)
    from_secrets = load_settings({}, {**AUTH, "LEGNEXT_ADMINS": ["A@x.test", "b@x.test"]})
    assert from_secrets.admins == ("a@x.test", "b@x.test") and from_secrets.auth_configured


def test_without_auth_everyone_is_the_local_admin() -> None:
    decision = decide(load_settings({}, {}), is_logged_in=False)
    assert decision.allowed and decision.person == LOCAL and LOCAL.email == "local"


@pytest.mark.parametrize(
    ("email", "role"),
    [
        ("ana@studio.test", Role.MEMBER),
        ("BO@elsewhere.test", Role.MEMBER),
        ("anyone@team.test", Role.MEMBER),
        ("vic@team.test", Role.VIEWER),
        ("guest@partner.test", Role.VIEWER),
        ("root@studio.test", Role.ADMIN),
    ],
)
def test_allowed_people_come_in_with_their_role(email: str, role: Role) -> None:
    decision = decide(team(), is_logged_in=True, email=email, email_verified=True)
    assert decision.allowed and decision.person is not None
    assert decision.person.role is role and decision.person.email == email.lower()


@pytest.mark.parametrize(
    "email",
    ["eve@attacker.test", "ana@studio.test.attacker.test", "team.test@attacker.test", "", "no-at-sign"],
)
def test_anyone_else_is_refused_with_their_address(email: str) -> None:
    decision = decide(team(), is_logged_in=True, email=email, email_verified=True)
    assert decision.outcome == "refused" and decision.person is None
    assert decision.email == (email or "(no e-mail address)")


def test_an_address_the_provider_does_not_vouch_for_is_refused() -> None:
    decision = decide(team(), is_logged_in=True, email="ana@studio.test", email_verified=False)
    assert decision.outcome == "refused"


def test_with_auth_a_visitor_who_has_not_signed_in_must_sign_in() -> None:
    assert decide(team(), is_logged_in=False).outcome == "sign_in"


def test_auth_with_nobody_listed_lets_nobody_in() -> None:
    settings = load_settings({}, AUTH)
    assert decide(settings, is_logged_in=True, email="ana@studio.test").outcome == "refused"


def test_viewers_cannot_spend_and_resubmitting_is_for_the_maker_or_an_admin() -> None:
    viewer = Person("vic@team.test", Role.VIEWER, signed_in=True)
    member = Person("ana@studio.test", Role.MEMBER, signed_in=True)
    admin = Person("root@studio.test", Role.ADMIN, signed_in=True)
    assert not viewer.may_spend and member.may_spend and admin.may_spend
    assert member.may_resubmit("ana@studio.test") and not member.may_resubmit("bo@elsewhere.test")
    assert admin.may_resubmit("bo@elsewhere.test")
    assert not viewer.may_resubmit("vic@team.test")
    assert LOCAL.may_resubmit(None), "records made before sign-in existed count as local"


@pytest.mark.parametrize(
    ("address", "loopback"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.0.0.2", True), (None, False),
     ("", False), ("0.0.0.0", False), ("::", False), ("192.168.1.10", False), ("studio.example", False)],
)  # fmt: skip
def test_loopback_addresses(address: str | None, loopback: bool) -> None:
    assert listens_on_loopback_only(address) is loopback


def test_a_live_server_reachable_by_anyone_with_no_sign_in_may_not_spend() -> None:
    for address in ("0.0.0.0", None, "192.168.1.10"):
        settings = load_settings({"LEGNEXT_API_KEY": "k"}, {}, server_address=address)
        reason = spending_lock(settings)
        assert reason is not None and "[auth]" in reason
    assert spending_lock(load_settings({"LEGNEXT_API_KEY": "k"}, {}, server_address="127.0.0.1")) is None
    assert spending_lock(load_settings({"LEGNEXT_API_KEY": "k"}, AUTH, server_address="0.0.0.0")) is None
    assert spending_lock(load_settings({}, {}, server_address="0.0.0.0")) is None, "sandbox costs nothing"


def test_the_loud_override_opens_spending_and_says_so() -> None:
    settings = load_settings(
        {"LEGNEXT_API_KEY": "k", "LEGNEXT_UNSAFE_OPEN_TO_ANYONE": "1"}, {}, server_address="0.0.0.0"
    )
    assert spending_lock(settings) is None and open_to_anyone(settings)
    quiet = load_settings({"LEGNEXT_API_KEY": "k"}, {}, server_address="127.0.0.1")
    assert not open_to_anyone(quiet)


def test_caps_are_whole_points_above_zero() -> None:
    settings = load_settings({"LEGNEXT_DAILY_CAP_POINTS": "5,000", "LEGNEXT_MONTHLY_CAP_POINTS": "90000"}, {})
    assert (settings.daily_cap_points, settings.monthly_cap_points) == (5000, 90000)
    for bad in ("0", "-5", "lots", "1.5"):
        with pytest.raises(SettingsError, match="LEGNEXT_DAILY_CAP_POINTS"):
            load_settings({"LEGNEXT_DAILY_CAP_POINTS": bad}, {})


@pytest.mark.parametrize(
    ("host", "allowed"),
    [("localhost:8501", True), ("127.0.0.1:8501", True), ("[::1]:8501", True), ("LOCALHOST", True),
     ("attacker.example:8501", False), ("localhost.attacker.example", False), ("", False), (None, False),
     ("localhost:notaport", False), ("user@localhost", False)],
)  # fmt: skip
def test_the_host_allow_list(host: str | None, allowed: bool) -> None:
    assert host_allowed(host, ["localhost", "127.0.0.1", "::1"]) is allowed


def test_host_patterns_as_streamlit_reads_them() -> None:
    assert host_allowed("a.studio.example", ["*.studio.example"])
    assert not host_allowed("studio.example.evil", ["*.studio.example"])
    assert host_allowed("anything", ["*"]) and host_allowed("anything", [])
