"""A municipality's library administration: its own branches, copies, rules and patrons only."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from library_loans.models import Loan
from services.tenancy import TenantScope, tenant_scope

API = "/library/api"


@pytest.fixture
def staff(consortium, make_staff):
    """A librarian of Umeå, one of Vännäs, and a caseworker of Umeå (no librarian)."""
    return {
        "umea": make_staff("bibl-umea", "umea", ("librarian", "umea")),
        "vannas": make_staff("bibl-vannas", "vannas", ("librarian", "vannas")),
        "caseworker": make_staff("handlaggare", "umea", ("caseworker", "umea")),
    }


def _error_field(response, location="json"):
    return next(iter(response.json["error"]["fields"][location]))


def test_a_librarian_lists_opens_and_changes_only_their_own_branches(client, consortium, staff):
    umea = staff["umea"].headers
    listed = client.get(f"{API}/branches", headers=umea)
    assert listed.status_code == 200
    assert [b["code"] for b in listed.json] == ["UMEA-HOLMSUND", "UMEA-STADS"]
    assert {b["municipality"] for b in listed.json} == {"umea"}
    created = client.post(f"{API}/branches", headers=umea,
                          json={"code": "umea-bokbuss", "name": "Bokbussen", "kind": "bookmobile"})
    assert created.status_code == 201
    assert created.json["code"] == "UMEA-BOKBUSS" and created.json["pickup"] is True
    changed = client.patch(f"{API}/branches/{created.json['id']}", headers=umea,
                           json={"pickup": False, "address": "Rådhustorget"})
    assert changed.status_code == 200 and changed.json["pickup"] is False

    vannas_branch = consortium.branches["VANNAS-HB"].id
    assert client.get(f"{API}/branches/{vannas_branch}", headers=umea).status_code == 404
    renamed = client.patch(f"{API}/branches/{vannas_branch}", headers=umea,
                           json={"name": "Umeås nu"})
    assert renamed.status_code == 404
    vannas = client.get(f"{API}/branches/{vannas_branch}", headers=staff["vannas"].headers)
    assert vannas.json["name"] == "Vännäs bibliotek"


def test_bad_branch_input_names_the_field(client, consortium, staff):
    umea = staff["umea"].headers
    missing = client.post(f"{API}/branches", headers=umea, json={"code": "X"})
    assert missing.status_code == 422 and _error_field(missing) == "name"
    wrong_kind = client.post(f"{API}/branches", headers=umea,
                             json={"code": "X", "name": "X", "kind": "boat"})
    assert wrong_kind.status_code == 422 and _error_field(wrong_kind) == "kind"
    taken = client.post(f"{API}/branches", headers=umea,
                        json={"code": "umea-stads", "name": "Again"})
    assert taken.status_code == 409 and _error_field(taken) == "code"


def test_copies_are_added_listed_marked_and_kept_to_their_municipality(
        client, consortium, staff):
    umea = staff["umea"].headers
    record = str(consortium.records["bröder"].id)
    added = client.post(f"{API}/items", headers=umea,
                        json={"record_id": record, "barcode": "U0002", "shelf": "Hc"})
    assert added.status_code == 201, added.json
    assert added.json["title"] == "Bröderna Lejonhjärta"
    assert added.json["home_branch_id"] == str(consortium.branches["UMEA-STADS"].id)
    duplicate = client.post(f"{API}/items", headers=umea,
                            json={"record_id": record, "barcode": "U0002"})
    assert duplicate.status_code == 409 and _error_field(duplicate) == "barcode"
    unknown = client.post(f"{API}/items", headers=umea,
                          json={"record_id": "00000000-0000-7000-8000-000000000000",
                                "barcode": "U0003"})
    assert unknown.status_code == 422 and _error_field(unknown) == "record_id"
    elsewhere = client.post(f"{API}/items", headers=umea, json={
        "record_id": record, "barcode": "U0004",
        "home_branch_id": str(consortium.branches["VANNAS-HB"].id)})
    assert elsewhere.status_code == 422 and _error_field(elsewhere) == "home_branch_id"

    page = client.get(f"{API}/items?limit=1", headers=umea)
    assert page.json["total"] == 2 and [i["barcode"] for i in page.json["results"]] == ["U0001"]
    assert client.get(f"{API}/items?offset=1", headers=umea).json["results"][0][
        "barcode"] == "U0002"
    missing = client.patch(f"{API}/items/{added.json['id']}", headers=umea,
                           json={"status": "missing"})
    assert missing.status_code == 200 and missing.json["status"] == "missing"
    only_missing = client.get(f"{API}/items?status=missing", headers=umea).json
    assert [i["barcode"] for i in only_missing["results"]] == ["U0002"]
    assert client.get(f"{API}/items?barcode=U000", headers=umea).json["total"] == 2
    bad_status = client.patch(f"{API}/items/{added.json['id']}", headers=umea,
                              json={"status": "on_loan"})
    assert bad_status.status_code == 422 and _error_field(bad_status) == "status"
    bad_query = client.get(f"{API}/items?status=lost", headers=umea)
    assert bad_query.status_code == 422 and _error_field(bad_query, "query") == "status"

    vindeln_copy = consortium.items["vindeln-1"].id
    assert client.get(f"{API}/items/{vindeln_copy}", headers=umea).status_code == 404
    withdrawn = client.patch(f"{API}/items/{vindeln_copy}", headers=umea,
                             json={"status": "withdrawn"})
    assert withdrawn.status_code == 404
    assert all(i["municipality"] == "umea" for i in
               client.get(f"{API}/items", headers=umea).json["results"])


def test_a_copy_on_loan_is_not_marked_by_hand(client, consortium, staff, make_staff):
    desk = make_staff("desk-umea", "umea", ("librarian", "umea"))
    lent = client.post(f"{API}/desk/checkout", headers=desk.headers,
                       json={"barcode": "U0001", "card_number": "10000001"})
    assert lent.status_code == 200
    refused = client.patch(f"{API}/items/{consortium.items['umea-1'].id}",
                           headers=staff["umea"].headers, json={"status": "withdrawn"})
    assert refused.status_code == 409 and _error_field(refused) == "status"


def test_rules_are_set_replaced_and_removed_for_the_own_municipality(client, consortium, staff):
    umea = staff["umea"].headers
    put = client.put(f"{API}/rules", headers=umea,
                     json={"media_type": "film", "loan_days": 7, "fine_per_day": "5.00"})
    assert put.status_code == 200, put.json
    assert put.json["loan_days"] == 7 and put.json["fine_per_day"] == "5.00"
    assert put.json["patron_category"] == "*" and put.json["municipality"] == "umea"
    again = client.put(f"{API}/rules", headers=umea, json={"media_type": "film", "loan_days": 14})
    assert again.json["id"] == put.json["id"] and again.json["fine_per_day"] == "0.00"
    assert [r["loan_days"] for r in client.get(f"{API}/rules", headers=umea).json] == [14]
    assert client.get(f"{API}/rules", headers=staff["vannas"].headers).json == []
    bad = client.put(f"{API}/rules", headers=umea, json={"media_type": "film", "loan_days": 0})
    assert bad.status_code == 422 and _error_field(bad) == "loan_days"
    unknown = client.put(f"{API}/rules", headers=umea, json={"media_type": "scroll"})
    assert unknown.status_code == 422 and _error_field(unknown) == "media_type"

    assert client.delete(f"{API}/rules/{put.json['id']}",
                         headers=staff["vannas"].headers).status_code == 404
    assert client.delete(f"{API}/rules/{put.json['id']}", headers=umea).status_code == 204
    assert client.get(f"{API}/rules", headers=umea).json == []


def test_patrons_are_registered_found_and_changed_in_the_own_municipality(
        client, consortium, staff):
    umea = staff["umea"].headers
    registered = client.post(f"{API}/patrons", headers=umea, json={
        "card_number": "10000099", "pin": "4321", "name": "Åsa Öberg",
        "email": "asa@example.org", "category": "senior"})
    assert registered.status_code == 201, registered.json
    assert "pin" not in registered.json and "pin_hash" not in registered.json
    assert registered.json["municipality"] == "umea"
    found = client.get(f"{API}/patrons?name=asa oberg", headers=umea).json
    assert [p["card_number"] for p in found["results"]] == ["10000099"]
    by_card = client.get(f"{API}/patrons?card_number=10000001", headers=umea).json
    assert [p["name"] for p in by_card["results"]] == ["Ulla Umeå"]
    assert client.get(f"{API}/patrons?card_number=30000001", headers=umea).json["total"] == 0

    taken = client.post(f"{API}/patrons", headers=umea, json={
        "card_number": "30000001", "pin": "4321", "name": "Someone"})
    assert taken.status_code == 409 and _error_field(taken) == "card_number"
    short_pin = client.post(f"{API}/patrons", headers=umea, json={
        "card_number": "10000098", "pin": "12", "name": "Someone"})
    assert short_pin.status_code == 422 and _error_field(short_pin) == "pin"
    bad_email = client.post(f"{API}/patrons", headers=umea, json={
        "card_number": "10000098", "pin": "1234", "name": "Someone", "email": "nope"})
    assert bad_email.status_code == 422 and _error_field(bad_email) == "email"

    patron_id = registered.json["id"]
    changed = client.patch(f"{API}/patrons/{patron_id}", headers=umea,
                           json={"card_number": "10000097", "phone": "+46701234567"})
    assert changed.status_code == 200, changed.json
    assert changed.json["card_number"] == "10000097"
    desk = client.get(f"{API}/desk/patrons/10000099", headers=umea)
    assert desk.status_code == 404  # the old card stopped working
    assert client.get(f"{API}/desk/patrons/10000097", headers=umea).status_code == 200

    valle = consortium.patrons["valle"].id
    assert client.get(f"{API}/patrons/{valle}", headers=umea).status_code == 404
    assert client.patch(f"{API}/patrons/{valle}", headers=umea,
                        json={"name": "Stolen"}).status_code == 404


def test_travel_costs_are_set_from_the_own_municipality_only(client, consortium, staff):
    umea = staff["umea"].headers
    before = client.get(f"{API}/travel-costs", headers=umea).json["costs"]
    assert {c["municipality"]: c["cost"] for c in before} == {"vannas": 1, "vindeln": 3}
    put = client.put(f"{API}/travel-costs", headers=umea,
                     json={"costs": [{"municipality": "vindeln", "cost": 4},
                                     {"municipality": "bjurholm", "cost": 2}]})
    assert put.status_code == 200, put.json
    assert {c["municipality"]: c["cost"] for c in put.json["costs"]} == {
        "vannas": 1, "vindeln": 4, "bjurholm": 2}
    theirs = client.get(f"{API}/travel-costs", headers=staff["vannas"].headers).json["costs"]
    assert {c["municipality"]: c["cost"] for c in theirs} == {"umea": 1, "vindeln": 2}
    outsider = client.put(f"{API}/travel-costs", headers=umea,
                          json={"costs": [{"municipality": "ornskoldsvik", "cost": 1}]})
    assert outsider.status_code == 422
    assert _error_field(outsider) == "costs.0.municipality"


def test_only_librarians_administer(client, consortium, staff):
    assert client.get(f"{API}/branches").status_code == 401
    assert client.get(f"{API}/branches", headers=staff["caseworker"].headers).status_code == 403
    assert client.post(f"{API}/patrons", headers=staff["caseworker"].headers, json={
        "card_number": "10000098", "pin": "1234", "name": "X"}).status_code == 403


def test_nothing_is_half_written_when_a_change_is_refused(client, consortium, staff, db):
    umea = staff["umea"].headers
    refused = client.patch(f"{API}/patrons/{consortium.patrons['ulla'].id}", headers=umea,
                           json={"name": "Ulla Ny", "card_number": "30000001"})
    assert refused.status_code == 409
    ulla = client.get(f"{API}/patrons/{consortium.patrons['ulla'].id}", headers=umea).json
    assert ulla["name"] == "Ulla Umeå" and ulla["card_number"] == "10000001"
    with tenant_scope(TenantScope.of([consortium.municipalities["umea"].id])):
        assert db.query(Loan).count() == 0


# --- the isolation harness over the library's routes -----------------------------------

_MINE = ("/library/api/desk", "/library/api/branches", "/library/api/items",
         "/library/api/rules", "/library/api/patrons", "/library/api/travel-costs",
         "/library/desk/")


def test_no_desk_or_administration_route_lets_one_municipality_reach_anothers(
        embedded, db, owner_engine, municipalities):
    from tests.core.test_isolation import SERVICE_ACTORS, SERVICE_CROSSINGS
    from tests.library_loans.seed import seed_library
    from tests.support.isolation import IsolationHarness

    harness = IsolationHarness(embedded, {"/library": embedded.mounts["/library"]}, db,
                               owner_engine, home=municipalities["umea"],
                               other=municipalities["vannas"], seeders=[seed_library],
                               actor_factories=SERVICE_ACTORS, crossings=SERVICE_CROSSINGS)
    violations = [v for v in harness.run() if v.url.startswith(_MINE)]
    assert violations == [], "\n".join(map(str, violations))


def test_a_copy_found_again_serves_the_waiting_hold_at_once(client, consortium, staff, queues):
    from library_loans.access import hold_queues
    from library_loans.models import Hold, Item
    from library_loans.operations.circulation import find_patron
    from library_loans.operations.holds import place_hold

    umea_copy = consortium.items["umea-1"].id
    vindeln_copy = consortium.items["vindeln-1"].id
    queues.scalar(select(Item).where(Item.id == umea_copy)).status = "missing"
    # The Vindeln copy goes to a Vindeln patron; Urban in Umeå waits for the title.
    vilma, urban = find_patron(queues, "20000001"), find_patron(queues, "10000002")
    record = consortium.records["bröder"]
    assert place_hold(queues, vilma, record, consortium.branches["VINDELN-HB"]).item_id \
        == vindeln_copy
    waiting = place_hold(queues, urban, record, consortium.branches["UMEA-STADS"])
    assert waiting.status == "waiting"
    hold_id = waiting.id
    queues.commit()

    found = client.patch(f"{API}/items/{umea_copy}", headers=staff["umea"].headers,
                         json={"status": "available"})

    assert found.status_code == 200, found.json
    assert found.json["status"] == "on_hold_shelf"
    queues.expire_all()  # the session keeps what it loaded past its commit
    with hold_queues(queues):
        hold = queues.scalar(select(Hold).where(Hold.id == hold_id))
        assert hold.status == "ready" and hold.item_id == umea_copy
