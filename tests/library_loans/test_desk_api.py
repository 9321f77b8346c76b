"""The desk's API: a librarian circulates any copy of the consortium at their own branch."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from library_loans.models import Item, Patron
from library_loans.operations.administration import set_rule
from library_loans.operations.holds import place_hold
from services import clock
from services.audit.models import AuditEntry
from services.tenancy import TenantScope, tenant_scope
from tests.library_loans.conftest import MONDAY

DESK = "/library/api/desk"


@pytest.fixture
def librarians(consortium, make_staff):
    """A librarian in Umeå, one in Vännäs, and an operator who is no librarian."""
    return {
        "umea": make_staff("bibl-umea", "umea", ("librarian", "umea")),
        "vannas": make_staff("bibl-vannas", "vannas", ("librarian", "vannas")),
        "operator": make_staff("telefonist", "bjurholm", ("operator", None)),
    }


def _rule(consortium, slug, **settings):
    with consortium.session() as session:
        with tenant_scope(TenantScope.of([consortium.municipalities[slug].id])):
            set_rule(session, **settings)
        session.commit()


def _post(client, staff, path, body, at=MONDAY):
    with clock.frozen_at(at):
        return client.post(DESK + path, json=body, headers=staff.headers)


def _get(client, staff, path, at=MONDAY):
    with clock.frozen_at(at):
        return client.get(DESK + path, headers=staff.headers)


def _branch(consortium, code):
    return str(consortium.branches[code].id)


def _error_field(response):
    return next(iter(response.json["error"]["fields"]["json"]))


def test_a_vannas_patron_borrows_an_umea_copy_in_umea_and_sees_title_and_due_date(
        client, consortium, librarians):
    response = _post(client, librarians["umea"], "/checkout",
                     {"barcode": "U0001", "card_number": "30000001"})
    assert response.status_code == 200, response.json
    loan = response.json
    assert loan["title"] == "Bröderna Lejonhjärta"
    assert loan["due_date"] == "2026-03-30"
    assert loan["municipality"] == "umea"
    assert loan["patron"]["name"] == "Valle Vännäs"
    assert loan["branch"]["code"] == "UMEA-STADS"  # the first branch is the default desk


def test_a_vindeln_copy_checked_in_at_vannas_goes_home_and_the_crossing_is_audited(
        client, consortium, librarians, db):
    lent = _post(client, librarians["umea"], "/checkout",
                 {"barcode": "V0001", "card_number": "10000001"})
    assert lent.status_code == 200, lent.json
    back = _post(client, librarians["vannas"], "/checkin", {"barcode": "V0001"},
                 at=MONDAY + timedelta(days=3))
    assert back.status_code == 200, back.json
    assert back.json["action"] == "transit"
    assert back.json["destination"]["code"] == "VINDELN-HB"
    assert back.json["destination"]["municipality"] == "vindeln"
    assert back.json["returned"] is True
    assert "Vindelns bibliotek" in back.json["instruction"]
    vindeln = consortium.municipalities["vindeln"].id
    with tenant_scope(TenantScope.of([vindeln])):
        actions = {(entry.action, entry.actor) for entry in db.scalars(select(AuditEntry))}
    assert ("crossing.entered", "bibl-vannas") in actions
    assert ("library.checkin", "bibl-vannas") in actions
    assert ("library.checkout", "bibl-umea") in actions


def test_a_floating_copy_stays_where_it_was_returned(client, consortium, librarians):
    _rule(consortium, "vindeln", floating=True)
    _post(client, librarians["umea"], "/checkout", {"barcode": "V0001", "card_number": "10000001"})
    back = _post(client, librarians["vannas"], "/checkin", {"barcode": "V0001"})
    assert back.json["action"] == "shelve" and back.json["destination"] is None


def test_a_returned_copy_caught_for_a_hold_goes_to_the_pickup_with_the_patron_veiled(
        client, consortium, librarians):
    _post(client, librarians["umea"], "/checkout", {"barcode": "U0001", "card_number": "10000001"})
    _post(client, librarians["umea"], "/checkout", {"barcode": "V0001", "card_number": "10000002"})
    with consortium.session() as session:
        from library_loans.access import hold_queues

        with hold_queues(session):
            vilma = session.get(type(consortium.patrons["vilma"]),
                                (consortium.patrons["vilma"].municipality_id,
                                 consortium.patrons["vilma"].id))
            record = session.get(type(consortium.records["bröder"]),
                                 consortium.records["bröder"].id)
            place_hold(session, vilma, record, session.get(
                type(consortium.branches["VINDELN-HB"]),
                (consortium.branches["VINDELN-HB"].municipality_id,
                 consortium.branches["VINDELN-HB"].id)), at=MONDAY)
            session.commit()
    back = _post(client, librarians["vannas"], "/checkin", {"barcode": "U0001"},
                 at=MONDAY + timedelta(days=1))
    assert back.status_code == 200, back.json
    assert back.json["action"] == "transit"
    assert back.json["destination"]["code"] == "VINDELN-HB"
    assert back.json["hold"]["pickup_branch"]["code"] == "VINDELN-HB"
    assert back.json["hold"]["patron"] == {"card": "…0001", "name": "V.", "full": False,
                                           "municipality": "vindeln"}

    arrived = _post(client, librarians["umea"], "/checkin",
                    {"barcode": "U0001", "branch_id": _branch(consortium, "UMEA-STADS")},
                    at=MONDAY + timedelta(days=2))
    assert arrived.json["action"] == "transit"  # still on its way to Vindeln


def test_a_librarian_cannot_choose_another_municipalitys_branch_as_desk(
        client, consortium, librarians):
    response = _post(client, librarians["umea"], "/checkin",
                     {"barcode": "U0001", "branch_id": _branch(consortium, "VANNAS-HB")})
    assert response.status_code == 422
    assert _error_field(response) == "branch_id"
    listing = _get(client, librarians["umea"],
                   f"/transit?branch_id={_branch(consortium, 'VANNAS-HB')}")
    assert listing.status_code == 422
    assert "branch_id" in listing.json["error"]["fields"]["query"]
    holmsund = _post(client, librarians["umea"], "/checkin",
                     {"barcode": "U0001", "branch_id": _branch(consortium, "UMEA-HOLMSUND")})
    assert holmsund.status_code == 200


def test_only_librarians_use_the_desk(client, consortium, librarians):
    assert client.post(DESK + "/checkin", json={"barcode": "U0001"}).status_code == 401
    response = _post(client, librarians["operator"], "/checkin", {"barcode": "U0001"})
    assert response.status_code == 403


@pytest.mark.parametrize(("body", "field"), [
    ({"card_number": "10000001"}, "barcode"),
    ({"barcode": "U0001"}, "card_number"),
    ({"barcode": "", "card_number": "10000001"}, "barcode"),
    ({"barcode": "U0001", "card_number": "10000001", "branch_id": "not-a-uuid"}, "branch_id"),
])
def test_bad_input_is_a_422_naming_the_field(client, consortium, librarians, body, field):
    response = _post(client, librarians["umea"], "/checkout", body)
    assert response.status_code == 422
    assert _error_field(response) == field


def test_an_unknown_barcode_or_card_is_a_404_naming_it(client, consortium, librarians):
    unknown_copy = _post(client, librarians["umea"], "/checkout",
                         {"barcode": "NOPE", "card_number": "10000001"})
    assert unknown_copy.status_code == 404 and _error_field(unknown_copy) == "barcode"
    unknown_card = _post(client, librarians["umea"], "/checkout",
                         {"barcode": "U0001", "card_number": "99999999"})
    assert unknown_card.status_code == 404 and _error_field(unknown_card) == "card_number"


def test_an_expired_card_is_refused_with_the_reason(client, consortium, librarians):
    with consortium.session() as session:
        ulla = consortium.patrons["ulla"]
        with tenant_scope(TenantScope.of([ulla.municipality_id])):
            session.get(Patron, (ulla.municipality_id, ulla.id)).card_expires_on = date(
                2026, 3, 1)
            session.commit()
    response = _post(client, librarians["umea"], "/checkout",
                     {"barcode": "U0001", "card_number": "10000001"})
    assert response.status_code == 409
    assert _error_field(response) == "card_number"
    assert "expired" in response.json["error"]["message"]


def test_fines_over_the_threshold_block_borrowing(client, consortium, librarians):
    _rule(consortium, "umea", fine_per_day=Decimal("5"), fine_cap=Decimal("100"),
          block_threshold=Decimal("50"))
    _post(client, librarians["umea"], "/checkout", {"barcode": "U0001", "card_number": "10000001"})
    back = _post(client, librarians["umea"], "/checkin", {"barcode": "U0001"},
                 at=MONDAY + timedelta(days=28 + 12))
    assert back.json["fine"] == {"amount": "60.00", "reason": "12 days late",
                                 "municipality": "umea"}
    refused = _post(client, librarians["umea"], "/checkout",
                    {"barcode": "U0001", "card_number": "10000001"},
                    at=MONDAY + timedelta(days=41))
    assert refused.status_code == 409 and _error_field(refused) == "card_number"
    assert "Unpaid fines of 60.00 kr" in refused.json["error"]["message"]
    patron = _get(client, librarians["umea"], "/patrons/10000001",
                  at=MONDAY + timedelta(days=41))
    assert patron.status_code == 200
    assert patron.json["fines"] == "60.00" and patron.json["blocked"] is True
    assert "Unpaid fines" in patron.json["blocks"][0]["reason"]


def test_the_most_loans_allowed_blocks_one_more(client, consortium, librarians):
    _rule(consortium, "umea", max_loans=1)
    assert _post(client, librarians["umea"], "/checkout",
                 {"barcode": "V0001", "card_number": "10000001"}).status_code == 200
    refused = _post(client, librarians["umea"], "/checkout",
                    {"barcode": "U0001", "card_number": "10000001"})
    assert refused.status_code == 409 and "1 loans" in refused.json["error"]["message"]


def test_a_copy_that_cannot_be_lent_is_refused_naming_the_barcode(
        client, consortium, librarians):
    with consortium.session() as session:
        item = consortium.items["umea-1"]
        with tenant_scope(TenantScope.of([item.municipality_id])):
            session.get(Item, (item.municipality_id, item.id)).status = "damaged"
            session.commit()
    refused = _post(client, librarians["umea"], "/checkout",
                    {"barcode": "U0001", "card_number": "10000001"})
    assert refused.status_code == 409 and _error_field(refused) == "barcode"
    assert "damaged" in refused.json["error"]["message"]
    lent = _post(client, librarians["umea"], "/checkout",
                 {"barcode": "V0001", "card_number": "10000001"})
    assert lent.status_code == 200
    again = _post(client, librarians["umea"], "/checkout",
                  {"barcode": "V0001", "card_number": "30000001"})
    assert again.status_code == 409 and "on loan" in again.json["error"]["message"]


def test_a_copy_on_the_hold_shelf_is_lent_only_to_whom_it_waits_for(
        client, consortium, librarians):
    with consortium.session() as session:
        from library_loans.access import hold_queues
        from library_loans.models import BibRecord, Branch, Patron

        with hold_queues(session):
            valle = consortium.patrons["valle"]
            pickup = consortium.branches["UMEA-STADS"]
            place_hold(session, session.get(Patron, (valle.municipality_id, valle.id)),
                       session.get(BibRecord, consortium.records["bröder"].id),
                       session.get(Branch, (pickup.municipality_id, pickup.id)), at=MONDAY)
            session.commit()
    shelf = _get(client, librarians["umea"], "/hold-shelf")
    assert [entry["barcode"] for entry in shelf.json["holds"]] == ["U0001"]
    assert shelf.json["holds"][0]["patron"]["name"] == "V."
    assert shelf.json["holds"][0]["expires_on"] == "2026-03-09"
    refused = _post(client, librarians["umea"], "/checkout",
                    {"barcode": "U0001", "card_number": "10000001"})
    assert refused.status_code == 409
    assert "hold shelf for another patron" in refused.json["error"]["message"]
    lent = _post(client, librarians["umea"], "/checkout",
                 {"barcode": "U0001", "card_number": "30000001"})
    assert lent.status_code == 200
    assert _get(client, librarians["umea"], "/hold-shelf").json["holds"] == []


def test_renewing_by_barcode_or_loan_id_until_the_limit(client, consortium, librarians):
    _rule(consortium, "umea", renewals=1)
    lent = _post(client, librarians["umea"], "/checkout",
                 {"barcode": "U0001", "card_number": "30000001"})
    assert lent.json["loan_id"]  # Umeå's loan: Vännäs's desk sees no id of it
    renewed = _post(client, librarians["vannas"], "/renew", {"barcode": "U0001"},
                    at=MONDAY + timedelta(days=20))
    assert renewed.status_code == 200, renewed.json
    assert renewed.json["renewals"] == 1 and renewed.json["due_date"] == "2026-04-19"
    refused = _post(client, librarians["umea"], "/renew",
                    {"loan_id": lent.json["loan_id"]}, at=MONDAY + timedelta(days=21))
    assert refused.status_code == 409 and _error_field(refused) == "loan_id"
    assert renewed.json["loan_id"] is None
    not_lent = _post(client, librarians["umea"], "/renew", {"barcode": "V0001"})
    assert not_lent.status_code == 409 and _error_field(not_lent) == "barcode"
    neither = _post(client, librarians["umea"], "/renew", {})
    assert neither.status_code == 422 and _error_field(neither) == "barcode"


def test_the_transit_list_shows_age_and_flags_copies_stuck_past_the_alert(
        client, consortium, librarians):
    _post(client, librarians["umea"], "/checkout", {"barcode": "U0001", "card_number": "30000001"})
    _post(client, librarians["vannas"], "/checkin", {"barcode": "U0001"})
    fresh = _get(client, librarians["umea"], "/transit", at=MONDAY + timedelta(days=2))
    assert fresh.status_code == 200
    [entry] = fresh.json["incoming"]
    assert entry["barcode"] == "U0001" and entry["from"]["code"] == "VANNAS-HB"
    assert entry["age_days"] == 2 and entry["stuck"] is False and entry["alert_days"] == 5
    stuck = _get(client, librarians["umea"], "/transit", at=MONDAY + timedelta(days=6))
    assert stuck.json["incoming"][0]["stuck"] is True
    outgoing = _get(client, librarians["vannas"], "/transit", at=MONDAY + timedelta(days=6))
    assert [e["barcode"] for e in outgoing.json["outgoing"]] == ["U0001"]
    assert outgoing.json["incoming"] == []


def test_the_desk_reads_another_municipalitys_card(client, consortium, librarians):
    response = _get(client, librarians["umea"], "/patrons/20000001")
    assert response.status_code == 200
    assert response.json["name"] == "Vilma Vindeln"
    assert response.json["municipality"] == "vindeln"
    assert response.json["loans"] == 0 and response.json["blocked"] is False
    missing = _get(client, librarians["umea"], "/patrons/99999999")
    assert missing.status_code == 404
    assert "card_number" in missing.json["error"]["fields"]["path"]


# --- the desk's page, without script ---------------------------------------------------


def test_the_desk_page_lends_by_card_then_barcode_and_says_where_a_copy_goes(
        client, consortium, librarians):
    import html

    umea = librarians["umea"].headers
    page = client.get("/library/desk/", headers=umea)
    assert page.status_code == 200, page.get_data(as_text=True)[:2000]
    assert "Umeå stadsbibliotek" in html.unescape(page.get_data(as_text=True))
    card = client.post("/library/desk/scan", headers=umea,
                       data={"mode": "checkout", "code": "30000001"})
    text = html.unescape(card.get_data(as_text=True))
    assert card.status_code == 200, text[:3000]
    assert "Valle Vännäs" in text and 'name="card_number" value="30000001"' in text
    lent = client.post("/library/desk/scan", headers=umea,
                       data={"mode": "checkout", "code": "V0001", "card_number": "30000001"})
    text = html.unescape(lent.get_data(as_text=True))
    assert lent.status_code == 200, text[:3000]
    assert "Utlånad: Bröderna Lejonhjärta" in text
    back = client.post("/library/desk/scan", headers=umea,
                       data={"mode": "checkin", "code": "V0001"})
    text = html.unescape(back.get_data(as_text=True))
    assert "Skicka till Vindelns bibliotek (Vindeln)" in text
    refused = client.post("/library/desk/scan", headers=umea,
                          data={"mode": "checkin", "code": "NOPE"})
    assert refused.status_code == 422
    assert "Inget exemplar har streckkoden NOPE." in html.unescape(
        refused.get_data(as_text=True))
    transit = client.get("/library/desk/?tab=transit", headers=umea)
    assert transit.status_code == 200
    text = html.unescape(transit.get_data(as_text=True))
    assert "Skickat härifrån (1)" in text and "V0001" in text


def test_the_desk_page_asks_for_a_login_and_a_librarian(client, consortium, librarians):
    reply = client.get("/library/desk/")
    assert reply.status_code == 302 and "/login?next=%2Flibrary%2Fdesk%2F" in reply.headers[
        "Location"]
    assert client.get("/library/desk/", headers=librarians["operator"].headers
                      ).status_code == 403


def test_the_desk_page_remembers_the_branch_chosen(client, consortium, librarians):
    import html

    umea = librarians["umea"].headers
    holmsund = _branch(consortium, "UMEA-HOLMSUND")
    chosen = client.get(f"/library/desk/?branch={holmsund}", headers=umea)
    assert chosen.status_code == 200
    later = html.unescape(client.get("/library/desk/", headers=umea).get_data(as_text=True))
    assert f'<option value="{holmsund}" selected>' in later
    elsewhere = client.get(f"/library/desk/?branch={_branch(consortium, 'VANNAS-HB')}",
                           headers=umea)
    assert f'<option value="{holmsund}" selected>' in elsewhere.get_data(as_text=True)


def test_the_desk_page_renews_and_says_why_not(client, consortium, librarians):
    import html

    umea = librarians["umea"].headers
    _rule(consortium, "umea", renewals=1)
    _post(client, librarians["umea"], "/checkout", {"barcode": "U0001", "card_number": "30000001"})
    renewed = client.post("/library/desk/scan", headers=umea,
                          data={"mode": "renew", "code": "U0001"})
    assert renewed.status_code == 200
    assert "Förnyad: Bröderna Lejonhjärta" in html.unescape(renewed.get_data(as_text=True))
    again = client.post("/library/desk/scan", headers=umea,
                        data={"mode": "renew", "code": "U0001"})
    assert again.status_code == 422
    assert "Lånet har förnyats 1 gånger" in html.unescape(again.get_data(as_text=True))
