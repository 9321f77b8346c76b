"""The librarian's desk in a real browser: lend by card and barcode, take back, send on."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.axecore import describe_violations, run_axe
from tests.conftest import PASSWORD
from tests.library_loans.conftest import consortium  # noqa: F401 - the library's fixture

pytestmark = pytest.mark.browser
BLOCKING_IMPACTS = {"serious", "critical"}


def _log_in(browser_page, username: str) -> None:
    page = browser_page.page
    browser_page.open("/login?next=/library/desk/")
    page.get_by_label("Användarnamn").fill(username)
    page.get_by_label("Lösenord").fill(PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    expect(page.locator("html")).to_have_attribute("data-desk-ready", "true")


def _blocking(page, axe_source):
    violations = [v for v in run_axe(page, axe_source) if v["impact"] in BLOCKING_IMPACTS]
    return violations


def test_a_librarian_lends_and_takes_back_by_typing_and_is_told_where_the_copy_goes(
        browser_page, consortium, make_staff, axe_source, screenshot_dir):  # noqa: F811
    make_staff("bibliotekarie", "umea", ("librarian", "umea"))
    page = browser_page.page
    _log_in(browser_page, "bibliotekarie")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Umeå stadsbibliotek")
    scan = page.locator("#code")
    expect(scan).to_be_focused()
    expect(page.locator("#code-label")).to_have_text("Lånekort")

    page.keyboard.type("30000001")
    page.keyboard.press("Enter")
    outcome = page.locator("#outcome")
    expect(outcome).to_contain_text("Lånekort: Valle Vännäs")
    expect(page.locator("#code-label")).to_have_text("Streckkod")
    expect(scan).to_be_focused()
    expect(scan).to_have_value("")

    page.keyboard.type("V0001")
    page.keyboard.press("Enter")
    expect(outcome).to_contain_text("Utlånad: Bröderna Lejonhjärta")
    expect(outcome).to_contain_text("ägs av Vindeln")
    expect(page.locator(".desk-patron")).to_contain_text("Lån: 1.")

    page.keyboard.type("NOPE")
    page.keyboard.press("Enter")
    expect(outcome).to_contain_text("Nekat: Inget exemplar har streckkoden NOPE.")

    # To check in from the keyboard: Shift+Tab back to the modes, an arrow to "Återlämna".
    page.get_by_label("Återlämna").focus()
    page.keyboard.press("Space")
    expect(page.get_by_label("Återlämna")).to_be_checked()
    scan.focus()
    page.keyboard.type("V0001")
    page.keyboard.press("Enter")
    expect(outcome).to_contain_text("Skicka till Vindelns bibliotek (Vindeln)")
    expect(outcome).to_have_attribute("aria-live", "polite")
    expect(scan).to_be_focused()
    page.screenshot(path=str(screenshot_dir / "library-desk-checkin.png"), full_page=True)
    blocking = _blocking(page, axe_source)
    assert blocking == [], describe_violations(blocking)

    page.get_by_role("link", name="Transport").click()
    outgoing = page.get_by_role("table").first
    expect(outgoing).to_contain_text("V0001")
    expect(outgoing).to_contain_text("Vindelns bibliotek")
    expect(outgoing).to_contain_text("I tid")
    blocking = _blocking(page, axe_source)
    assert blocking == [], describe_violations(blocking)
    page.get_by_role("link", name="Reservationshyllan").click()
    expect(page.get_by_text("Inget väntar på reservationshyllan.")).to_be_visible()
    assert browser_page.csp_violations() == []
