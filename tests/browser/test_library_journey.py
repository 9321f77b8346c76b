"""A patron's whole reservation across a municipal border, in the browser.

Ulla lives in Umeå. The only copy of "Marsvinens hemlighet" is on Vindeln's shelf. She
finds it in the public catalogue, reserves it to her own branch, watches it go in transit,
and sees it ready for pickup once the Umeå desk has checked it in — with the desk's own
API, as the librarian's scanner would.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from library_loans.search.index import reindex
from tests.library_loans import conftest as library_fixtures
from tests.library_loans.conftest import add_item, add_record

pytestmark = pytest.mark.browser

library_consortium = library_fixtures.consortium
"""The library tests' small consortium, under a name of its own here."""

TITLE = "Marsvinens hemlighet"


@pytest.fixture
def vindelns_only_copy(request):  # type: ignore[no-untyped-def]
    """A title whose one copy is Vindeln's, in the catalogue's index."""
    consortium = request.getfixturevalue("library_consortium")
    with consortium.session() as session:
        record = add_record(session, TITLE, "Lind, Anna")
        add_item(session, record, consortium.branches["VINDELN-HB"], "V0100")
        reindex(session, [record.id])
        session.commit()
    return consortium


def desk(browser_page, token: str, action: str, body: dict[str, str]) -> dict:
    """A librarian's scan at the desk, through the desk API (a request of its own, with the
    librarian's token: not the patron's browser session)."""
    response = browser_page.page.request.post(
        f"{browser_page.base_url}/library/api/desk/{action}", data=json.dumps(body),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert response.ok, response.text()
    return response.json()


def test_a_patron_reserves_another_municipalitys_copy_and_follows_it_to_her_branch(
        browser_page, vindelns_only_copy, make_staff):
    consortium = vindelns_only_copy
    page = browser_page.page

    # The catalogue: found, and shown to be on Vindeln's shelf.
    browser_page.open("/library/")
    page.get_by_label("Sök titel, författare, ämne eller ISBN").fill("marsvinens")
    page.keyboard.press("Enter")
    result = page.get_by_role("link", name=TITLE)
    expect(result).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("Vindeln")
    result.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.get_by_role("main")).to_contain_text("Vindelns bibliotek")

    # Reserve: through the card-and-PIN login and back, her own branch already chosen.
    page.get_by_role("link", name="Reservera").first.click()
    page.get_by_label("Lånekortsnummer").fill("10000001")
    page.get_by_label("PIN-kod").fill("1234")
    page.get_by_role("button", name="Logga in").click()
    pickup = page.get_by_label("Hämta på")
    expect(pickup.locator("option:checked")).to_have_text(re.compile("Umeå stadsbibliotek"))
    page.get_by_role("button", name="Reservera").click()

    # The copy was free, so it is caught at once and sent from Vindeln to Umeå.
    hold = page.locator(".patron-hold", has_text=TITLE)
    expect(hold).to_contain_text("På väg till dig")
    expect(hold).to_contain_text("Umeå stadsbibliotek")

    # It arrives: the Umeå librarian scans it in at the desk, and it is on the hold shelf.
    librarian = make_staff("bibliotekarie.umea", "umea", ("librarian", "umea"))
    outcome = desk(browser_page, librarian.token, "checkin",
                   {"barcode": "V0100", "branch_id": str(consortium.branches["UMEA-STADS"].id)})
    assert (outcome["action"], outcome["hold"]["status"]) == ("hold_shelf", "ready"), outcome
    assert outcome["municipality"] == "vindeln", "Vindeln's copy, checked in at an Umeå desk"

    page.reload()
    hold = page.locator(".patron-hold", has_text=TITLE)
    expect(hold).to_contain_text("Klar att hämta")
    expect(hold).to_contain_text("Hämta senast")
