"""The frame every page shares, seen by a first visitor of a freshly started server."""

from __future__ import annotations

import re

import requests
from playwright.sync_api import expect

from tests.e2e.conftest import running_dashboard


def test_first_visit_on_a_deep_link_gets_the_navigation_not_the_pages_folder(browser, tmp_path):
    # A fresh server: the first script run of the process is this deep link.
    with running_dashboard(tmp_path) as fresh:
        context = browser.new_context()
        page = context.new_page()
        try:
            page.goto(fresh.page_url("history"))
            expect(page.get_by_role("heading", name="History")).to_be_visible(timeout=30_000)
            sidebar = page.get_by_test_id("stSidebar")
            expect(sidebar.get_by_role("link", name="Create")).to_be_visible()
            # Exact: the Gallery link's icon name, "photo_library", also contains the word.
            expect(sidebar.get_by_text("Library", exact=True)).to_be_visible()
            # The old automatic pages/ navigation lists the raw file names, the entry script among them.
            expect(sidebar.get_by_role("link", name="app", exact=True)).to_have_count(0)
            expect(sidebar.get_by_role("link", name="job", exact=True)).to_have_count(0)
        finally:
            context.close()


def test_sidebar_tells_sandbox_mode_and_shows_the_sandbox_balance(dashboard, page):
    page.goto(dashboard.url)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("No API key set")).to_be_visible(timeout=30_000)
    # Other browser tests spend sandbox points, so any figure will do; a failed read shows no figure.
    expect(sidebar.get_by_text(re.compile(r"^[\d,]+ points$"))).to_be_visible()


def test_server_routes_answer_beside_the_dashboard(dashboard):
    health = requests.get(f"{dashboard.url}/healthz", timeout=5).json()
    assert health["mode"] == "sandbox"
    balance = requests.get(
        f"{dashboard.url}/sandbox/api/account/balance", headers={"x-api-key": "anything"}, timeout=5
    )
    assert balance.status_code == 200 and balance.json()["code"] == 200
    # Without a webhook secret the token-less route takes nothing; an unknown token is a plain 404.
    unsigned = requests.post(f"{dashboard.url}/webhooks/legnext", data=b"not json", timeout=5)
    assert unsigned.status_code == 410
    forged = requests.post(f"{dashboard.url}/webhooks/legnext/{'0' * 32}", data=b"not json", timeout=5)
    assert forged.status_code == 404
    assert requests.get(f"{dashboard.url}/healthz", timeout=5).json()["webhooks"]["unknown_token"] >= 1


def test_a_typed_create_deep_link_opens_create_with_its_parameters(dashboard, page):
    # The root URL belongs to the default page; Create has its own, so /create?... links work typed in.
    page.goto(dashboard.page_url("create?mode=batch"))
    expect(page.get_by_role("heading", name="Create a video")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Page not found")).to_have_count(0)
    # Batch mode was chosen by the link: its prompt list is on the page.
    expect(page.get_by_label("Prompts, one per line")).to_be_visible()
    page.goto(dashboard.url)
    expect(page).to_have_url(f"{dashboard.url}/create", timeout=30_000)
