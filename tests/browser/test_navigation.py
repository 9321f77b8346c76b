"""A person with a mouse or only a keyboard finds the services and reads them in either language."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SERVICES = {
    "Växeln": "/switchboard/",
    "Biblioteken": "/library/",
    "Flyktingmottagande": "/refugee-reception/",
    "Upphandling": "/procurement/",
}


def test_the_start_page_lists_the_four_services_and_each_link_opens_that_service(browser_page):
    page = browser_page.page
    browser_page.open("/")
    expect(page.locator("main .card")).to_have_count(len(SERVICES))
    for name, path in SERVICES.items():
        browser_page.open("/")
        page.get_by_role("main").get_by_role("link", name=name, exact=True).click()

        expect(page).to_have_url(browser_page.base_url + path)
        expect(page.get_by_role("heading", level=1)).to_have_text(name)
        services_nav = page.get_by_role("navigation", name="Tjänster")
        expect(services_nav.get_by_role("link", name=name, exact=True)).to_have_attribute(
            "aria-current", "page"
        )


@pytest.mark.parametrize("path", ["/", "/login", "/library/", "/procurement/api/docs"])
def test_the_first_tab_reaches_the_skip_link_and_enter_moves_focus_to_main(browser_page, path):
    page = browser_page.page
    browser_page.open(path)

    page.keyboard.press("Tab")
    skip_link = page.get_by_role("link", name="Hoppa till innehållet")
    expect(skip_link).to_be_focused()
    expect(skip_link).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()

    page.keyboard.press("Tab")
    in_main = page.evaluate("() => document.querySelector('main').contains(document.activeElement)")
    assert in_main, "the Tab after the skip link should stay inside the main content"


def test_every_control_on_the_start_page_shows_where_the_keyboard_focus_is(browser_page):
    page = browser_page.page
    browser_page.open("/")
    seen = []
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => {
                const element = document.activeElement;
                const style = getComputedStyle(element);
                return {name: element.textContent.trim(), tag: element.tagName,
                        outline: style.outlineStyle, width: parseFloat(style.outlineWidth)};
            }"""
        )
        if focused["tag"] == "BODY" or focused["name"] in {item["name"] for item in seen}:
            break
        seen.append(focused)
    names = [item["name"] for item in seen]
    assert names[:2] == ["Hoppa till innehållet", "Samverkan"], names
    assert {"Logga in", "English", *SERVICES} <= set(names), names
    hidden = [item for item in seen if item["outline"] == "none" or item["width"] < 2]
    assert not hidden, f"focus is not visible on {hidden}"


def test_switching_to_english_holds_across_services_and_switching_back_restores_swedish(
    browser_page,
):
    page = browser_page.page
    html = page.locator("html")
    browser_page.open("/")
    expect(html).to_have_attribute("lang", "sv")

    page.get_by_role("link", name="English").click()
    expect(html).to_have_attribute("lang", "en")
    expect(page.get_by_role("link", name="Skip to content")).to_be_attached()
    expect(page.locator(".lead")).to_have_text(
        "What a small municipality cannot run on its own, we run together."
    )

    page.get_by_role("navigation", name="Services").get_by_role("link", name="Libraries").click()
    expect(html).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Libraries")

    page.get_by_role("link", name="Svenska").click()
    expect(html).to_have_attribute("lang", "sv")
    expect(page.get_by_role("heading", level=1)).to_have_text("Biblioteken")
    browser_page.open("/")
    expect(html).to_have_attribute("lang", "sv")
    expect(page.get_by_role("link", name="English")).to_have_attribute("lang", "en")
