"""A patron's own account over the API: login by card and PIN, loans, holds, fines.

Authenticated by the patron's session cookie only (never a staff bearer token); without
one every account route is a 401. A patron reaches only their own rows: every query names
the patron, and another patron's loan or hold id is a 404 whatever its municipality.
Cookie-authenticated writes send JSON (``Content-Type: application/json``) or a CSRF token.

The functions that describe an account (:func:`describe_patron`, :func:`loans_of`, ...)
are the pages' too (:mod:`library_loans.web.patron`).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

from flask import request
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import Session

from library_loans.access import hold_queues, public_catalogue
from library_loans.identity import (
    PatronPrincipal,
    current_patron,
    end_patron_session,
    limit_pin_attempts,
    patron_account,
    patron_record,
    patron_sessions,
    require_patron,
    start_patron_session,
)
from library_loans.models import (
    ACTIVE_HOLD_STATUSES,
    ANY,
    BibRecord,
    Branch,
    Fine,
    Hold,
    Item,
    Loan,
    Patron,
)
from library_loans.operations.administration import card_holder
from library_loans.operations.circulation import open_fines, renew
from library_loans.operations.holds import (
    QueuePlace,
    cancel_hold,
    change_pickup,
    holds_of,
    patron_hold,
    place_hold,
    queue_place,
    suspend_hold,
)
from library_loans.operations.rules import Refusal, library_day, rule_for
from library_loans.schemas.patrons import (
    FineSchema,
    HoldChangeSchema,
    HoldSchema,
    LoanSchema,
    LoginReplySchema,
    LoginSchema,
    NewHoldSchema,
    PatronSchema,
    PickupGroupSchema,
)
from services import clock
from services.context import db_session
from services.errors import ApiError
from services.i18n import swedish_sort_key
from services.tenancy.models import Municipality

blueprint = Blueprint("library_patrons", __name__, url_prefix="/api",
                      description="A patron's own account: loans, holds and fines")

WRONG_CARD_OR_PIN = "Wrong card number or PIN."
LONGEST_PAUSE = timedelta(days=365)
_API_FIELDS = {"pickup_branch": "pickup_branch_id", "record": "record_id"}
"""Refusals name the operation's argument; the API names the field the client sent."""
_PUBLIC_ENDPOINTS = {f"{blueprint.name}.{view}"
                     for view in ("login", "logout", "get_pickup_branches")}


@blueprint.before_request
def _patrons_only() -> None:
    # Before the body is read: without a patron session the answer is a 401, not a 422.
    if request.endpoint not in _PUBLIC_ENDPOINTS:
        require_patron()


@blueprint.route("/patron/login", methods=["POST"])
@limit_pin_attempts
@blueprint.arguments(LoginSchema)
@blueprint.response(200, LoginReplySchema)
def login(payload: dict[str, Any]) -> dict[str, Any]:
    """Log in with card number and PIN: sets the patron session cookie."""
    session = db_session()
    with patron_sessions(session):
        patron = card_holder(session, payload["card_number"], payload["pin"])
    if patron is None:  # one message: it must not tell whether the card exists
        raise ApiError(401, WRONG_CARD_OR_PIN, field="card_number")
    start_patron_session(session, patron)
    with patron_account(session, _principal_of(patron)):
        return {"patron": describe_patron(session, patron)}


@blueprint.route("/patron/logout", methods=["POST"])
@blueprint.response(204)
def logout() -> None:
    """Log out: the session cookie stops working at once."""
    end_patron_session(db_session())


@blueprint.route("/patron")
@blueprint.response(200, PatronSchema)
def get_patron() -> dict[str, Any]:
    """The logged-in patron: card, home library, fines, counts and any blocks."""
    session = db_session()
    with _account(session) as patron:
        return describe_patron(session, patron)


@blueprint.route("/patron/loans")
@blueprint.response(200, LoanSchema(many=True))
def get_loans() -> list[dict[str, Any]]:
    """The patron's current loans, the soonest due first."""
    session = db_session()
    with _account(session) as patron:
        return loans_of(session, patron)


@blueprint.route("/patron/loans/<uuid:loan_id>/renew", methods=["POST"])
@blueprint.response(200, LoanSchema)
def renew_loan(loan_id: uuid.UUID) -> dict[str, Any]:
    """Renew a loan; refused (409, naming why) when someone waits or renewals are used up."""
    session = db_session()
    with _account(session) as patron:
        loan = patron_loan(session, patron, loan_id)
        with refusals_as_errors():
            renew(session, loan)
        return next(described for described in loans_of(session, patron)
                    if described["id"] == loan.id)


@blueprint.route("/patron/holds")
@blueprint.response(200, HoldSchema(many=True))
def get_holds() -> list[dict[str, Any]]:
    """The patron's active holds with their true queue positions and estimates."""
    session = db_session()
    with _account(session) as patron:
        return holds_json(session, patron)


@blueprint.route("/patron/holds", methods=["POST"])
@blueprint.arguments(NewHoldSchema)
@blueprint.response(201, HoldSchema)
def create_hold(payload: dict[str, Any]) -> dict[str, Any]:
    """Reserve a title for pickup at any pickup branch of the consortium."""
    session = db_session()
    with _account(session) as patron:
        record = find_record(session, payload["record_id"])
        pickup = find_pickup_branch(session, payload["pickup_branch_id"])
        hold = place_patron_hold(session, patron, record, pickup)
        return describe_hold(session, hold, queue_place(session, hold))


@blueprint.route("/patron/holds/<uuid:hold_id>", methods=["PATCH"])
@blueprint.arguments(HoldChangeSchema)
@blueprint.response(200, HoldSchema)
def change_hold(payload: dict[str, Any], hold_id: uuid.UUID) -> dict[str, Any]:
    """Pause a hold until a date (null resumes it) or move its pickup branch."""
    if not payload:
        raise ApiError(422, "Send suspended_until, pickup_branch_id or both.",
                       field="suspended_until")
    session = db_session()
    with _account(session) as patron:
        hold = find_patron_hold(session, patron, hold_id)
        pickup = (find_pickup_branch(session, payload["pickup_branch_id"])
                  if "pickup_branch_id" in payload else None)
        if "suspended_until" in payload:
            check_pause(payload["suspended_until"])
        with hold_queues(session), refusals_as_errors():
            if "suspended_until" in payload:
                suspend_hold(session, hold, payload["suspended_until"])
            if pickup is not None:
                change_pickup(session, hold, pickup)
            session.flush()
        return describe_hold(session, hold, queue_place(session, hold))


@blueprint.route("/patron/holds/<uuid:hold_id>", methods=["DELETE"])
@blueprint.response(204)
def delete_hold(hold_id: uuid.UUID) -> None:
    """Cancel a hold; a copy already set aside for it passes on to the next in line."""
    session = db_session()
    with _account(session) as patron:
        hold = find_patron_hold(session, patron, hold_id)
        with hold_queues(session), refusals_as_errors():
            cancel_hold(session, hold)
            session.flush()


@blueprint.route("/patron/fines")
@blueprint.response(200, FineSchema(many=True))
def get_fines() -> list[dict[str, Any]]:
    """The patron's fines, open and settled, the newest first."""
    session = db_session()
    with _account(session) as patron:
        return fines_of(session, patron)


@blueprint.route("/pickup-branches")
@blueprint.response(200, PickupGroupSchema(many=True))
def get_pickup_branches() -> list[dict[str, Any]]:
    """Every pickup branch of every library municipality (public), grouped by municipality
    in Swedish order; a logged-in patron's home branch and municipality come first."""
    session = db_session()
    principal = current_patron()
    home = None
    if principal is not None:
        with patron_account(session, principal):
            home = patron_record(session, principal).home_branch_id
    return pickup_groups(session, home)


# --- describing an account (the pages use these too) -----------------------------------


def describe_patron(session: Session, patron: Patron) -> dict[str, Any]:
    """The patron's card, home library, open fines, counts and blocks."""
    now = clock.now()
    places = _municipalities(session)
    home = session.get(Branch, (patron.municipality_id, patron.home_branch_id))
    assert home is not None
    loans = session.scalars(select(Loan.due_at).where(*_loans_of(patron))).all()
    statuses = session.scalars(select(Hold.status).where(
        Hold.municipality_id == patron.municipality_id, Hold.patron_id == patron.id,
        Hold.status.in_(ACTIVE_HOLD_STATUSES))).all()
    owed = Decimal(open_fines(session, patron))
    return {
        "id": patron.id,
        "name": patron.name,
        "card_number": patron.card_number,
        "municipality": places[patron.municipality_id].slug,
        "municipality_name": places[patron.municipality_id].name,
        "home_branch": _branch_ref(home, places),
        "card_expires_on": patron.card_expires_on,
        "card_expired": library_day(now) > patron.card_expires_on,
        "open_fines": owed,
        "counts": {"loans": len(loans), "overdue": sum(due < now for due in loans),
                   "holds": len(statuses), "ready": statuses.count("ready")},
        "blocks": _blocks(session, patron, owed, now),
    }


def loans_of(session: Session, patron: Patron) -> list[dict[str, Any]]:
    """The patron's current loans with title, copy, owner, due date and renewals left."""
    now = clock.now()
    places = _municipalities(session)
    rows = session.execute(
        select(Loan, Item, BibRecord, Branch)
        .join(Item, (Item.municipality_id == Loan.municipality_id) & (Item.id == Loan.item_id))
        .join(BibRecord, BibRecord.id == Item.record_id)
        .join(Branch, (Branch.municipality_id == Item.municipality_id)
              & (Branch.id == Item.home_branch_id))
        .where(*_loans_of(patron)).order_by(Loan.due_at, Loan.id)).all()
    described = []
    for loan, item, record, branch in rows:
        rule = rule_for(session, item.municipality_id, patron.category, item.media_type)
        described.append({
            "id": loan.id,
            "municipality": places[loan.municipality_id].slug,
            "municipality_name": places[loan.municipality_id].name,
            "record": _record_ref(record),
            "barcode": item.barcode,
            "branch": branch.name,
            "checked_out_at": loan.checked_out_at,
            "due_at": loan.due_at,
            "due_on": library_day(loan.due_at),
            "renewals": loan.renewals,
            "renewals_left": max(0, rule.renewals - loan.renewals),
            "overdue": loan.due_at < now,
        })
    return described


def holds_json(session: Session, patron: Patron) -> list[dict[str, Any]]:
    """The patron's active holds, described with their places in the queues."""
    return [describe_hold(session, hold, place) for hold, place in holds_of(session, patron)]


def describe_hold(session: Session, hold: Hold, place: QueuePlace) -> dict[str, Any]:
    """A hold as the patron sees it: title, status, pickup, position and estimate."""
    places = _municipalities(session)
    record = session.get(BibRecord, hold.record_id)
    pickup = session.get(Branch, (hold.pickup_municipality_id, hold.pickup_branch_id))
    assert record is not None and pickup is not None
    waiting = hold.status == "waiting"
    return {
        "id": hold.id,
        "municipality": places[hold.municipality_id].slug,
        "record": _record_ref(record),
        "status": hold.status,
        "pickup_branch": _branch_ref(pickup, places),
        "placed_at": hold.placed_at,
        "position": place.position if waiting else None,
        "waiting": place.waiting,
        "copies": place.copies,
        "estimated_days": place.estimated_days,
        "suspended_until": hold.suspended_until,
        "shelf_expires_on": hold.shelf_expires_on,
    }


def fines_of(session: Session, patron: Patron) -> list[dict[str, Any]]:
    """The patron's fines, open and settled, with the title they were for."""
    places = _municipalities(session)
    rows = session.execute(
        select(Fine, BibRecord.title)
        .outerjoin(Loan, (Loan.municipality_id == Fine.municipality_id)
                   & (Loan.id == Fine.loan_id))
        .outerjoin(Item, (Item.municipality_id == Loan.municipality_id)
                   & (Item.id == Loan.item_id))
        .outerjoin(BibRecord, BibRecord.id == Item.record_id)
        .where(Fine.patron_municipality_id == patron.municipality_id,
               Fine.patron_id == patron.id)
        .order_by(Fine.settled_at.is_not(None), Fine.created_at.desc())).all()
    return [{
        "id": fine.id,
        "municipality": places[fine.municipality_id].slug,
        "municipality_name": places[fine.municipality_id].name,
        "title": title,
        "amount": fine.amount,
        "reason": fine.reason,
        "created_at": fine.created_at,
        "settled_at": fine.settled_at,
    } for fine, title in rows]


def pickup_groups(session: Session, home_branch_id: uuid.UUID | None) -> list[dict[str, Any]]:
    """Pickup branches by municipality, Swedish order, the home branch's group and it first."""
    places = _municipalities(session)
    with public_catalogue(session):
        branches = session.scalars(select(Branch).where(Branch.pickup.is_(True))).all()
    groups: dict[uuid.UUID, dict[str, Any]] = {}
    for branch in branches:
        place = places[branch.municipality_id]
        group = groups.setdefault(branch.municipality_id, {
            "municipality": place.slug, "municipality_name": place.name, "home": False,
            "branches": []})
        is_home = branch.id == home_branch_id
        group["home"] = group["home"] or is_home
        group["branches"].append({"id": branch.id, "code": branch.code, "name": branch.name,
                                  "kind": branch.kind, "home": is_home})
    for group in groups.values():
        group["branches"].sort(key=lambda b: (not b["home"], swedish_sort_key(b["name"])))
    return sorted(groups.values(),
                  key=lambda g: (not g["home"], swedish_sort_key(g["municipality_name"])))


# --- finding what a patron names -----------------------------------------------------


def find_record(session: Session, record_id: uuid.UUID) -> BibRecord:
    """The catalogue record ``record_id``; a 422 naming ``record_id`` when there is none."""
    record = session.get(BibRecord, record_id)
    if record is None:
        raise ApiError(422, "No such title in the catalogue.", field="record_id")
    return record


def find_pickup_branch(session: Session, branch_id: uuid.UUID) -> Branch:
    """A library municipality's branch that hands out holds; else a 422 naming the field."""
    with public_catalogue(session):
        branch = session.scalar(select(Branch).where(Branch.id == branch_id))
    if branch is None:
        raise ApiError(422, "No library branch has this id.", field="pickup_branch_id")
    if not branch.pickup:
        raise ApiError(422, f"{branch.name} does not hand out reservations.",
                       field="pickup_branch_id")
    return branch


def patron_loan(session: Session, patron: Patron, loan_id: uuid.UUID) -> Loan:
    """The patron's own current loan ``loan_id``; a 404 for anyone else's."""
    loan = session.scalar(select(Loan).where(Loan.id == loan_id, *_loans_of(patron)))
    if loan is None:
        raise ApiError(404, "You have no such loan.")
    return loan


def find_patron_hold(session: Session, patron: Patron, hold_id: uuid.UUID) -> Hold:
    """The patron's own hold ``hold_id``; a 404 for anyone else's."""
    hold = patron_hold(session, patron, hold_id)
    if hold is None:
        raise ApiError(404, "You have no such reservation.")
    return hold


def place_patron_hold(session: Session, patron: Patron, record: BibRecord, pickup: Branch
                      ) -> Hold:
    """Place the patron's hold in the consortium's queue (refusals become 4xx)."""
    with hold_queues(session), refusals_as_errors():
        hold = place_hold(session, patron, record, pickup)
        session.flush()
    return hold


def check_pause(until: Any) -> None:
    """A pause ends on a day after today and within a year (None: no pause)."""
    if until is None:
        return
    today = library_day(clock.now())
    if until <= today:
        raise ApiError(422, "Pause until a day after today.", field="suspended_until")
    if until > today + LONGEST_PAUSE:
        raise ApiError(422, "A reservation can be paused for at most a year.",
                       field="suspended_until")


@contextlib.contextmanager
def refusals_as_errors() -> Iterator[None]:
    """The library's refusals as API errors naming the field the client sent."""
    try:
        yield
    except Refusal as refusal:
        raise ApiError(refusal.status, refusal.message,
                       field=_API_FIELDS.get(refusal.field, refusal.field)) from refusal


# --- private helpers -------------------------------------------------------------------


@contextlib.contextmanager
def _account(session: Session) -> Iterator[Patron]:
    principal = require_patron()
    with patron_account(session, principal):
        yield patron_record(session, principal)
        session.flush()


def _principal_of(patron: Patron) -> PatronPrincipal:
    return PatronPrincipal(patron.id, patron.municipality_id, patron.card_number, patron.name,
                           patron.locale)


def _loans_of(patron: Patron) -> tuple[Any, ...]:
    return (Loan.patron_municipality_id == patron.municipality_id,
            Loan.patron_id == patron.id, Loan.returned_at.is_(None))


def _blocks(session: Session, patron: Patron, owed: Decimal, now: Any) -> list[dict[str, str]]:
    blocks = []
    if library_day(now) > patron.card_expires_on:
        blocks.append({"reason": "card_expired",
                       "message": "The library card has expired: renew it at a library."})
    # The home library's limit: what the patron meets when borrowing its own copies.
    threshold = rule_for(session, patron.municipality_id, patron.category, ANY).block_threshold
    if threshold is not None and owed >= threshold:
        blocks.append({"reason": "fines",
                       "message": f"Unpaid fines of {owed} kr block borrowing "
                                  f"(the limit is {threshold} kr)."})
    return blocks


def _municipalities(session: Session) -> dict[uuid.UUID, Municipality]:
    return {m.id: m for m in session.scalars(select(Municipality))}


def _branch_ref(branch: Branch, places: dict[uuid.UUID, Municipality]) -> dict[str, Any]:
    return {"id": branch.id, "name": branch.name,
            "municipality": places[branch.municipality_id].slug,
            "municipality_name": places[branch.municipality_id].name}


def _record_ref(record: BibRecord) -> dict[str, Any]:
    return {"id": record.id, "title": record.title, "author": record.author}
