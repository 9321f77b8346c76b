"""The talking-book page with keyboard and screen reader: landmarks, headings, live count, axe."""

from __future__ import annotations

import itertools
import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_library_catalogue import blocking_violations, seed_catalogue, tab_to

pytestmark = pytest.mark.browser


@pytest.fixture
def shelves(migrated, municipalities):  # type: ignore[no-untyped-def]
    """The catalogue's titles (two talking books among them), committed for the live server."""
    return seed_catalogue(migrated, municipalities)


def open_talking_books(browser_page, path: str = "/library/talking-books"):  # type: ignore[no-untyped-def]
    """The talking-book page, once its script has run."""
    browser_page.open(path)
    expect(browser_page.page.locator("html")).to_have_attribute("data-catalogue-ready", "true")
    return browser_page.page


def test_the_page_has_one_h1_landmarks_and_logical_headings(browser_page, shelves):
    page = open_talking_books(browser_page)

    expect(page.get_by_role("heading", level=1)).to_have_text("Talböcker")
    expect(page.get_by_role("banner")).to_have_count(1)
    expect(page.get_by_role("main")).to_have_count(1)
    expect(page.get_by_role("contentinfo")).to_have_count(1)
    expect(page.get_by_role("navigation", name="Biblioteken")).to_be_visible()
    expect(page.get_by_role("search", name="Sök bland talböckerna")).to_be_visible()
    levels = page.evaluate(
        "() => [...document.querySelectorAll('main h1, main h2, main h3')]"
        ".map(heading => Number(heading.tagName[1]))")
    assert levels[0] == 1
    assert all(later - earlier <= 1 for earlier, later in itertools.pairwise(levels)), levels
    expect(page.get_by_role("heading", name="Vem får låna talböcker?")).to_be_visible()
    legimus = page.get_by_role("link", name=re.compile(r"^Gå till Legimus"))
    expect(legimus).to_have_attribute("href", "https://www.legimus.se/")


def test_a_keyboard_user_searches_and_hears_how_many_were_found(browser_page, shelves):
    page = open_talking_books(browser_page)
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Hoppa till innehållet")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()

    status = page.get_by_role("status")
    expect(status).to_have_text("2 träffar, visar 1–2.")
    search_box = page.get_by_label("Titel, författare eller ämne")
    tab_to(page, search_box)
    page.keyboard.type("ronja")
    page.keyboard.press("Enter")

    expect(status).to_have_text("1 träff, visar 1–1.")
    expect(page).to_have_url(re.compile(r"/library/talking-books\?q=ronja$"))
    results = page.get_by_role("region", name="Träffar").get_by_role("listitem")
    expect(results).to_have_count(1)
    title = results.first.get_by_role("heading", level=3)
    expect(title).to_have_text("Ronja rövardotter")
    expect(results.first).to_contain_text("Talbok")
    expect(results.first).to_contain_text("Inne i Umeå")

    tab_to(page, title.get_by_role("link"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ronja rövardotter")
    expect(page.get_by_role("link", name=re.compile(r"^Låna talboken hos Legimus"))).to_be_visible()


def test_only_talking_books_are_found_here(browser_page, shelves):
    page = open_talking_books(browser_page, "/library/talking-books?q=lindgren")

    expect(page.get_by_role("status")).to_have_text("2 träffar, visar 1–2.")
    expect(page.locator(".hit__title")).to_have_text(["Mio, min Mio", "Ronja rövardotter"])
    expect(page.get_by_role("region", name="Avgränsa").get_by_text("Medietyp")).to_have_count(0)


def test_larger_text_is_a_switch_that_is_remembered(browser_page, shelves):
    page = open_talking_books(browser_page)
    switch = page.get_by_role("button", name="Större text")
    expect(switch).to_have_attribute("aria-pressed", "false")
    before = page.evaluate("() => getComputedStyle(document.documentElement).fontSize")

    switch.focus()
    page.keyboard.press("Enter")

    expect(switch).to_have_attribute("aria-pressed", "true")
    after = page.evaluate("() => getComputedStyle(document.documentElement).fontSize")
    assert float(after.removesuffix("px")) > float(before.removesuffix("px"))
    open_talking_books(browser_page)
    expect(page.locator("html")).to_have_class(re.compile(r"\blarger-text\b"))


@pytest.mark.parametrize("path", ["/library/talking-books", "/library/talking-books?q=ronja",
                                  "/library/talking-books?q=zzzz"])
def test_the_talking_book_page_has_no_serious_accessibility_violations(
        browser_page, shelves, axe_source, path):
    open_talking_books(browser_page, path)

    blocking_violations(browser_page, axe_source)


def test_with_larger_text_the_page_still_reflows_at_320_css_pixels(browser_page, shelves):
    page = browser_page.page
    page.set_viewport_size({"width": 320, "height": 640})
    open_talking_books(browser_page, "/library/talking-books?q=lindgren")
    page.get_by_role("button", name="Större text").click()

    widths = page.evaluate("""() => ({page: document.documentElement.scrollWidth,
                                      viewport: document.documentElement.clientWidth})""")
    assert widths["page"] <= widths["viewport"], widths
