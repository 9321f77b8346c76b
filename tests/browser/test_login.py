"""Logging in and out through the login form, as a person does it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_a_wrong_password_is_announced_keeps_the_username_and_links_to_the_field(
    browser_page, make_staff
):
    make_staff("anna", "umea", ("librarian", "umea"))
    page = browser_page.page
    browser_page.open("/library/")
    page.get_by_role("banner").get_by_role("link", name="Inloggning för personal").click()
    expect(page).to_have_url(re.compile(r"/login\?next=%2Flibrary%2F$"))

    page.get_by_label("Användarnamn").fill("anna")
    page.get_by_label("Lösenord").fill("not the password")
    page.get_by_role("button", name="Logga in").click()

    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Fel användarnamn eller lösenord.")
    expect(summary).to_be_focused()
    expect(page).to_have_title(re.compile(r"^Fel: Logga in"))
    username = page.get_by_label("Användarnamn")
    expect(username).to_have_value("anna")
    expect(username).to_have_attribute("aria-invalid", "true")
    expect(username).to_have_accessible_description("Fel användarnamn eller lösenord.")
    expect(page.get_by_label("Lösenord")).to_have_value("")
    expect(page.get_by_role("link", name="English")).to_have_attribute(
        "href", "/login?next=%2Flibrary%2F&lang=en"
    )

    summary.get_by_role("link", name="Fel användarnamn eller lösenord.").click()
    expect(username).to_be_focused()


def test_the_right_password_returns_to_the_page_you_came_from_and_logging_out_ends_it(
    browser_page, make_staff
):
    make_staff("anna", "umea", ("librarian", "umea"))
    page = browser_page.page
    banner = page.get_by_role("banner")
    browser_page.open("/library/")
    banner.get_by_role("link", name="Inloggning för personal").click()
    page.get_by_label("Användarnamn").fill("anna")
    page.get_by_label("Lösenord").fill("not the password")
    page.get_by_role("button", name="Logga in").click()
    expect(page.get_by_role("alert")).to_be_visible()

    page.get_by_label("Lösenord").fill(PASSWORD)
    page.get_by_role("button", name="Logga in").click()

    expect(page).to_have_url(browser_page.base_url + "/library/")
    expect(banner).to_contain_text("Inloggad som anna")
    expect(banner.get_by_role("link", name="Inloggning för personal")).to_have_count(0)
    assert page.request.get(browser_page.base_url + "/api/me").json()["username"] == "anna"

    banner.get_by_role("button", name="Logga ut").click()

    expect(page).to_have_url(browser_page.base_url + "/")
    expect(banner.get_by_role("link", name="Logga in")).to_be_visible()
    expect(banner).not_to_contain_text("Inloggad som")
    assert page.request.get(browser_page.base_url + "/api/me").status == 401
