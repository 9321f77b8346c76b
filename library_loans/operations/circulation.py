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
from library_loans.operations.holds import (
    capture,
    first_in_line,
    make_ready,
    next_hold_for,
    queue_at,
)
from library_loans.operations.movement import arrive_at, unload
from library_loans.operations.rules import (
    Refusal,
    Rule,
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
    # The card and its patron in one statement: the desk looks a card up for every loan.
    patron = session.scalar(
        select(Patron).join(LibraryCard, (LibraryCard.municipality_id == Patron.municipality_id)
                            & (LibraryCard.patron_id == Patron.id))
        .where(LibraryCard.card_number == card_number.strip()))
    if patron is None:
        raise Refusal("card_number", "No patron has this library card.", status=404)
    return patron


def checkout(session: Session, barcode: str, patron: Patron, branch: Branch, *,
             at: datetime | None = None) -> Loan:
    """Lend the copy to ``patron`` at ``branch``, by the owning municipality's rules."""
    at = at or clock.now()
    item = find_item(session, barcode)
    rule = rule_for(session, item.municipality_id, patron.category, item.media_type)
    owed, lent = _standing(session, patron)
    found = _blocks(patron, rule, owed, lent, at)
    if found:
        raise found[0]
    # Only a copy on a hold shelf has a hold ready with it (capturing puts it there, and
    # a librarian cannot set a circulating copy's status by hand).
    hold = _hold_collected(session, item, patron) if item.status == "on_hold_shelf" else None
    if item.status not in ("available", "on_hold_shelf") or (
            item.status == "on_hold_shelf" and hold is None):
        raise Refusal("barcode", _why_not_lendable(item))
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
    # Everything the check-in changes is written in one flush at the end, not as each
    # look-up after the first change would flush it.
    with session.no_autoflush:
        loan, borrower = _open_loan_and_borrower(session, item)
        caught, waiting = queue_at(session, item)
        fine = _close_loan(session, loan, borrower, item, at) if loan is not None else None
        arrive_at(item, branch)
        action, destination, hold = _put_away(session, item, branch, caught, waiting, at)
        session.flush()
    if loan is not None and borrower is not None:
        # Counted last: every desk returning this month's loans of one owner, borrowers'
        # municipality and media type adds to one row, held until the transaction ends.
        _count_for_statistics(session, item, borrower, at)
    return CheckIn(item, loan, action, destination, hold, fine)


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
    rule = rule_for(session, owner_id, patron.category, media_type)
    owed, lent = _standing(session, patron)
    return _blocks(patron, rule, owed, lent, at, renewing=renewing)


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


def _blocks(patron: Patron, rule: Rule, owed: Decimal, lent: int, at: datetime, *,
            renewing: bool = False) -> list[Refusal]:
    found = []
    if library_day(at) > patron.card_expires_on:
        found.append(Refusal("card", "The library card has expired: renew it at the desk."))
    if rule.block_threshold is not None and owed >= rule.block_threshold:
        found.append(Refusal("card", f"Unpaid fines of {owed} kr block borrowing "
                                     f"(the limit is {rule.block_threshold} kr)."))
    if not renewing and lent >= rule.max_loans:
        found.append(Refusal("card", f"The patron already has {lent} loans, "
                                     "the most allowed."))
    return found


def _standing(session: Session, patron: Patron) -> tuple[Decimal, int]:
    """What the patron owes and how many copies they have, in every municipality: one
    statement, as every check-out asks both."""
    owed = select(func.coalesce(func.sum(Fine.amount), 0)).where(
        Fine.patron_municipality_id == patron.municipality_id, Fine.patron_id == patron.id,
        Fine.settled_at.is_(None)).scalar_subquery()
    lent = select(func.count()).select_from(Loan).where(
        Loan.patron_municipality_id == patron.municipality_id, Loan.patron_id == patron.id,
        Loan.returned_at.is_(None)).scalar_subquery()
    row = session.execute(select(owed, lent)).one()
    return row[0] or Decimal("0"), row[1] or 0


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


def _open_loan_and_borrower(session: Session, item: Item) -> tuple[Loan | None, Patron | None]:
    # Read after the copy is locked: a desk that took it back just now has closed it.
    row = session.execute(
        select(Loan, Patron).outerjoin(Patron, (
            Patron.municipality_id == Loan.patron_municipality_id) & (
            Patron.id == Loan.patron_id))
        .where(Loan.municipality_id == item.municipality_id, Loan.item_id == item.id,
               Loan.returned_at.is_(None))).first()
    return (row[0], row[1]) if row is not None else (None, None)


def _put_away(session: Session, item: Item, branch: Branch, caught: Hold | None,
              waiting: list[tuple[Hold, Patron]], at: datetime
              ) -> tuple[str, Branch | None, Hold | None]:
    """Where the copy just taken back at ``branch`` goes: the action, where to, for whom."""
    if caught is not None and caught.status == "in_transit" and (
            caught.pickup_municipality_id, caught.pickup_branch_id) == (
            branch.municipality_id, branch.id):  # it reached the pickup branch of its hold
        make_ready(session, caught, item, at=at)
        return "hold_shelf", None, caught
    if caught is not None and caught.status == "ready":  # scanned on its hold shelf
        return "hold_shelf", None, caught
    if caught is not None:  # caught for a hold elsewhere: keep it on its way
        return "transit", _branch(session, item.transit_municipality_id,
                                  item.transit_branch_id), caught
    hold = first_in_line(session, item, waiting, at=at)
    if hold is not None:
        # Looked up (and kept) before the capture, which then finds it in the session.
        pickup = _branch(session, hold.pickup_municipality_id, hold.pickup_branch_id)
        capture(session, hold, item, at=at)
        return ("hold_shelf", None, hold) if hold.status == "ready" else (
            "transit", pickup, hold)
    unload(session, item, at)
    if item.status == "in_transit":
        return "transit", _branch(session, item.transit_municipality_id,
                                  item.transit_branch_id), None
    return "shelve", None, None


def _close_loan(session: Session, loan: Loan, patron: Patron | None, item: Item,
                at: datetime) -> Fine | None:
    assert patron is not None
    loan.returned_at = at
    fine = _fine_for(session, loan, item, patron, at)
    if not patron.keeps_history:
        loan.patron_municipality_id = loan.patron_id = None
    if fine is not None:
        session.add(fine)
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


def _branch(session: Session, municipality_id: uuid.UUID | None,
            branch_id: uuid.UUID | None) -> Branch | None:
    if municipality_id is None or branch_id is None:
        return None
    return session.get(Branch, (municipality_id, branch_id))
