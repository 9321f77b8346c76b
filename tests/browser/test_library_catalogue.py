"""The public catalogue in a real browser: search by keyboard, filter, open a record; axe-core."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from library_loans.operations.administration import create_branch
from library_loans.search.index import reindex
from services.settings_ext import session_factory_for
from services.tenancy import TenantScope, tenant_scope
from tests.browser.axecore import describe_violations, run_axe
from tests.library_loans.test_search_engine import add_copy, add_record

pytestmark = pytest.mark.browser
BLOCKING_IMPACTS = {"serious", "critical"}


def seed_catalogue(settings, municipalities) -> dict[str, uuid.UUID]:  # type: ignore[no-untyped-def]
    """Branches in Umeå, Vindeln and Vännäs and a few indexed titles with copies; their ids."""
    with session_factory_for(settings)() as session:
        branches = {}
        for slug, code, name in (("umea", "UMEA-STADS", "Umeå stadsbibliotek"),
                                 ("vindeln", "VINDELN-HB", "Vindelns bibliotek"),
                                 ("vannas", "VANNAS-HB", "Vännäs bibliotek")):
            with tenant_scope(TenantScope.of([municipalities[slug].id])):
                branches[code] = create_branch(session, code=code, name=name)
        records = {
            "lejon": add_record(session, "Bröderna Lejonhjärta", author="Lindgren, Astrid",
                                subjects=["Syskon"], audience="children"),
            "pippi": add_record(session, "Pippi Långstrump", author="Lindgren, Astrid",
                                audience="children"),
            "mio": add_record(session, "Mio, min Mio", author="Lindgren, Astrid",
                              notes=["Talbok (DAISY)"], media_type="talking_book",
                              audience="children", talking_book=True),
            "ronja": add_record(session, "Ronja rövardotter", author="Lindgren, Astrid",
                                notes=["Talbok (DAISY)"], media_type="talking_book",
                                audience="children", talking_book=True),
            "martian": add_record(session, "The Martian", author="Weir, Andy", language="eng"),
        }
        add_copy(session, records["lejon"], branches["UMEA-STADS"])
        add_copy(session, records["lejon"], branches["VINDELN-HB"], status="on_loan")
        add_copy(session, records["pippi"], branches["VANNAS-HB"], status="on_loan")
        add_copy(session, records["ronja"], branches["UMEA-STADS"])
        add_copy(session, records["martian"], branches["VINDELN-HB"])
        reindex(session, [record.id for record in records.values()])
        session.commit()
        return {name: record.id for name, record in records.items()}


@pytest.fixture
def shelves(migrated, municipalities) -> dict[str, uuid.UUID]:  # type: ignore[no-untyped-def]
    """The catalogue's titles, committed for the live server."""
    return seed_catalogue(migrated, municipalities)


def tab_to(page, locator, presses: int = 40) -> None:  # type: ignore[no-untyped-def]
    """Press Tab until ``locator`` has the focus (failing after ``presses`` presses)."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if locator.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {locator}")


def blocking_violations(browser_page, axe_source) -> None:  # type: ignore[no-untyped-def]
    """Assert axe-core finds nothing serious or critical and the CSP refused nothing."""
    violations = run_axe(browser_page.page, axe_source)
    blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, describe_violations(violations)
    assert not browser_page.csp_violations(), browser_page.csp_violations()


def test_a_patron_searches_and_opens_a_record_with_the_keyboard_alone(browser_page, shelves):
    page = browser_page.page
    browser_page.open("/library/")
    expect(page.locator("html")).to_have_attribute("data-catalogue-ready", "true")

    search_box = page.get_by_label("Sök titel, författare, ämne eller ISBN")
    tab_to(page, search_box)
    page.keyboard.type("lindgren")
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/library/search\?q=lindgren$"))
    status = page.get_by_role("status")
    expect(status).to_have_text("4 träffar, visar 1–4.")
    first = page.get_by_role("link", name="Bröderna Lejonhjärta")
    tab_to(page, first)
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Bröderna Lejonhjärta")
    expect(page.get_by_role("table", name="Umeå stadsbibliotek: 1 av 1 inne")).to_contain_text(
        "Inne")
    expect(page.get_by_role("table", name="Vindelns bibliotek: 0 av 1 inne")).to_contain_text(
        "Utlånad")
    expect(page.get_by_role("link", name="Reservera")).to_have_attribute(
        "href", f"/library/records/{shelves['lejon']}/reserve")


def test_results_and_facets_update_in_place_and_the_count_is_announced(browser_page, shelves):
    page = browser_page.page
    browser_page.open("/library/search?q=lindgren")
    expect(page.locator("html")).to_have_attribute("data-catalogue-ready", "true")
    status = page.get_by_role("status")
    expect(status).to_have_text("4 träffar, visar 1–4.")
    # The live region stays the same element while htmx changes what it says.
    page.evaluate("() => { document.getElementById('result-status').dataset.original = 'yes'; }")

    facets = page.get_by_role("region", name="Avgränsa")
    talbok = facets.get_by_role("link", name=re.compile(r"^Talbok \(2\)"))
    talbok.focus()
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"media_type=talking_book"))
    expect(status).to_have_text("2 träffar, visar 1–2.")
    expect(status).to_have_attribute("data-original", "yes")
    expect(page.get_by_role("heading", name="Träffar")).to_be_focused()
    results = page.locator(".hit__title")
    expect(results).to_have_text(["Mio, min Mio", "Ronja rövardotter"])

    search_box = page.get_by_label("Sök titel, författare, ämne eller ISBN")
    search_box.fill("martian")
    search_box.press("Enter")
    expect(status).to_have_text("1 träff, visar 1–1.")
    expect(results).to_have_text(["The Martian"])
    expect(page).to_have_url(re.compile(r"/library/search\?q=martian"))
    expect(status).to_have_attribute("data-original", "yes")


def test_search_works_without_javascript(chromium, live_server, shelves):
    context = chromium.new_context(locale="sv-SE", java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(live_server + "/library/")
        page.get_by_label("Sök titel, författare, ämne eller ISBN").fill("weir")
        page.get_by_role("button", name="Sök").click()
        expect(page.get_by_role("status")).to_have_text("1 träff, visar 1–1.")
        page.get_by_role("link", name=re.compile(r"^engelska")).click()
        expect(page).to_have_url(re.compile(r"language=eng"))
        expect(page.locator(".hit__title")).to_have_text(["The Martian"])
    finally:
        context.close()


@pytest.mark.parametrize("name", ["start", "search", "advanced", "record", "error"])
def test_the_catalogue_pages_have_no_serious_accessibility_violations(
        browser_page, shelves, axe_source, name):
    page = browser_page.page
    paths = {
        "start": "/library/",
        "search": "/library/search?q=lindgren",
        "advanced": "/library/search?author=lindgren&audience=children",
        "record": f"/library/records/{shelves['lejon']}",
        "error": "/library/search?q=lindgren&page=0",
    }
    response = browser_page.open(paths[name])
    assert response.status == (422 if name == "error" else 200)
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    if name == "error":
        expect(page.get_by_role("alert")).to_contain_text("Sida: Ange ett sidnummer")

    blocking_violations(browser_page, axe_source)


@pytest.mark.parametrize("path", ["/library/search?q=lindgren", "record"])
def test_the_catalogue_reflows_at_320_css_pixels(browser_page, shelves, path):
    browser_page.page.set_viewport_size({"width": 320, "height": 640})
    browser_page.open(f"/library/records/{shelves['lejon']}" if path == "record" else path)

    widths = browser_page.page.evaluate(
        """() => ({page: document.documentElement.scrollWidth,
                   viewport: document.documentElement.clientWidth})""")
    assert widths["page"] <= widths["viewport"], widths


def test_screenshots_of_the_catalogue_pages(browser_page, shelves, screenshot_dir):
    shots = []
    for width, suffix in ((1280, ""), (320, "-320px")):
        browser_page.page.set_viewport_size({"width": width, "height": 900})
        for name, path in (("catalogue-search", "/library/search?q=lindgren"),
                           ("catalogue-record", f"/library/records/{shelves['lejon']}"),
                           ("talking-books", "/library/talking-books")):
            browser_page.open(path)
            shot = screenshot_dir / f"{name}{suffix}.png"
            browser_page.page.screenshot(path=str(shot), full_page=True)
            shots.append(shot)
    assert all(shot.stat().st_size > 0 for shot in shots)
