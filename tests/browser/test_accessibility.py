"""Every page passes axe-core, obeys its Content Security Policy and reflows at 320 px."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.axecore import describe_violations, run_axe
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

PAGES = {
    "start": "/",
    "login": "/login?next=/library/",
    "login-with-error": "/login?next=/library/",
    "start-logged-in": "/",
    "switchboard": "/switchboard/",
    "library": "/library/",
    "refugee-reception": "/refugee-reception/",
    "procurement": "/procurement/",
    "platform-api-docs": "/api/docs",
    "service-api-docs": "/library/api/docs",
    "not-found": "/no-such-page",
    "start-in-english": "/?lang=en",
}
BLOCKING_IMPACTS = {"serious", "critical"}


def arrive(browser_page, request: pytest.FixtureRequest, name: str) -> None:
    """Open page ``name`` of :data:`PAGES` in the state it is named after."""
    page = browser_page.page
    if name == "start-logged-in":
        # Asked for only here: until it commits a user, make_staff's session holds SQLite's
        # write lock, and the server's own writes (a login) would wait for it.
        request.getfixturevalue("make_staff")("anna", "umea", ("librarian", "umea"))
        browser_page.open("/login")
        page.get_by_label("Användarnamn").fill("anna")
        page.get_by_label("Lösenord").fill(PASSWORD)
        page.get_by_role("button", name="Logga in").click()
        expect(page.get_by_role("banner")).to_contain_text("Inloggad som anna")
        return
    response = browser_page.open(PAGES[name])
    if name == "not-found":
        assert response.status == 404
        assert response.headers["content-type"].startswith("text/html")
    if name == "login-with-error":
        page.get_by_label("Användarnamn").fill("anna")
        page.get_by_label("Lösenord").fill("not the password")
        page.get_by_role("button", name="Logga in").click()
        expect(page.get_by_role("alert")).to_be_visible()


@pytest.mark.parametrize("name", list(PAGES))
def test_the_page_has_no_serious_accessibility_violations(browser_page, request, axe_source, name):
    arrive(browser_page, request, name)
    page = browser_page.page
    expect(page.get_by_role("heading", level=1)).to_have_count(1)

    violations = run_axe(page, axe_source)

    blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, f"axe-core on {name}:\n{describe_violations(violations)}"
    assert not browser_page.csp_violations(), browser_page.csp_violations()


@pytest.mark.parametrize("name", list(PAGES))
def test_the_page_reflows_at_320_css_pixels_without_sideways_scrolling(browser_page, request,
                                                                        name):
    # 320 CSS px wide is a 1280 px window at 400 % zoom (WCAG 1.4.10).
    browser_page.page.set_viewport_size({"width": 320, "height": 640})
    arrive(browser_page, request, name)

    widths = browser_page.page.evaluate(
        """() => {
            const viewport = document.documentElement.clientWidth;
            const overflowing = [...document.querySelectorAll('body *')]
                .filter(element => element.getBoundingClientRect().right > viewport + 1)
                .map(element => element.tagName + '.' + element.className);
            return {page: document.documentElement.scrollWidth, viewport,
                    overflowing: overflowing.slice(0, 5)};
        }"""
    )
    assert widths["page"] <= widths["viewport"], widths


def test_screenshots_of_the_main_pages(browser_page, request, screenshot_dir):
    shots = {}
    for width, suffix in ((1280, ""), (320, "-320px")):
        browser_page.page.set_viewport_size({"width": width, "height": 900})
        for name in ("start", "login-with-error", "library"):
            arrive(browser_page, request, name)
            path = screenshot_dir / f"{name}{suffix}.png"
            browser_page.page.screenshot(path=str(path), full_page=True)
            shots[path.name] = path
    assert all(path.stat().st_size > 0 for path in shots.values())
    print(f"screenshots in {screenshot_dir}: {', '.join(sorted(shots))}")
