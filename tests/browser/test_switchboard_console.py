"""The operator console in a real browser: type, open the card, take a message, see it sent."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from services import clock
from services.tenancy import TenantScope, tenant_scope
from switchboard.models import CallRoute
from switchboard.operations.directory import NumberInput, create_contact, create_unit
from switchboard.operations.presence import set_absence
from tests.browser.axecore import describe_violations, run_axe
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
BLOCKING_IMPACTS = {"serious", "critical"}


@pytest.fixture
def console_data(db, municipalities, make_staff):
    """An operator, Åsa at the school in Hörnefors (Umeå), and an away colleague."""
    umea = municipalities["umea"]
    with tenant_scope(TenantScope.of([umea.id], home=umea.id)):
        school = create_unit(db, name="Hörnefors skola", level="enhet")
        asa = create_contact(db, given_name="Åsa", family_name="Lindqvist", title="Lärare",
                             email="asa.lindqvist@umea.se", unit_id=school.id,
                             numbers=[NumberInput("work", "090-16 12 34", extension="1234"),
                                      NumberInput("mobile", "070-123 45 67")])
        rektor = create_contact(db, given_name="Rolf", family_name="Rektorsson",
                                title="Rektor", unit_id=school.id,
                                email="rolf.rektorsson@umea.se",
                                numbers=[NumberInput("work", "090-16 12 00")])
        set_absence(db, rektor, reason="Tjänsteresa", source="calendar",
                    starts_at=clock.now() - timedelta(hours=3),
                    set_at=clock.now() - timedelta(hours=3, minutes=5),
                    returns_at=clock.now() + timedelta(days=1), referral_contact_id=asa.id)
        db.add(CallRoute(municipality_id=umea.id, dialled="+4690161000",
                         greeting="Umeå kommun, välkommen"))
        db.flush()
    db.commit()
    make_staff("telefonist", "bjurholm", ("operator", None))
    return {"asa": asa, "rektor": rektor}


def log_in(browser_page, next_path: str) -> None:
    page = browser_page.page
    browser_page.open("/login?next=" + next_path)
    page.get_by_label("Användarnamn").fill("telefonist")
    page.get_by_label("Lösenord").fill(PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    # The console's keyboard shortcuts listen once its script has run.
    expect(page.locator("html")).to_have_attribute("data-console-ready", "true")


def test_an_operator_finds_a_person_opens_the_card_and_takes_a_message(
        browser_page, console_data, celery_worker, screenshot_dir):
    page = browser_page.page
    log_in(browser_page, "/switchboard/console?dialled=090-16 10 00")
    expect(page.get_by_text("Umeå kommun, välkommen")).to_be_visible()
    search_box = page.get_by_label("Sök person, enhet, ärende eller nummer")
    expect(search_box).to_be_focused()
    expect(page.get_by_label("Kommun")).to_have_value("umea")

    page.keyboard.type("asa lind")
    first = page.locator("#results .result__link").first
    expect(first).to_contain_text("Åsa Lindqvist")
    expect(first).to_contain_text("Hörnefors skola")
    expect(page.locator("#result-status")).to_have_text("1 träff")

    page.keyboard.press("ArrowDown")
    expect(first).to_be_focused()
    page.keyboard.press("Enter")
    card = page.locator("#card")
    expect(card.get_by_role("heading", name="Åsa Lindqvist")).to_be_focused()
    expect(card).to_contain_text("090-16 12 34")
    expect(card).to_contain_text("1234")
    expect(card).to_contain_text("Mobil")
    expect(card).to_contain_text("Hörnefors skola")

    page.keyboard.press("m")
    caller = page.get_by_label("Vem ringde")
    expect(caller).to_be_focused()
    caller.fill("Karin Persson")
    page.get_by_label("Nummer att ringa tillbaka").fill("070-765 43 21")
    page.get_by_label("Ärende", exact=True).fill("Utvecklingssamtal")
    page.get_by_label("Meddelande", exact=True).fill("Ring tillbaka efter 15.")
    page.get_by_role("button", name="Skicka meddelandet").click()
    status = card.locator(".message-status__state")
    expect(status).to_have_attribute("data-status", re.compile("queued|retrying|delivered"))
    expect(status).to_have_attribute("data-status", "delivered", timeout=20_000)
    expect(status).to_have_text("Levererat")
    page.screenshot(path=str(screenshot_dir / "switchboard-console.png"), full_page=True)
    assert browser_page.csp_violations() == []


def test_the_card_shows_absence_age_and_referral_and_escape_returns_to_search(
        browser_page, console_data):
    page = browser_page.page
    log_in(browser_page, "/switchboard/console")
    page.get_by_label("Sök person, enhet, ärende eller nummer").fill("rektor")
    result = page.locator("#results .result__link").first
    expect(result).to_contain_text("Borta")
    expect(result).to_contain_text("satt för 3 h sedan")
    result.click()
    card = page.locator("#card")
    expect(card).to_contain_text("Tjänsteresa")
    expect(card).to_contain_text("kalender")
    expect(card.get_by_role("heading", name="Hänvisning")).to_be_visible()
    card.get_by_role("link", name="Åsa Lindqvist").click()
    expect(card.get_by_role("heading", name="Åsa Lindqvist")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_label("Sök person, enhet, ärende eller nummer")).to_be_focused()


def test_every_municipality_is_one_keystroke_away(browser_page, console_data):
    page = browser_page.page
    log_in(browser_page, "/switchboard/console?dialled=090-16 10 00")
    scope = page.get_by_label("Kommun")
    expect(scope).to_have_value("umea")
    page.keyboard.press("Alt+0")
    expect(scope).to_have_value("")
    page.keyboard.type("Vindeln")
    expect(page.locator("#result-status")).not_to_be_empty()


def test_a_message_without_a_caller_is_refused_with_the_field_named(
        browser_page, console_data):
    page = browser_page.page
    log_in(browser_page, "/switchboard/console")
    page.get_by_label("Sök person, enhet, ärende eller nummer").fill("Åsa Lindqvist")
    page.locator("#results .result__link").first.click()
    page.get_by_role("button", name="Ta meddelande").click()
    page.get_by_label("Vem ringde").fill(" ")
    page.get_by_role("button", name="Skicka meddelandet").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label("Vem ringde")).to_have_attribute("aria-invalid", "true")


def test_the_console_with_results_and_a_card_passes_axe(browser_page, console_data, axe_source):
    page = browser_page.page
    log_in(browser_page, "/switchboard/console?dialled=090-16 10 00")
    page.keyboard.type("rektor")
    page.locator("#results .result__link").first.click()
    expect(page.locator("#card").get_by_role("heading", name="Rolf Rektorsson")).to_be_visible()
    page.get_by_role("button", name="Ta meddelande").click()
    expect(page.get_by_label("Vem ringde")).to_be_visible()
    violations = run_axe(page, axe_source)
    blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
    assert blocking == [], describe_violations(blocking)
    assert browser_page.csp_violations() == []
