"""A patron in the browser: log in with card and PIN, see loans and holds, reserve a title."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from library_loans.access import hold_queues
from library_loans.operations.circulation import checkout, find_patron
from library_loans.operations.holds import place_hold
from tests.browser.axecore import describe_violations, run_axe
from tests.library_loans import conftest as library_fixtures
from tests.library_loans.conftest import MONDAY, add_item, add_record

pytestmark = pytest.mark.browser

library_consortium = library_fixtures.consortium
"""The library tests' small consortium, under a name of its own here."""

BLOCKING_IMPACTS = {"serious", "critical"}


@pytest.fixture
def ullas_library(request):  # type: ignore[no-untyped-def]
    """Ulla has borrowed "Mio, min Mio" and waits for "Ronja rövardotter"; both copies of
    "Bröderna Lejonhjärta" are out with others, so a hold on it waits in the queue."""
    consortium = request.getfixturevalue("library_consortium")
    with consortium.session() as session:
        mio = add_record(session, "Mio, min Mio", "Lindgren, Astrid")
        ronja = add_record(session, "Ronja rövardotter", "Lindgren, Astrid")
        add_item(session, mio, consortium.branches["VANNAS-HB"], "N0001")
        add_item(session, ronja, consortium.branches["VINDELN-HB"], "V0002")
        session.commit()
    with consortium.session() as session, hold_queues(session):
        umea = consortium.branches["UMEA-STADS"]
        checkout(session, "N0001", find_patron(session, "10000001"), umea, at=MONDAY)
        checkout(session, "V0002", find_patron(session, "20000001"),
                 consortium.branches["VINDELN-HB"], at=MONDAY)
        checkout(session, "U0001", find_patron(session, "10000002"), umea, at=MONDAY)
        checkout(session, "V0001", find_patron(session, "30000001"),
                 consortium.branches["VANNAS-HB"], at=MONDAY)
        place_hold(session, find_patron(session, "10000001"), ronja, umea, at=MONDAY)
        session.commit()
    return consortium


def assert_accessible(page, axe_source: str) -> None:  # type: ignore[no-untyped-def]
    """No serious or critical axe-core finding on the page as it is now."""
    blocking = [v for v in run_axe(page, axe_source) if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, describe_violations(blocking)


def test_a_patron_logs_in_sees_loans_and_holds_and_reserves_with_the_home_branch_preselected(
        browser_page, ullas_library, axe_source):
    page = browser_page.page
    record = ullas_library.records["bröder"]
    browser_page.open(f"/library/records/{record.id}/reserve")

    expect(page).to_have_url(re.compile(r"/library/login\?next="))
    expect(page.get_by_role("heading", level=1)).to_have_text("Logga in på Mina sidor")
    assert_accessible(page, axe_source)
    page.get_by_label("Lånekortsnummer").fill("10000001")
    page.get_by_label("PIN-kod").fill("0000")
    page.get_by_role("button", name="Logga in").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Fel kortnummer eller PIN-kod.")
    expect(alert).to_be_focused()
    assert_accessible(page, axe_source)

    page.get_by_label("PIN-kod").fill("1234")
    page.get_by_role("button", name="Logga in").click()

    expect(page).to_have_url(browser_page.base_url + f"/library/records/{record.id}/reserve")
    expect(page.get_by_role("heading", name="Bröderna Lejonhjärta")).to_be_visible()
    pickup = page.get_by_label("Hämta på")
    expect(pickup).to_have_value(str(ullas_library.branches["UMEA-STADS"].id))
    expect(pickup.locator("option:checked")).to_contain_text("Umeå stadsbibliotek")
    assert_accessible(page, axe_source)

    page.get_by_role("button", name="Reservera").click()

    expect(page).to_have_url(re.compile(r"/library/my#hold-"))
    expect(page.get_by_role("status")).to_contain_text(
        "Reservationen är lagd. Du är nummer 1 av 1 i kön.")
    holds = page.locator("#holds")
    expect(holds.get_by_role("heading", level=2)).to_have_text("Reservationer (2)")
    new_hold = holds.locator("li", has=page.get_by_role("heading", name="Bröderna Lejonhjärta"))
    expect(new_hold).to_contain_text("Plats i kön")
    expect(new_hold).to_contain_text("1 av 1")
    expect(new_hold).to_contain_text("Cirka 28 dagar")
    ronja = holds.locator("li", has=page.get_by_role("heading", name="Ronja rövardotter"))
    expect(ronja).to_contain_text("1 av 1")
    loans = page.locator("#loans")
    expect(loans.get_by_role("row", name=re.compile("Mio, min Mio"))).to_contain_text("N0001")
    assert_accessible(page, axe_source)
    assert browser_page.csp_violations() == []


def test_a_patron_pauses_and_cancels_a_hold_with_the_keyboard(
        browser_page, ullas_library, axe_source):
    page = browser_page.page
    browser_page.open("/library/my")
    page.get_by_label("Lånekortsnummer").fill("10000001")
    page.get_by_label("PIN-kod").fill("1234")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mina sidor")

    hold = page.locator("#holds li").first
    hold.get_by_label("Pausa till och med").fill((date.today() + timedelta(days=10)).isoformat())
    hold.get_by_role("button", name="Pausa Ronja rövardotter").click()
    expect(page.get_by_role("status")).to_contain_text("Reservationen är pausad till och med")
    expect(page.locator("#holds li").first).to_contain_text("Du behåller din plats")

    page.locator("#holds li").first.get_by_role(
        "link", name="Ta bort reservationen Ronja rövardotter").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ta bort reservationen?")
    assert_accessible(page, axe_source)
    page.get_by_role("button", name="Ja, ta bort reservationen").click()
    expect(page.get_by_role("status")).to_contain_text("Reservationen är borttagen.")
    expect(page.locator("#holds")).to_contain_text("Du har inga reservationer.")

    page.get_by_role("button", name="Logga ut från Mina sidor").click()
    expect(page.get_by_role("status")).to_contain_text("Du är utloggad.")
    browser_page.open("/library/my")
    expect(page).to_have_url(re.compile(r"/library/login\?next="))


def test_my_pages_and_reserve_reflow_at_320_px_and_are_photographed(
        browser_page, ullas_library, screenshot_dir):
    page = browser_page.page
    record = ullas_library.records["bröder"]
    browser_page.open("/library/login")
    page.get_by_label("Lånekortsnummer").fill("10000001")
    page.get_by_label("PIN-kod").fill("1234")
    page.get_by_role("button", name="Logga in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mina sidor")
    shots = []
    for width, suffix in ((1280, ""), (320, "-320px")):
        page.set_viewport_size({"width": width, "height": 900})
        for name, path in (("library-login", "/library/login"),
                           ("library-my-pages", "/library/my"),
                           ("library-reserve", f"/library/records/{record.id}/reserve")):
            browser_page.open(path)
            widths = page.evaluate(
                """() => ({page: document.documentElement.scrollWidth,
                           viewport: document.documentElement.clientWidth})""")
            assert widths["page"] <= widths["viewport"], (name, width, widths)
            shot = screenshot_dir / f"{name}{suffix}.png"
            page.screenshot(path=str(shot), full_page=True)
            shots.append(shot)
    assert all(shot.stat().st_size > 0 for shot in shots)
