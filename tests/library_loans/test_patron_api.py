"""A patron's own account over the API: card + PIN login, loans, holds, fines, pickup."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.test import Client

from library_loans.access import hold_queues
from library_loans.api.patrons import blueprint
from library_loans.identity import PATRON_COOKIE, issue_patron_session
from library_loans.models import Fine, Item, Patron
from library_loans.operations.administration import set_rule
from library_loans.operations.circulation import checkin, checkout, find_patron
from library_loans.operations.holds import place_hold
from library_loans.operations.rules import library_day
from services import clock
from services.config import Settings
from services.factory import create_service_app
from services.tenancy import TenantScope, tenant_scope
from tests.library_loans.conftest import MONDAY, add_item, add_record
from tests.support.addresses import unseen_address

JSON = {"Content-Type": "application/json"}


def _app(settings: Settings) -> Flask:
    return create_service_app("library_loans", "Biblioteken", api_blueprints=[blueprint],
                              web_blueprints=[], settings=settings)


@pytest.fixture(scope="module")
def app(migrated: Settings) -> Flask:
    """The library service with only the patrons' API."""
    return _app(migrated)


@pytest.fixture
def anonymous(app: Flask) -> Client:
    """A browser that has not logged in."""
    return Client(app)


@pytest.fixture
def log_in(app: Flask, consortium):  # type: ignore[no-untyped-def]
    """``log_in("10000001")``: a client with that patron's session cookie, by the API."""

    def logged_in(card: str, pin: str = "1234") -> Client:
        client = Client(app)
        reply = client.post("/api/patron/login", json={"card_number": card, "pin": pin})
        assert reply.status_code == 200, reply.json
        return client

    return logged_in


@pytest.fixture
def lent(consortium):  # type: ignore[no-untyped-def]
    """Ulla has borrowed both copies of "Bröderna Lejonhjärta" (Umeå's and Vindeln's)."""
    with consortium.session() as session, hold_queues(session):
        ulla = find_patron(session, "10000001")
        loans = [checkout(session, barcode, ulla, consortium.branches["UMEA-STADS"], at=MONDAY)
                 for barcode in ("U0001", "V0001")]
        ids = [loan.id for loan in loans]
        session.commit()
    return ids


def _hold(consortium, card: str, title: str = "bröder", branch: str = "UMEA-STADS",
          at=MONDAY) -> uuid.UUID:  # type: ignore[no-untyped-def]
    with consortium.session() as session, hold_queues(session):
        hold = place_hold(session, find_patron(session, card), consortium.records[title],
                          consortium.branches[branch], at=at)
        session.commit()
        return hold.id


# --- logging in ------------------------------------------------------------------------


def test_a_patron_logs_in_with_card_and_pin_and_gets_an_http_only_cookie(log_in, consortium):
    me = log_in("10000001").get("/api/patron")

    assert me.status_code == 200, me.json
    assert me.json["name"] == "Ulla Umeå"
    assert me.json["card_number"] == "10000001"
    assert me.json["municipality"] == "umea"
    assert me.json["home_branch"]["name"] == "Umeå stadsbibliotek"
    assert me.json["card_expired"] is False
    assert me.json["open_fines"] == "0.00"
    assert me.json["counts"] == {"loans": 0, "overdue": 0, "holds": 0, "ready": 0}
    assert me.json["blocks"] == []


def test_the_login_reply_describes_the_patron_and_sets_a_lax_http_only_cookie(anonymous,
                                                                              consortium):
    reply = anonymous.post("/api/patron/login", json={"card_number": " 20000001 ", "pin": "1234"})

    assert reply.status_code == 200, reply.json
    assert reply.json["patron"]["name"] == "Vilma Vindeln"
    assert "pin" not in reply.json["patron"]
    cookie = reply.headers["Set-Cookie"]
    assert cookie.startswith(f"{PATRON_COOKIE}=lp_")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=14400" in cookie


def test_a_wrong_pin_and_an_unknown_card_get_the_same_answer(anonymous, consortium):
    wrong_pin = anonymous.post("/api/patron/login",
                               json={"card_number": "10000001", "pin": "9999"})
    no_card = anonymous.post("/api/patron/login",
                             json={"card_number": "99999999", "pin": "1234"})

    assert wrong_pin.status_code == no_card.status_code == 401
    assert wrong_pin.json == no_card.json
    assert wrong_pin.json["error"]["message"] == "Wrong card number or PIN."
    assert "Set-Cookie" not in wrong_pin.headers
    assert anonymous.get("/api/patron").status_code == 401


def test_a_login_without_card_or_pin_names_the_missing_fields(anonymous, consortium):
    reply = anonymous.post("/api/patron/login", json={"card_number": ""})

    assert reply.status_code == 422
    assert set(reply.json["error"]["fields"]["json"]) == {"card_number", "pin"}


def test_pin_attempts_are_limited_per_address_and_per_card(migrated, consortium):
    strict = Client(_app(migrated.with_overrides(login_rate_limit="3 per minute")))
    card = str(uuid.uuid4().int)[:12]  # a key no earlier run has counted
    address = {"X-Forwarded-For": unseen_address()}
    replies = [strict.post("/api/patron/login", json={"card_number": card, "pin": "0000"},
                           headers=address) for _ in range(4)]

    assert [r.status_code for r in replies] == [401, 401, 401, 429]
    assert replies[-1].json["error"]["code"] == "too_many_requests"
    assert int(replies[-1].headers["Retry-After"]) >= 1
    # The same card from a fresh address is still refused: guessing from many is no way out.
    elsewhere = strict.post("/api/patron/login", json={"card_number": card, "pin": "1234"},
                            headers={"X-Forwarded-For": "203.0.113.7"})
    assert elsewhere.status_code == 429


def test_logging_out_ends_the_session_at_once(log_in, app):
    client = log_in("10000001")
    cookie = client.get_cookie(PATRON_COOKIE)
    assert cookie is not None

    assert client.post("/api/patron/logout", headers=JSON).status_code == 204
    assert client.get_cookie(PATRON_COOKIE) is None
    replay = Client(app)
    replay.set_cookie(PATRON_COOKIE, cookie.value)
    assert replay.get("/api/patron").status_code == 401


def test_a_session_expires_after_four_hours(app, consortium):
    with consortium.session() as session, tenant_scope(
            TenantScope.of([consortium.municipalities["umea"].id])):
        ulla = session.get(Patron, (consortium.patrons["ulla"].municipality_id,
                                    consortium.patrons["ulla"].id))
        with clock.frozen_at(MONDAY):
            secret = issue_patron_session(session, ulla)
        session.commit()
    client = Client(app)
    client.set_cookie(PATRON_COOKIE, secret)
    with clock.frozen_at(MONDAY + timedelta(hours=3, minutes=59)):
        assert client.get("/api/patron").status_code == 200
    with clock.frozen_at(MONDAY + timedelta(hours=4)):
        assert client.get("/api/patron").status_code == 401


def test_an_expired_card_may_log_in_and_is_told_why_it_cannot_borrow(log_in, consortium):
    expires = consortium.patrons["valle"].card_expires_on
    with clock.frozen_at(MONDAY.replace(year=expires.year + 1)):
        client = log_in("30000001")
        me = client.get("/api/patron").json

    assert me["card_expired"] is True
    assert [block["reason"] for block in me["blocks"]] == ["card_expired"]


def test_every_account_route_needs_a_patron_session_not_a_staff_token(
        anonymous, consortium, make_staff):
    librarian = make_staff("lisa", "umea", ("librarian", "umea"))
    some_id = uuid.uuid4()
    routes = [("GET", "/api/patron"), ("GET", "/api/patron/loans"),
              ("GET", "/api/patron/holds"), ("GET", "/api/patron/fines"),
              ("POST", f"/api/patron/loans/{some_id}/renew"),
              ("POST", "/api/patron/holds"), ("PATCH", f"/api/patron/holds/{some_id}"),
              ("DELETE", f"/api/patron/holds/{some_id}")]
    for method, url in routes:
        body = {"record_id": str(some_id), "pickup_branch_id": str(some_id)} \
            if method == "POST" and url.endswith("holds") else {}
        for headers in ({}, librarian.headers):
            reply = anonymous.open(url, method=method, json=body, headers=headers)
            assert reply.status_code == 401, (method, url, reply.json)


# --- loans ----------------------------------------------------------------------------


def test_loans_show_title_copy_owner_due_date_renewals_left_and_overdue(log_in, lent):
    with clock.frozen_at(MONDAY + timedelta(days=30)):
        loans = log_in("10000001").get("/api/patron/loans").json

    assert [loan["barcode"] for loan in loans] == ["U0001", "V0001"]
    vindeln = loans[1]
    assert vindeln["record"]["title"] == "Bröderna Lejonhjärta"
    assert vindeln["record"]["author"] == "Lindgren, Astrid"
    assert vindeln["municipality"] == "vindeln"
    assert vindeln["municipality_name"] == "Vindeln"
    assert vindeln["branch"] == "Vindelns bibliotek"
    assert vindeln["due_on"] == str(library_day(MONDAY) + timedelta(days=28))
    assert vindeln["renewals"] == 0 and vindeln["renewals_left"] == 2
    assert vindeln["overdue"] is True


def test_a_patron_renews_until_the_owners_renewals_are_used_up(log_in, lent, consortium):
    with consortium.session() as session, tenant_scope(
            TenantScope.of([consortium.municipalities["vindeln"].id])):
        set_rule(session, renewals=1)
        session.commit()
    client = log_in("10000001")
    vindeln_loan = lent[1]

    first = client.post(f"/api/patron/loans/{vindeln_loan}/renew", headers=JSON)
    assert first.status_code == 200, first.json
    assert first.json["renewals"] == 1 and first.json["renewals_left"] == 0

    again = client.post(f"/api/patron/loans/{vindeln_loan}/renew", headers=JSON)
    assert again.status_code == 409
    assert again.json["error"]["fields"]["json"]["loan"] == [
        "The loan has been renewed 1 times, as many as its library allows."]


def test_a_loan_someone_waits_for_cannot_be_renewed(log_in, lent, consortium):
    _hold(consortium, "20000001", branch="VINDELN-HB")

    reply = log_in("10000001").post(f"/api/patron/loans/{lent[0]}/renew", headers=JSON)

    assert reply.status_code == 409
    assert "reserved" in reply.json["error"]["message"]
    assert reply.json["error"]["fields"]["json"]["loan"]


def test_an_expired_card_cannot_renew(log_in, lent, consortium):
    expires = consortium.patrons["ulla"].card_expires_on
    with clock.frozen_at(MONDAY.replace(year=expires.year + 1)):
        reply = log_in("10000001").post(f"/api/patron/loans/{lent[0]}/renew", headers=JSON)

    assert reply.status_code == 409
    assert reply.json["error"]["fields"]["json"]["card"] == [
        "The library card has expired: renew it at the desk."]


# --- holds ----------------------------------------------------------------------------


def test_a_patron_places_pauses_moves_and_cancels_a_hold(log_in, lent, consortium):
    client = log_in("20000001")
    placed = client.post("/api/patron/holds", json={
        "record_id": str(consortium.records["bröder"].id),
        "pickup_branch_id": str(consortium.branches["VINDELN-HB"].id)})
    assert placed.status_code == 201, placed.json
    hold = placed.json
    assert hold["status"] == "waiting"
    assert hold["municipality"] == "vindeln"
    assert hold["record"]["title"] == "Bröderna Lejonhjärta"
    assert hold["pickup_branch"] == {"id": str(consortium.branches["VINDELN-HB"].id),
                                     "name": "Vindelns bibliotek", "municipality": "vindeln",
                                     "municipality_name": "Vindeln"}
    assert hold["position"] == 1 and hold["waiting"] == 1 and hold["copies"] == 2
    assert hold["estimated_days"] == 28

    until = str(library_day(clock.now()) + timedelta(days=14))
    paused = client.patch(f"/api/patron/holds/{hold['id']}", json={"suspended_until": until})
    assert paused.status_code == 200, paused.json
    assert paused.json["suspended_until"] == until

    moved = client.patch(f"/api/patron/holds/{hold['id']}", json={
        "pickup_branch_id": str(consortium.branches["VANNAS-HB"].id), "suspended_until": None})
    assert moved.status_code == 200, moved.json
    assert moved.json["pickup_branch"]["name"] == "Vännäs bibliotek"
    assert moved.json["suspended_until"] is None

    assert [h["id"] for h in client.get("/api/patron/holds").json] == [hold["id"]]
    cancelled = client.delete(f"/api/patron/holds/{hold['id']}", headers=JSON)
    assert cancelled.status_code == 204
    assert client.get("/api/patron/holds").json == []


def test_a_free_copy_at_the_pickup_branch_makes_the_hold_ready_at_once(log_in, consortium):
    reply = log_in("10000001").post("/api/patron/holds", json={
        "record_id": str(consortium.records["bröder"].id),
        "pickup_branch_id": str(consortium.branches["UMEA-STADS"].id)})

    assert reply.status_code == 201
    assert reply.json["status"] == "ready"
    assert reply.json["position"] is None
    assert reply.json["shelf_expires_on"] is not None
    me = log_in("10000001").get("/api/patron").json
    assert me["counts"]["holds"] == 1 and me["counts"]["ready"] == 1


def test_positions_and_estimates_are_shown_honestly(log_in, lent, consortium):
    first = _hold(consortium, "20000001", at=MONDAY + timedelta(hours=1))
    second = _hold(consortium, "30000001", at=MONDAY + timedelta(hours=2))
    third = _hold(consortium, "10000002", at=MONDAY + timedelta(hours=3))
    with consortium.session() as session:
        lonely = add_record(session, "Ensam titel utan exemplar")
        session.commit()

    places = {}
    for card, hold_id in (("20000001", first), ("30000001", second), ("10000002", third)):
        (hold,) = log_in(card).get("/api/patron/holds").json
        assert hold["id"] == str(hold_id)
        places[card] = (hold["position"], hold["waiting"], hold["estimated_days"])
    # Two copies, both lent for 28 days: the first two are served in one round, the third
    # waits for a second loan period.
    assert places == {"20000001": (1, 3, 28), "30000001": (2, 3, 28),
                      "10000002": (3, 3, 56)}

    refused = log_in("10000001").post("/api/patron/holds", json={
        "record_id": str(lonely.id), "pickup_branch_id": str(consortium.branches["UMEA-STADS"].id)})
    assert refused.status_code == 409
    assert refused.json["error"]["fields"]["json"]["record_id"] == [
        "No library lends this title out to be reserved."]


def test_a_hold_whose_only_copy_went_missing_says_there_is_no_estimate(log_in, consortium):
    with consortium.session() as session:
        rare = add_record(session, "Sällsynt bok")
        add_item(session, rare, consortium.branches["VANNAS-HB"], "N0001")
        session.commit()
    with consortium.session() as session, hold_queues(session):
        checkout(session, "N0001", find_patron(session, "30000001"),
                 consortium.branches["VANNAS-HB"], at=MONDAY)
        session.commit()
    client = log_in("10000001")
    placed = client.post("/api/patron/holds", json={
        "record_id": str(rare.id), "pickup_branch_id": str(consortium.branches["UMEA-STADS"].id)})
    assert placed.json["estimated_days"] == 28
    with consortium.session() as session, hold_queues(session):
        item = session.scalar(select(Item).where(Item.barcode == "N0001"))
        item.status = "missing"
        session.commit()

    (hold,) = client.get("/api/patron/holds").json
    assert hold["copies"] == 0 and hold["estimated_days"] is None
    assert hold["position"] == 1


def test_bad_hold_requests_name_the_field(log_in, consortium):
    client = log_in("10000001")
    record = str(consortium.records["bröder"].id)
    branch = str(consortium.branches["UMEA-STADS"].id)

    cases = [
        ({"record_id": str(uuid.uuid4()), "pickup_branch_id": branch}, 422, "record_id"),
        ({"record_id": record, "pickup_branch_id": str(uuid.uuid4())}, 422, "pickup_branch_id"),
        ({"record_id": "not-a-uuid", "pickup_branch_id": branch}, 422, "record_id"),
        ({"pickup_branch_id": branch}, 422, "record_id"),
    ]
    for body, status, field in cases:
        reply = client.post("/api/patron/holds", json=body)
        assert reply.status_code == status, (body, reply.json)
        assert field in reply.json["error"]["fields"]["json"], reply.json

    assert client.post("/api/patron/holds", json={"record_id": record,
                                                  "pickup_branch_id": branch}).status_code == 201
    twice = client.post("/api/patron/holds", json={"record_id": record,
                                                   "pickup_branch_id": branch})
    assert twice.status_code == 409
    assert twice.json["error"]["fields"]["json"]["record_id"] == [
        "You already have a reservation for this title."]


def test_a_pause_must_end_after_today_and_within_a_year(log_in, lent, consortium):
    hold_id = _hold(consortium, "10000002", at=clock.now())
    client = log_in("10000002")
    today = library_day(clock.now())
    for until in (today, today - timedelta(days=3), today + timedelta(days=400)):
        reply = client.patch(f"/api/patron/holds/{hold_id}", json={"suspended_until": str(until)})
        assert reply.status_code == 422
        assert "suspended_until" in reply.json["error"]["fields"]["json"]
    empty = client.patch(f"/api/patron/holds/{hold_id}", json={})
    assert empty.status_code == 422


def test_a_ready_hold_cannot_be_paused(log_in, consortium):
    client = log_in("10000001")
    ready = client.post("/api/patron/holds", json={
        "record_id": str(consortium.records["bröder"].id),
        "pickup_branch_id": str(consortium.branches["UMEA-STADS"].id)}).json
    until = str(library_day(clock.now()) + timedelta(days=5))

    reply = client.patch(f"/api/patron/holds/{ready['id']}", json={"suspended_until": until})

    assert reply.status_code == 409
    assert reply.json["error"]["fields"]["json"]["hold"]


# --- only one's own -------------------------------------------------------------------


@pytest.mark.parametrize("card", ["10000002", "20000001"],
                         ids=["same municipality", "other municipality"])
def test_a_patron_never_sees_or_touches_another_patrons_loans_holds_or_fines(
        log_in, lent, consortium, card):
    ullas_hold = _hold(consortium, "10000001", branch="UMEA-HOLMSUND")
    with consortium.session() as session, hold_queues(session):
        checkin(session, "V0001", consortium.branches["VINDELN-HB"],
                at=MONDAY + timedelta(days=40))
        session.commit()
    with consortium.session() as session, hold_queues(session):
        assert session.scalars(select(Fine)).all() == []  # no fines by default: none to leak
    other = log_in(card)

    assert other.get("/api/patron/loans").json == []
    assert other.get("/api/patron/holds").json == []
    assert other.get("/api/patron/fines").json == []
    assert other.get("/api/patron").json["counts"] == {"loans": 0, "overdue": 0, "holds": 0,
                                                       "ready": 0}
    until = str(library_day(clock.now()) + timedelta(days=5))
    for method, url, body in (
            ("PATCH", f"/api/patron/holds/{ullas_hold}", {"suspended_until": until}),
            ("DELETE", f"/api/patron/holds/{ullas_hold}", None),
            ("POST", f"/api/patron/loans/{lent[0]}/renew", None)):
        reply = other.open(url, method=method, json=body, headers=JSON)
        assert reply.status_code == 404, (method, url, reply.json)
    ulla = log_in("10000001")
    (hold,) = ulla.get("/api/patron/holds").json
    assert hold["id"] == str(ullas_hold) and hold["suspended_until"] is None
    assert [loan["id"] for loan in ulla.get("/api/patron/loans").json] == [str(lent[0])]


def test_fines_are_listed_with_their_title_and_owner_and_count_towards_a_block(
        log_in, lent, consortium):
    with consortium.session() as session, tenant_scope(
            TenantScope.of([consortium.municipalities["vindeln"].id])):
        set_rule(session, fine_per_day=2, fine_cap=50)
        session.commit()
    with consortium.session() as session, tenant_scope(
            TenantScope.of([consortium.municipalities["umea"].id])):
        set_rule(session, block_threshold=10)
        session.commit()
    with consortium.session() as session, hold_queues(session):
        checkin(session, "V0001", consortium.branches["VINDELN-HB"],
                at=MONDAY + timedelta(days=33))
        session.commit()
    client = log_in("10000001")

    (fine,) = client.get("/api/patron/fines").json
    assert fine["municipality"] == "vindeln" and fine["title"] == "Bröderna Lejonhjärta"
    assert fine["amount"] == "10.00" and fine["settled_at"] is None
    me = client.get("/api/patron").json
    assert me["open_fines"] == "10.00"
    assert [block["reason"] for block in me["blocks"]] == ["fines"]


# --- pickup branches ------------------------------------------------------------------


def test_pickup_branches_are_public_grouped_in_swedish_order(anonymous, consortium):
    groups = anonymous.get("/api/pickup-branches").json

    assert [g["municipality_name"] for g in groups] == ["Umeå", "Vindeln", "Vännäs"]
    assert [b["name"] for b in groups[0]["branches"]] == ["Holmsunds bibliotek",
                                                          "Umeå stadsbibliotek"]
    assert not any(g["home"] for g in groups)


def test_a_logged_in_patrons_home_branch_comes_first(log_in, consortium):
    groups = log_in("30000001").get("/api/pickup-branches").json
    assert [g["municipality_name"] for g in groups] == ["Vännäs", "Umeå", "Vindeln"]
    assert groups[0]["home"] is True and groups[0]["branches"][0]["home"] is True

    groups = log_in("10000001").get("/api/pickup-branches").json
    assert [b["name"] for b in groups[0]["branches"]] == ["Umeå stadsbibliotek",
                                                          "Holmsunds bibliotek"]


def test_logging_in_as_someone_else_on_a_shared_computer_ends_the_first_session(log_in, app):
    client = log_in("10000001")
    first = client.get_cookie(PATRON_COOKIE).value

    reply = client.post("/api/patron/login", json={"card_number": "10000002", "pin": "1234"})

    assert reply.status_code == 200
    assert client.get("/api/patron").json["name"] == "Urban Umeå"
    replay = Client(app)
    replay.set_cookie(PATRON_COOKIE, first)
    assert replay.get("/api/patron").status_code == 401
