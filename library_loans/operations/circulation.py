"""The desk: check out, check in and renew by barcode at any branch of the consortium.

Runs in a scope covering every library municipality (the librarian's circulation
crossing): a Vindeln copy is returned in Vännäs. The owning municipality's rules govern the
copy: loan period, renewals, fines, whether it floats or goes home.

Privacy: a returned loan forgets its patron unless the patron chose to keep their history;
what statistics need (owner × borrower's municipality × media type × month) is counted
at check-in with no link to anyone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from library_loans.models import Branch, Fine, Hold, Item, LibraryCard, Loan, LoanStatistic, Patron
from library_loans.operations.holds import capture, make_ready, next_hold_for
from library_loans.operations.movement import arrive_at, unload
from library_loans.operations.rules import (
    Refusal,
    age_on,
    due_after,
    library_day,
    rule_for,
)
from services import clock
from services.ids import uuid7


@dataclass(frozen=True)
class CheckIn:
    """What the desk must do with a copy just checked in, and what happened to its loan."""

    item: Item
    loan: Loan | None
    action: str
    """``shelve`` (here), ``hold_shelf`` (here, for a hold), ``transit`` (to ``destination``)."""
    destination: Branch | None
    hold: Hold | None
    fine: Fine | None


def find_item(session: Session, barcode: str) -> Item:
    """The copy with ``barcode`` among the scope's municipalities, locked for the desk."""
    barcode = barcode.strip()
    # Locked until the desk's transaction ends: two desks scanning one copy take turns.
    found = session.scalars(select(Item).where(Item.barcode == barcode).with_for_update()
                            .execution_options(populate_existing=True)).all()
    if not found:
        raise Refusal("barcode", f"No copy has the barcode {barcode!r}.", status=404)
    if len(found) > 1:
        raise Refusal("barcode", f"Several municipalities' copies have the barcode {barcode!r}: "
                                 "check it in where it belongs.")
    return found[0]


def find_patron(session: Session, card_number: str) -> Patron:
    """The patron holding library card ``card_number`` (the consortium's card register)."""
    card = session.get(LibraryCard, card_number.strip())
    patron = card and session.get(Patron, (card.municipality_id, card.patron_id))
    if patron is None:
        raise Refusal("card_number", "No patron has this library card.", status=404)
    return patron


def checkout(session: Session, barcode: str, patron: Patron, branch: Branch, *,
             at: datetime | None = None) -> Loan:
    """Lend the copy to ``patron`` at ``branch``, by the owning municipality's rules."""
    at = at or clock.now()
    item = find_item(session, barcode)
    _refuse_blocked(session, patron, item, at)
    hold = _hold_collected(session, item, patron)
    if item.status not in ("available", "on_hold_shelf") or (
            item.status == "on_hold_shelf" and hold is None):
        raise Refusal("barcode", _why_not_lendable(item))
    rule = rule_for(session, item.municipality_id, patron.category, item.media_type)
    loan = Loan(municipality_id=item.municipality_id, item_id=item.id,
                patron_municipality_id=patron.municipality_id, patron_id=patron.id,
                branch_municipality_id=branch.municipality_id, branch_id=branch.id,
                checked_out_at=at, due_at=due_after(at, rule.loan_days))
    session.add(loan)
    if hold is not None:
        hold.status, hold.closed_at = "fulfilled", at
    item.status, item.status_changed_at = "on_loan", at
    arrive_at(item, branch)
    item.transit_municipality_id = item.transit_branch_id = None
    session.flush()
    return loan


def checkin(session: Session, barcode: str, branch: Branch, *,
            at: datetime | None = None) -> CheckIn:
    """Take the copy back at ``branch``: close its loan, then shelve, hold or send it."""
    at = at or clock.now()
    item = find_item(session, barcode)
    loan = open_loan(session, item)
    fine = _close_loan(session, loan, item, at) if loan is not None else None
    arrive_at(item, branch)
    waiting_for = _hold_in_transit_to(session, item, branch)
    if waiting_for is not None:  # the copy reached the pickup branch of its hold
        make_ready(session, waiting_for, item, at=at)
        session.flush()
        return CheckIn(item, loan, "hold_shelf", None, waiting_for, fine)
    captured = _still_captured(session, item)
    if captured is not None and captured.status == "ready":  # scanned on its hold shelf
        return CheckIn(item, loan, "hold_shelf", None, captured, fine)
    if captured is not None:  # caught for a hold elsewhere: keep it on its way
        return CheckIn(item, loan, "transit", _branch(session, item.transit_municipality_id,
                                                      item.transit_branch_id), captured, fine)
    hold = next_hold_for(session, item, at=at)
    if hold is not None:
        capture(session, hold, item, at=at)
        action = "hold_shelf" if hold.status == "ready" else "transit"
        destination = None if action == "hold_shelf" else _branch(
            session, hold.pickup_municipality_id, hold.pickup_branch_id)
        return CheckIn(item, loan, action, destination, hold, fine)
    unload(session, item, at)
    session.flush()
    if item.status == "in_transit":
        return CheckIn(item, loan, "transit", _branch(session, item.transit_municipality_id,
                                                      item.transit_branch_id), None, fine)
    return CheckIn(item, loan, "shelve", None, None, fine)


def renew(session: Session, loan: Loan, *, at: datetime | None = None) -> Loan:
    """A new loan period from today, if the rules allow and nobody waits for the title."""
    at = at or clock.now()
    if loan.returned_at is not None:
        raise Refusal("loan", "The loan has already been returned.")
    item = session.get(Item, (loan.municipality_id, loan.item_id))
    patron = session.get(Patron, (loan.patron_municipality_id, loan.patron_id))
    assert item is not None and patron is not None
    rule = rule_for(session, item.municipality_id, patron.category, item.media_type)
    if loan.renewals >= rule.renewals:
        raise Refusal("loan", f"The loan has been renewed {loan.renewals} times, "
                              "as many as its library allows.")
    if next_hold_for(session, item, at=at) is not None:
        raise Refusal("loan", "Someone has reserved this title: it cannot be renewed.")
    _refuse_blocked(session, patron, item, at, renewing=True)
    loan.renewals += 1
    loan.due_at = max(loan.due_at, due_after(at, rule.loan_days))
    session.flush()
    return loan


def blocks(session: Session, patron: Patron, owner_id: uuid.UUID, media_type: str,
           at: datetime, *, renewing: bool = False) -> list[Refusal]:
    """Why ``patron`` may not borrow (or renew) a copy of ``owner_id``: expired card, fines
    at the owner's block threshold, as many loans as the owner allows. Empty: no block."""
    found = []
    if library_day(at) > patron.card_expires_on:
        found.append(Refusal("card", "The library card has expired: renew it at the desk."))
    rule = rule_for(session, owner_id, patron.category, media_type)
    owed = open_fines(session, patron)
    if rule.block_threshold is not None and owed >= rule.block_threshold:
        found.append(Refusal("card", f"Unpaid fines of {owed} kr block borrowing "
                                     f"(the limit is {rule.block_threshold} kr)."))
    if not renewing:
        lent = open_loan_count(session, patron)
        if lent >= rule.max_loans:
            found.append(Refusal("card", f"The patron already has {lent} loans, "
                                         "the most allowed."))
    return found


def open_loan(session: Session, item: Item) -> Loan | None:
    """The copy's loan that has not been returned, if it is lent out."""
    return session.scalar(select(Loan).where(Loan.municipality_id == item.municipality_id,
                                             Loan.item_id == item.id,
                                             Loan.returned_at.is_(None)))


def open_loan_count(session: Session, patron: Patron) -> int:
    """How many copies the patron has borrowed and not returned, in every municipality."""
    return session.scalar(select(func.count()).select_from(Loan).where(
        Loan.patron_municipality_id == patron.municipality_id,
        Loan.patron_id == patron.id, Loan.returned_at.is_(None))) or 0


def open_fines(session: Session, patron: Patron) -> Decimal:
    """What the patron owes, all municipalities together."""
    return session.scalar(select(func.coalesce(func.sum(Fine.amount), 0)).where(
        Fine.patron_municipality_id == patron.municipality_id, Fine.patron_id == patron.id,
        Fine.settled_at.is_(None))) or Decimal("0")


# --- private helpers -------------------------------------------------------------------


def _refuse_blocked(session: Session, patron: Patron, item: Item, at: datetime, *,
                    renewing: bool = False) -> None:
    found = blocks(session, patron, item.municipality_id, item.media_type, at,
                   renewing=renewing)
    if found:
        raise found[0]


def _hold_collected(session: Session, item: Item, patron: Patron) -> Hold | None:
    return session.scalar(select(Hold).where(
        Hold.item_municipality_id == item.municipality_id, Hold.item_id == item.id,
        Hold.status == "ready", Hold.municipality_id == patron.municipality_id,
        Hold.patron_id == patron.id))


def _why_not_lendable(item: Item) -> str:
    return {
        "on_loan": "The copy is on loan: check it in first.",
        "on_hold_shelf": "The copy is on the hold shelf for another patron.",
        "in_transit": "The copy is in transit: check it in first.",
    }.get(item.status, f"The copy is {item.status.replace('_', ' ')} and cannot be lent.")


def _close_loan(session: Session, loan: Loan, item: Item, at: datetime) -> Fine | None:
    patron = session.get(Patron, (loan.patron_municipality_id, loan.patron_id))
    assert patron is not None
    loan.returned_at = at
    _count_for_statistics(session, item, patron, at)
    fine = _fine_for(session, loan, item, patron, at)
    if not patron.keeps_history:
        loan.patron_municipality_id = loan.patron_id = None
    if fine is not None:
        session.add(fine)
    session.flush()
    return fine


def _fine_for(session: Session, loan: Loan, item: Item, patron: Patron,
              at: datetime) -> Fine | None:
    days_late = (library_day(at) - library_day(loan.due_at)).days
    if days_late <= 0:
        return None
    rule = rule_for(session, item.municipality_id, patron.category, item.media_type)
    age = age_on(patron.birth_date, library_day(at))
    if rule.fine_per_day <= 0 or (rule.fines_from_age is not None and age is not None
                                  and age < rule.fines_from_age):
        return None
    amount = rule.fine_per_day * days_late
    if rule.fine_cap > 0:
        amount = min(amount, rule.fine_cap)
    return Fine(municipality_id=item.municipality_id, loan_id=loan.id,
                patron_municipality_id=patron.municipality_id, patron_id=patron.id,
                amount=amount, reason=f"{days_late} days late", created_at=at)


def _count_for_statistics(session: Session, item: Item, patron: Patron, at: datetime) -> None:
    month = library_day(at).replace(day=1)
    connection = session.connection()
    insert = sqlite_insert if connection.dialect.name == "sqlite" else postgresql_insert
    table = LoanStatistic.__table__
    statement = insert(table).values(
        municipality_id=item.municipality_id, id=uuid7(),
        borrower_municipality_id=patron.municipality_id, media_type=item.media_type,
        month=month, loans=1)
    connection.execute(statement.on_conflict_do_update(
        index_elements=["municipality_id", "borrower_municipality_id", "media_type", "month"],
        set_={"loans": table.c.loans + 1}))


def _hold_in_transit_to(session: Session, item: Item, branch: Branch) -> Hold | None:
    return session.scalar(select(Hold).where(
        Hold.item_municipality_id == item.municipality_id, Hold.item_id == item.id,
        Hold.status == "in_transit", Hold.pickup_municipality_id == branch.municipality_id,
        Hold.pickup_branch_id == branch.id))


def _still_captured(session: Session, item: Item) -> Hold | None:
    return session.scalar(select(Hold).where(
        Hold.item_municipality_id == item.municipality_id, Hold.item_id == item.id,
        Hold.status.in_(("in_transit", "ready"))))


def _branch(session: Session, municipality_id: uuid.UUID | None,
            branch_id: uuid.UUID | None) -> Branch | None:
    if municipality_id is None or branch_id is None:
        return None
    return session.get(Branch, (municipality_id, branch_id))
