"""The librarian's desk over the API: check out, check in, renew, transit lists.

A librarian works at one of their own municipality's branches and circulates any copy of
the consortium there, inside the audited crossing :data:`library_loans.access.CIRCULATION`.
The desk's page calls the same functions (the ``*_at_desk`` ones below), so the API and
the page give the same answers and refusals.

Every checkout, check-in and renewal is written to the audit log of the copy's owner,
without the patron: who borrowed what is the loan's business, and forgotten at return.
Answers name other municipalities' branches, loans and holds by what the desk acts on
(a branch's code and name, a barcode) and never by their ids: those rows are not the
desk's municipality's to address.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import Session

from library_loans.access import circulation, may_work_in, require_librarian
from library_loans.models import ANY, BibRecord, Branch, Hold, Item, Loan, Patron
from library_loans.operations.circulation import (
    CheckIn,
    blocks,
    checkin,
    checkout,
    find_item,
    find_patron,
    open_fines,
    open_loan,
    open_loan_count,
    renew,
)
from library_loans.operations.movement import InTransit, hold_shelf, transit_list
from library_loans.operations.rules import Refusal, library_day, rule_for
from library_loans.schemas.desk import (
    CheckinResultSchema,
    CheckinSchema,
    CheckoutSchema,
    DeskLoanSchema,
    DeskPatronSchema,
    DeskQuerySchema,
    HoldShelfSchema,
    RenewSchema,
    TransitListSchema,
)
from services import clock
from services.audit.operations import record
from services.context import db_session
from services.errors import ApiError
from services.identity.principal import Principal
from services.tenancy.models import Municipality

blueprint = Blueprint("library_desk", __name__, url_prefix="/api/desk",
                      description="Circulation at a branch's desk")

CARD_DIGITS_SHOWN = 4
"""How much of another municipality's patron's card number the desk sees."""


@blueprint.route("/checkout", methods=["POST"])
@blueprint.arguments(CheckoutSchema)
@blueprint.response(200, DeskLoanSchema)
def checkout_route(payload: dict[str, Any]) -> dict[str, Any]:
    """Lend a copy of any municipality to a patron of any municipality at your branch."""
    return checkout_at_desk(db_session(), require_librarian(), **payload)


@blueprint.route("/checkin", methods=["POST"])
@blueprint.arguments(CheckinSchema)
@blueprint.response(200, CheckinResultSchema)
def checkin_route(payload: dict[str, Any]) -> dict[str, Any]:
    """Take a copy back at your branch: shelve it, hold it, or send it where it belongs."""
    return checkin_at_desk(db_session(), require_librarian(), **payload)


@blueprint.route("/renew", methods=["POST"])
@blueprint.arguments(RenewSchema)
@blueprint.response(200, DeskLoanSchema)
def renew_route(payload: dict[str, Any]) -> dict[str, Any]:
    """Renew a loan by the copy's barcode or the loan's id, if its rules allow."""
    return renew_at_desk(db_session(), require_librarian(), **payload)


@blueprint.route("/transit")
@blueprint.arguments(DeskQuerySchema, location="query")
@blueprint.response(200, TransitListSchema)
def transit_route(query: dict[str, Any]) -> dict[str, Any]:
    """Copies in transit to and from your branch, with their age and a stuck flag."""
    return transit_at_desk(db_session(), require_librarian(), query["branch_id"])


@blueprint.route("/hold-shelf")
@blueprint.arguments(DeskQuerySchema, location="query")
@blueprint.response(200, HoldShelfSchema)
def hold_shelf_route(query: dict[str, Any]) -> dict[str, Any]:
    """Holds ready for pickup on your branch's hold shelf, with their last day."""
    return hold_shelf_at_desk(db_session(), require_librarian(), query["branch_id"])


@blueprint.route("/patrons/<string:card_number>")
@blueprint.arguments(DeskQuerySchema, location="query")
@blueprint.response(200, DeskPatronSchema)
def patron_route(query: dict[str, Any], card_number: str) -> dict[str, Any]:
    """What the desk needs about a card of any municipality: blocks, loans, fines."""
    return patron_at_desk(db_session(), require_librarian(), card_number, query["branch_id"])


# --- the desk's actions, shared with its page --------------------------------------------


def desk_branches(session: Session, principal: Principal) -> list[Branch]:
    """The branches the librarian may work at: their own municipality's, first first."""
    branches = session.scalars(select(Branch).order_by(Branch.id)).all()
    return [branch for branch in branches if may_work_in(principal, branch.municipality_id)]


def desk_branch(session: Session, principal: Principal, branch_id: uuid.UUID | None, *,
                location: str = "json") -> Branch:
    """The branch the desk works at: ``branch_id`` if it is the librarian's, else a 422."""
    branches = desk_branches(session, principal)
    if branch_id is None:
        home = [b for b in branches if b.municipality_id == principal.home_municipality_id]
        if not home:
            raise ApiError(422, "Your municipality has no library branch yet.",
                           field="branch_id", location=location)
        return home[0]
    for branch in branches:
        if branch.id == branch_id:
            return branch
    raise ApiError(422, "Choose one of your own municipality's branches as your desk.",
                   field="branch_id", location=location)


def checkout_at_desk(session: Session, principal: Principal, *, barcode: str,
                     card_number: str, branch_id: uuid.UUID | None) -> dict[str, Any]:
    """Lend the copy to the card's patron at the librarian's branch; the loan described."""
    branch = desk_branch(session, principal, branch_id)
    with _desk(session, principal, fields={"card": "card_number"}):
        patron = find_patron(session, card_number)
        loan = checkout(session, barcode, patron, branch, at=clock.now())
        item = _item(session, loan.municipality_id, loan.item_id)
        _audit(session, principal, "library.checkout", item, branch, loan)
        return _describe_loan(session, loan, item, patron, branch, branch)


def checkin_at_desk(session: Session, principal: Principal, *, barcode: str,
                    branch_id: uuid.UUID | None) -> dict[str, Any]:
    """Take the copy back at the librarian's branch; what to do with it, described."""
    branch = desk_branch(session, principal, branch_id)
    with _desk(session, principal):
        back = checkin(session, barcode, branch, at=clock.now())
        _audit(session, principal, "library.checkin", back.item, branch, back.loan,
               action=back.action)
        return _describe_checkin(session, back, branch)


def renew_at_desk(session: Session, principal: Principal, *, barcode: str | None = None,
                  loan_id: uuid.UUID | None = None,
                  branch_id: uuid.UUID | None = None) -> dict[str, Any]:
    """Renew the copy's open loan (by barcode or loan id); the loan described."""
    desk = desk_branch(session, principal, branch_id)
    field = "barcode" if barcode else "loan_id"
    with _desk(session, principal, fields={"loan": field, "card": field}):
        loan = _loan_to_renew(session, barcode, loan_id)
        renew(session, loan, at=clock.now())
        item = _item(session, loan.municipality_id, loan.item_id)
        patron = session.get(Patron, (loan.patron_municipality_id, loan.patron_id))
        branch = session.get(Branch, (loan.branch_municipality_id, loan.branch_id))
        assert patron is not None and branch is not None
        _audit(session, principal, "library.renew", item, desk, loan)
        # Renewed by barcode: another municipality's patron is shown only in part.
        return _describe_loan(session, loan, item, patron, branch, desk, card_shown=False)


def transit_at_desk(session: Session, principal: Principal,
                    branch_id: uuid.UUID | None) -> dict[str, Any]:
    """Copies on their way to and from the librarian's branch, oldest first."""
    branch = desk_branch(session, principal, branch_id, location="query")
    at = clock.now()
    with _desk(session, principal):
        incoming = transit_list(session, branch.id, at=at, direction="incoming")
        outgoing = transit_list(session, branch.id, at=at, direction="outgoing")
        described = _Describer(session, branch)
        return {"branch": described.branch(branch),
                "incoming": [described.in_transit(entry, at) for entry in incoming],
                "outgoing": [described.in_transit(entry, at) for entry in outgoing]}


def hold_shelf_at_desk(session: Session, principal: Principal,
                       branch_id: uuid.UUID | None) -> dict[str, Any]:
    """The holds ready on the librarian's branch's hold shelf."""
    branch = desk_branch(session, principal, branch_id, location="query")
    with _desk(session, principal):
        described = _Describer(session, branch)
        waiting = hold_shelf(session, branch, at=clock.now())
        return {"branch": described.branch(branch), "holds": [
            {"hold_id": described.own_id(entry.hold), "barcode": entry.item.barcode,
             "title": described.title(entry.item),
             "municipality": described.slug(entry.item.municipality_id),
             "patron": described.patron_of(entry.hold), "ready_at": entry.hold.ready_at,
             "expires_on": entry.expires_on, "expired": entry.expired}
            for entry in waiting]}


def patron_at_desk(session: Session, principal: Principal, card_number: str,
                   branch_id: uuid.UUID | None) -> dict[str, Any]:
    """The card's patron, with why they may not borrow at this desk, loans and fines."""
    branch = desk_branch(session, principal, branch_id, location="query")
    with _desk(session, principal, fields={"card_number": "card_number"}, location="path"):
        patron = find_patron(session, card_number)
        at = clock.now()
        found = blocks(session, patron, branch.municipality_id, ANY, at)
        described = _Describer(session, branch)
        home = session.get(Branch, (patron.municipality_id, patron.home_branch_id))
        assert home is not None
        return {"id": described.own_id(patron),
                "municipality": described.slug(patron.municipality_id),
                "card_number": patron.card_number, "name": patron.name,
                "category": patron.category, "card_expires_on": patron.card_expires_on,
                "home_branch": described.branch(home),
                "loans": open_loan_count(session, patron),
                "fines": open_fines(session, patron), "blocked": bool(found),
                "blocks": [{"field": "card_number", "reason": block.message}
                           for block in found]}


# --- private helpers -------------------------------------------------------------------


@contextmanager
def _desk(session: Session, principal: Principal, *, fields: dict[str, str] | None = None,
          location: str = "json") -> Iterator[None]:
    """Inside the circulation crossing; a refusal becomes the API's error, naming the field
    the caller sent (``fields`` maps the refusal's field to it). Everything the desk changed
    is flushed before the crossing closes: the ordinary scope could not write it."""
    with circulation(session, principal):
        try:
            yield
        except Refusal as refusal:
            field = (fields or {}).get(refusal.field, refusal.field)
            raise ApiError(refusal.status, refusal.message, field=field,
                           location=location) from refusal
        session.flush()


def _loan_to_renew(session: Session, barcode: str | None, loan_id: uuid.UUID | None) -> Loan:
    if barcode:
        item = find_item(session, barcode)
        loan = open_loan(session, item)
        if loan is None:
            raise Refusal("barcode", "The copy is not on loan.")
        return loan
    loan = session.scalar(select(Loan).where(Loan.id == loan_id))
    if loan is None:
        raise Refusal("loan_id", "No such loan.", status=404)
    return loan


def _item(session: Session, municipality_id: uuid.UUID, item_id: uuid.UUID) -> Item:
    item = session.get(Item, (municipality_id, item_id))
    assert item is not None
    return item


def _audit(session: Session, principal: Principal, what: str, item: Item, branch: Branch,
           loan: Loan | None, **details: Any) -> None:
    record(session, what, municipality_id=item.municipality_id, actor=principal.username,
           actor_user_id=principal.user_id, subject=f"item:{item.id}",
           details={"barcode": item.barcode, "branch": branch.code,
                    "branch_municipality_id": str(branch.municipality_id),
                    "loan_id": str(loan.id) if loan else None, **details})


def _describe_loan(session: Session, loan: Loan, item: Item, patron: Patron,
                   branch: Branch, desk: Branch, *, card_shown: bool = True
                   ) -> dict[str, Any]:
    """The loan as ``desk`` sees it; ``branch`` is where it was made. The patron is shown
    in full when they showed their card (or are the desk municipality's own)."""
    described = _Describer(session, desk)
    rule = rule_for(session, item.municipality_id, patron.category, item.media_type)
    record_ = described.record(item)
    return {"loan_id": described.own_id(loan),
            "municipality": described.slug(loan.municipality_id),
            "barcode": item.barcode, "title": record_.title, "author": record_.author,
            "due_at": loan.due_at, "due_date": library_day(loan.due_at),
            "renewals": loan.renewals, "renewals_allowed": rule.renewals,
            "patron": described.patron(patron, full=card_shown), "branch": described.branch(branch)}


def _describe_checkin(session: Session, back: CheckIn, branch: Branch) -> dict[str, Any]:
    described = _Describer(session, branch)
    hold = None
    if back.hold is not None:
        pickup = described.branch_at(back.hold.pickup_municipality_id,
                                     back.hold.pickup_branch_id)
        hold = {"id": described.own_id(back.hold),
                "municipality": described.slug(back.hold.municipality_id),
                "status": back.hold.status, "pickup_branch": pickup,
                "shelf_expires_on": back.hold.shelf_expires_on,
                "patron": described.patron_of(back.hold)}
    fine = None
    if back.fine is not None:
        fine = {"amount": back.fine.amount, "reason": back.fine.reason,
                "municipality": described.slug(back.fine.municipality_id)}
    destination = described.branch(back.destination) if back.destination else None
    return {"barcode": back.item.barcode, "title": described.title(back.item),
            "municipality": described.slug(back.item.municipality_id), "action": back.action,
            "instruction": _instruction(back, destination), "destination": destination,
            "returned": back.loan is not None, "hold": hold, "fine": fine,
            "branch": described.branch(branch)}


def _instruction(back: CheckIn, destination: dict[str, Any] | None) -> str:
    if back.action == "transit" and destination is not None:
        return f"Send to {destination['name']} ({destination['municipality']})."
    if back.action == "hold_shelf":
        return "Put it on the hold shelf here."
    return "Shelve it here."


class _Describer:
    """Names of what the desk shows, each looked up once per request."""

    def __init__(self, session: Session, desk: Branch) -> None:
        self.session = session
        self.desk = desk
        self._slugs: dict[uuid.UUID, str] | None = None

    def slug(self, municipality_id: uuid.UUID) -> str:
        if self._slugs is None:
            self._slugs = dict(self.session.execute(select(Municipality.id,
                                                           Municipality.slug)).all())
        return self._slugs[municipality_id]

    def own_id(self, row: Branch | Hold | Loan | Patron) -> uuid.UUID | None:
        """The row's id if it is the desk's municipality's, else None."""
        return row.id if row.municipality_id == self.desk.municipality_id else None

    def branch(self, branch: Branch) -> dict[str, Any]:
        return {"id": self.own_id(branch), "code": branch.code, "name": branch.name,
                "municipality": self.slug(branch.municipality_id)}

    def branch_at(self, municipality_id: uuid.UUID | None,
                  branch_id: uuid.UUID | None) -> dict[str, Any] | None:
        if municipality_id is None or branch_id is None:
            return None
        found = self.session.get(Branch, (municipality_id, branch_id))
        return self.branch(found) if found is not None else None

    def record(self, item: Item) -> BibRecord:
        found = self.session.get(BibRecord, item.record_id)
        assert found is not None
        return found

    def title(self, item: Item) -> str:
        return self.record(item).title

    def patron(self, patron: Patron, *, full: bool) -> dict[str, Any]:
        """The patron in full, or (another municipality's) by card digits and initial."""
        if full or patron.municipality_id == self.desk.municipality_id:
            return {"card": patron.card_number, "name": patron.name, "full": True,
                    "municipality": self.slug(patron.municipality_id)}
        return {"card": "…" + patron.card_number[-CARD_DIGITS_SHOWN:],
                "name": patron.name.strip()[:1] + ".", "full": False,
                "municipality": self.slug(patron.municipality_id)}

    def patron_of(self, hold: Hold) -> dict[str, Any]:
        patron = self.session.get(Patron, (hold.municipality_id, hold.patron_id))
        assert patron is not None
        return self.patron(patron, full=False)

    def in_transit(self, entry: InTransit, at: datetime) -> dict[str, Any]:
        item = entry.item
        held = self.session.scalar(select(Hold.id).where(
            Hold.item_municipality_id == item.municipality_id, Hold.item_id == item.id,
            Hold.status == "in_transit"))
        return {"barcode": item.barcode, "title": self.title(item),
                "municipality": self.slug(item.municipality_id),
                "source": self.branch_at(item.location_municipality_id,
                                         item.location_branch_id),
                "destination": self.branch_at(item.transit_municipality_id,
                                              item.transit_branch_id),
                "since": entry.since,
                "age_days": (library_day(at) - library_day(entry.since)).days,
                "alert_days": entry.alert_days, "stuck": entry.overdue,
                "for_hold": held is not None}
