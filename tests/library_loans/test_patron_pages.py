"""A patron's pages without a browser: log in, my pages, reserve, and every form's answer."""

from __future__ import annotations

import html
import re
import uuid
from datetime import timedelta

import pytest
from flask import Flask
from werkzeug.test import Client

from library_loans.access import hold_queues
from library_loans.api.patrons import blueprint as api_blueprint
from library_loans.identity import PATRON_COOKIE
from library_loans.models import Hold
from library_loans.operations.administration import set_rule
from library_loans.operations.circulation import checkin, checkout, find_patron
from library_loans.operations.holds import place_hold
from library_loans.operations.rules import library_day
from library_loans.web.patron import blueprint as page_blueprint
from services import clock
from services.config import Settings
from services.factory import create_service_app
from services.tenancy import TenantScope, tenant_scope
from tests.library_loans.conftest import MONDAY
from tests.support.addresses import unseen_address

HTML = {"Accept": "text/html"}


@pytest.fixture(scope="module")
def app(migrated: Settings) -> Flask:
    """The library service with only the patron's pages and API."""
    return create_service_app("library_loans", "Biblioteken", api_blueprints=[api_blueprint],
                              web_blueprints=[page_blueprint], settings=migrated)


@pytest.fixture
def browser(app: Flask) -> Client:
    """A browser that has not logged in."""
    return Client(app)


def csrf_from(page: str) -> str:
    """The CSRF token of the page's first form."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def text_of(reply) -> str:  # type: ignore[no-untyped-def]
    """The page's text with tags dropped and spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", reply.get_data(as_text=True))).split())


def log_in(client: Client, card: str = "10000001", pin: str = "1234", next_url: str = ""):  # type: ignore[no-untyped-def]
    """Fill in and send the login form; the reply."""
    page = client.get("/login", headers=HTML).get_data(as_text=True)
    form = {"card_number": card, "pin": pin, "csrf_token": csrf_from(page)}
    if next_url:
        form["next"] = next_url
    return client.post("/login", data=form, headers=HTML)


def post_form(client: Client, page_url: str, action: str, **fields: str):  # type: ignore[no-untyped-def]
    """Send the form whose action is ``action`` on ``page_url``, as a browser would."""
    page = client.get(page_url, headers=HTML).get_data(as_text=True)
    assert f'action="{action}"' in page, f"no form posts to {action}"
    return client.post(action, data={"csrf_token": csrf_from(page), **fields}, headers=HTML)


@pytest.fixture
def lent(consortium):  # type: ignore[no-untyped-def]
    """Ulla has borrowed both copies of "Bröderna Lejonhjärta"."""
    with consortium.session() as session, hold_queues(session):
        ulla = find_patron(session, "10000001")
        ids = [checkout(session, barcode, ulla, consortium.branches["UMEA-STADS"], at=MONDAY).id
               for barcode in ("U0001", "V0001")]
        session.commit()
    return ids


def _hold(consortium, card: str, branch: str = "UMEA-STADS") -> uuid.UUID:  # type: ignore[no-untyped-def]
    with consortium.session() as session, hold_queues(session):
        hold = place_hold(session, find_patron(session, card), consortium.records["bröder"],
                          consortium.branches[branch])
        session.commit()
        return hold.id


def test_my_pages_ask_for_a_login_and_come_back_after_it(browser, consortium):
    away = browser.get("/my", headers=HTML)
    assert away.status_code == 303
    assert away.headers["Location"] == "/login?next=%2Fmy"

    login_page = browser.get(away.headers["Location"], headers=HTML)
    assert login_page.status_code == 200
    assert "Lånekortsnummer" in text_of(login_page) and "PIN-kod" in text_of(login_page)

    reply = log_in(browser, next_url="/my")
    assert reply.status_code == 303 and reply.headers["Location"] == "/my"
    assert "HttpOnly" in reply.headers["Set-Cookie"]
    mine = browser.get("/my", headers=HTML)
    assert mine.status_code == 200
    assert "Ulla Umeå" in text_of(mine) and "10000001" in text_of(mine)


def test_a_wrong_pin_is_told_in_swedish_without_saying_which_was_wrong(browser, consortium):
    wrong_pin = log_in(browser, pin="9999")
    unknown = log_in(browser, card="99999999")

    for reply in (wrong_pin, unknown):
        assert reply.status_code == 401
        page = reply.get_data(as_text=True)
        assert 'role="alert"' in page and "Fel kortnummer eller PIN-kod." in page
        assert 'aria-invalid="true"' in page
    assert 'value="10000001"' in wrong_pin.get_data(as_text=True)
    assert browser.get_cookie(PATRON_COOKIE) is None


def test_too_many_pin_attempts_are_told_on_the_form(migrated, consortium):
    strict = Client(create_service_app(
        "library_loans", "Biblioteken", web_blueprints=[page_blueprint],
        settings=migrated.with_overrides(login_rate_limit="2 per minute")))
    card = str(uuid.uuid4().int)[:12]
    address = {"X-Forwarded-For": unseen_address(), **HTML}
    page = strict.get("/login", headers=HTML).get_data(as_text=True)
    form = {"card_number": card, "pin": "0000", "csrf_token": csrf_from(page)}
    replies = [strict.post("/login", data=form, headers=address) for _ in range(3)]

    assert [r.status_code for r in replies] == [401, 401, 429]
    assert "För många inloggningsförsök" in text_of(replies[-1])
    assert "Retry-After" in replies[-1].headers


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x",
                                    "/\\evil.example", "javascript:alert(1)"])
def test_login_never_sends_the_patron_to_another_site(browser, consortium, target):
    reply = log_in(browser, next_url=target)
    assert reply.status_code == 303
    assert reply.headers["Location"] == "/my"


def test_a_form_without_the_csrf_token_is_refused(browser, consortium):
    log_in(browser)
    reply = browser.post("/logout", data={}, headers=HTML)
    assert reply.status_code == 400
    assert browser.get("/my", headers=HTML).status_code == 200


def test_my_pages_show_loans_holds_with_position_and_estimate_and_fines(
        browser, lent, consortium):
    _hold(consortium, "20000001", "VINDELN-HB")
    _hold(consortium, "10000002", "UMEA-HOLMSUND")
    log_in(browser, card="10000002")

    page = text_of(browser.get("/my", headers=HTML))

    assert "Reservationer (1)" in page
    assert "Bröderna Lejonhjärta" in page
    assert "Plats i kön 2 av 2" in page
    assert "Beräknad väntetid Cirka 28 dagar" in page
    assert "Hämtas på Holmsunds bibliotek, Umeå" in page
    assert "Du har inga lån just nu." in page
    assert "Du har inga avgifter." in page

    ulla = Client(browser.application)
    log_in(ulla, card="10000001")
    ullas = text_of(ulla.get("/my", headers=HTML))
    assert "Lån (2)" in ullas and "U0001" in ullas and "V0001" in ullas
    assert "Vindelns bibliotek, Vindeln" in ullas


def test_renewing_from_my_pages_says_the_new_date_or_why_not(browser, lent, consortium):
    log_in(browser)
    renewed = post_form(browser, "/my", f"/my/loans/{lent[0]}/renew")
    assert renewed.status_code == 303
    assert renewed.headers["Location"] == "/my#loans"
    after = browser.get("/my", headers=HTML).get_data(as_text=True)
    due = library_day(clock.now()) + timedelta(days=28)
    assert "Lånet är förnyat till" in after and str(due.year) in after

    _hold(consortium, "20000001", "VINDELN-HB")
    refused = post_form(browser, "/my", f"/my/loans/{lent[1]}/renew")
    assert refused.status_code == 303
    page = browser.get("/my", headers=HTML).get_data(as_text=True)
    assert 'role="alert"' in page
    assert "Någon har reserverat titeln, så lånet kan inte förnyas." in page


def test_reserving_preselects_the_home_branch_and_ends_on_my_pages_with_the_position(
        browser, lent, consortium):
    record = consortium.records["bröder"]
    away = browser.get(f"/records/{record.id}/reserve", headers=HTML)
    assert away.status_code == 303
    reply = log_in(browser, card="30000001", next_url=f"/records/{record.id}/reserve")
    assert reply.headers["Location"] == f"/records/{record.id}/reserve"

    form = browser.get(f"/records/{record.id}/reserve", headers=HTML).get_data(as_text=True)
    assert "Bröderna Lejonhjärta" in form
    home = consortium.branches["VANNAS-HB"].id
    assert re.search(rf'<option value="{home}" selected>\s*Vännäs bibliotek', form)
    assert form.index("Vännäs bibliotek") < form.index("Umeå stadsbibliotek")

    placed = post_form(browser, f"/records/{record.id}/reserve",
                       f"/records/{record.id}/reserve", pickup_branch_id=str(home))
    assert placed.status_code == 303
    with consortium.session() as session, hold_queues(session):
        hold = session.query(Hold).one()
    assert placed.headers["Location"] == f"/my#hold-{hold.id}"
    page = text_of(browser.get("/my", headers=HTML))
    assert "Reservationen är lagd. Du är nummer 1 av 1 i kön." in page
    assert "Plats i kön 1 av 1" in page

    again = post_form(browser, f"/records/{record.id}/reserve",
                      f"/records/{record.id}/reserve", pickup_branch_id=str(home))
    assert again.status_code == 409
    assert "Du har redan en reservation på den här titeln." in text_of(again)


def test_a_pickup_branch_that_is_no_branch_is_named_on_the_reserve_form(browser, consortium):
    record = consortium.records["bröder"]
    log_in(browser)
    reply = post_form(browser, f"/records/{record.id}/reserve", f"/records/{record.id}/reserve",
                      pickup_branch_id="nonsense")
    assert reply.status_code == 422
    assert "Välj ett bibliotek i listan." in text_of(reply)
    assert browser.get(f"/records/{uuid.uuid4()}/reserve", headers=HTML).status_code == 404


def test_pausing_resuming_moving_and_cancelling_a_hold_from_my_pages(browser, lent, consortium):
    hold_id = _hold(consortium, "20000001", "VINDELN-HB")
    log_in(browser, card="20000001")
    until = library_day(clock.now()) + timedelta(days=10)

    paused = post_form(browser, "/my", f"/my/holds/{hold_id}/pause",
                       suspended_until=until.isoformat())
    assert paused.headers["Location"] == f"/my#hold-{hold_id}"
    page = text_of(browser.get("/my", headers=HTML))
    assert "Reservationen är pausad till och med" in page and "Återuppta nu" in page

    resumed = post_form(browser, "/my", f"/my/holds/{hold_id}/pause", resume="1")
    assert resumed.status_code == 303
    assert "Reservationen är återupptagen." in text_of(browser.get("/my", headers=HTML))

    bad = post_form(browser, "/my", f"/my/holds/{hold_id}/pause", suspended_until="")
    assert bad.status_code == 303
    assert "Välj ett datum efter i dag." in text_of(browser.get("/my", headers=HTML))

    moved = post_form(browser, "/my", f"/my/holds/{hold_id}/pickup",
                      pickup_branch_id=str(consortium.branches["VANNAS-HB"].id))
    assert moved.status_code == 303
    assert "Hämtas på Vännäs bibliotek, Vännäs" in text_of(browser.get("/my", headers=HTML))

    confirm = browser.get(f"/my/holds/{hold_id}/cancel", headers=HTML)
    assert confirm.status_code == 200
    assert "Ta bort reservationen?" in text_of(confirm)
    cancelled = post_form(browser, f"/my/holds/{hold_id}/cancel", f"/my/holds/{hold_id}/cancel")
    assert cancelled.status_code == 303
    page = text_of(browser.get("/my", headers=HTML))
    assert "Reservationen är borttagen." in page and "Du har inga reservationer." in page


def test_another_patrons_hold_is_not_found_from_the_pages(browser, lent, consortium):
    ullas = _hold(consortium, "10000001", "UMEA-HOLMSUND")
    log_in(browser, card="20000001")
    page = browser.get("/my", headers=HTML).get_data(as_text=True)
    token = csrf_from(page)

    assert browser.get(f"/my/holds/{ullas}/cancel", headers=HTML).status_code == 404
    for action, fields in ((f"/my/holds/{ullas}/cancel", {}),
                           (f"/my/holds/{ullas}/pause", {"resume": "1"}),
                           (f"/my/loans/{lent[0]}/renew", {})):
        reply = browser.post(action, data={"csrf_token": token, **fields}, headers=HTML)
        assert reply.status_code == 404, action


def test_an_expired_card_logs_in_and_is_told(browser, consortium):
    expires = consortium.patrons["ulla"].card_expires_on
    with clock.frozen_at(MONDAY.replace(year=expires.year + 1)):
        log_in(browser)
        page = text_of(browser.get("/my", headers=HTML))
    assert "Ditt lånekort har gått ut." in page
    assert "Du kan inte låna eller förnya just nu" in page


def test_fines_are_shown_with_the_total(browser, lent, consortium):
    with consortium.session() as session, tenant_scope(
            TenantScope.of([consortium.municipalities["vindeln"].id])):
        set_rule(session, fine_per_day=2, fine_cap=50)
        session.commit()
    with consortium.session() as session, hold_queues(session):
        checkin(session, "V0001", consortium.branches["VINDELN-HB"],
                at=MONDAY + timedelta(days=31))
        session.commit()
    log_in(browser)
    page = text_of(browser.get("/my", headers=HTML))
    assert "Obetalt sammanlagt: 6.00 kr" in page
    assert "Vindeln" in page


def test_logging_out_ends_the_session(browser, consortium):
    log_in(browser)
    cookie = browser.get_cookie(PATRON_COOKIE)
    out = post_form(browser, "/my", "/logout")
    assert out.status_code == 303 and out.headers["Location"] == "/login"
    assert "Du är utloggad." in text_of(browser.get("/login", headers=HTML))
    assert browser.get("/my", headers=HTML).status_code == 303
    replay = Client(browser.application)
    replay.set_cookie(PATRON_COOKIE, cookie.value)
    assert replay.get("/my", headers=HTML).status_code == 303
