"""Holds: one queue per title, fair and visible; a free copy goes to the first hold it can fill.

Who goes first: holds in the order they were placed, except that a municipality whose rule
gives its own patrons priority serves them first with its own copies. A copy chosen for a
hold is the free one with the least transport to the pickup branch (same branch, then same
municipality, then by the travel-cost table). Every function here runs in a scope that
covers every library municipality (:func:`library_loans.access.consortium`): a queue spans
the consortium.

Races: a copy fills exactly one hold and a hold is filled by at most one copy. The item and
the hold carry version counters (a concurrent change fails the flush instead of being
lost) and the database refuses a second active hold on one copy (``uq_library_holds_item``).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeVar

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from library_loans.models import (
    ACTIVE_HOLD_STATUSES,
    ANY,
    BibRecord,
    Branch,
    Hold,
    Item,
    Loan,
    Patron,
    TravelCost,
)
from library_loans.operations.movement import send_to, shelve_for_hold, unload
from library_loans.operations.rules import Refusal, item_rule, library_day, rule_for
from services import clock

_SAME_BRANCH, _SAME_MUNICIPALITY, _ELSEWHERE = 0, 1, 2
_CHUNK = 500
"""Titles per statement when the queues of many are read at once."""
_CAUGHT = ("in_transit", "ready")
"""The statuses of a hold that has caught a copy (the copy is on its way or on the shelf)."""
T = TypeVar("T", Hold, Item)


@dataclass(frozen=True)
class QueuePlace:
    """Where a hold stands: its true position, how many wait, and an honest estimate."""

    position: int
    waiting: int
    copies: int
    estimated_days: int | None
    """None when no copy that can fill it exists (the estimate would be a guess)."""


def place_hold(session: Session, patron: Patron, record: BibRecord, pickup: Branch, *,
               at: datetime | None = None) -> Hold:
    """Queue ``patron`` for ``record`` with pickup at ``pickup``; fill it now if a copy is free."""
    at = at or clock.now()
    if not pickup.pickup:
        raise Refusal("pickup_branch", f"{pickup.name} does not hand out holds.", status=422)
    if library_day(at) > patron.card_expires_on:
        raise Refusal("card", "The library card has expired: renew it at a library.")
    if not _holdable_copies(session, record.id, patron):
        raise Refusal("record", "No library lends this title out to be reserved.")
    active = session.scalar(select(Hold.id).where(
        Hold.patron_id == patron.id, Hold.municipality_id == patron.municipality_id,
        Hold.record_id == record.id, Hold.status.in_(ACTIVE_HOLD_STATUSES)))
    if active is not None:
        raise Refusal("record", "You already have a reservation for this title.")
    hold = Hold(municipality_id=patron.municipality_id, record_id=record.id,
                patron_id=patron.id, pickup_municipality_id=pickup.municipality_id,
                pickup_branch_id=pickup.id, placed_at=at)
    session.add(hold)
    session.flush()
    _fill_from_free_copies(session, hold, patron, at)
    return hold


def cancel_hold(session: Session, hold: Hold, *, at: datetime | None = None) -> None:
    """Leave the queue; a copy already caught for the hold passes on to the next in line."""
    at = at or clock.now()
    if hold.status not in ACTIVE_HOLD_STATUSES:
        raise Refusal("hold", "The reservation is no longer active.")
    item = _item_of(session, hold)
    _close(hold, "cancelled", at)
    if item is not None:
        pass_on(session, item, at=at)


def suspend_hold(session: Session, hold: Hold, until: date | None) -> None:
    """Keep the place in the queue but let others pass until ``until`` (None: resume)."""
    if hold.status != "waiting":
        raise Refusal("hold", "Only a reservation that is still waiting can be paused.")
    hold.suspended_until = until


def change_pickup(session: Session, hold: Hold, pickup: Branch, *,
                  at: datetime | None = None) -> None:
    """Pick up somewhere else; a caught copy is re-routed there."""
    at = at or clock.now()
    if hold.status not in ACTIVE_HOLD_STATUSES:
        raise Refusal("hold", "The reservation is no longer active.")
    if not pickup.pickup:
        raise Refusal("pickup_branch", f"{pickup.name} does not hand out holds.", status=422)
    hold.pickup_municipality_id, hold.pickup_branch_id = pickup.municipality_id, pickup.id
    item = _item_of(session, hold)
    if item is not None and (item.location_municipality_id, item.location_branch_id) != (
            pickup.municipality_id, pickup.id):
        hold.status, hold.ready_at, hold.shelf_expires_on = "in_transit", None, None
        send_to(item, pickup, at)


def next_hold_for(session: Session, item: Item, *, at: datetime | None = None) -> Hold | None:
    """The first waiting hold ``item`` can fill, in the queue's order for this copy."""
    return first_in_line(session, item, _waiting(session, item.record_id), at=at)


def first_in_line(session: Session, item: Item, waiting: Sequence[tuple[Hold, Patron]], *,
                  at: datetime | None = None) -> Hold | None:
    """The first of ``waiting`` (the title's waiting holds and their patrons, in the order
    placed, as :func:`queue_at` gives them) that ``item`` can fill, locked for this
    transaction."""
    today = library_day(at or clock.now())
    eligible = [hold for hold, patron in waiting
                if (hold.suspended_until is None or hold.suspended_until <= today)
                and _lends_to(session, item, patron)]
    if item_rule(session, item).local_priority:
        eligible.sort(key=lambda hold: hold.municipality_id != item.municipality_id)
    # A copy returned at the same moment elsewhere takes the next in line.
    return _first_still(session, Hold, eligible, "waiting")


def queue_at(session: Session, item: Item) -> tuple[Hold | None, list[tuple[Hold, Patron]]]:
    """The hold that caught ``item`` (in transit for it or on a hold shelf with it), if any,
    and the title's waiting holds with their patrons, in the order placed.

    One statement for both, as every check-in asks both.
    """
    rows = session.execute(
        select(Hold, Patron).join(Patron, _patron_of_hold())
        .where(or_(and_(Hold.item_municipality_id == item.municipality_id,
                        Hold.item_id == item.id, Hold.status.in_(_CAUGHT)),
                   and_(Hold.record_id == item.record_id, Hold.status == "waiting")))
        .order_by(Hold.placed_at, Hold.id)).all()
    caught = next((hold for hold, _ in rows if hold.status in _CAUGHT), None)
    return caught, [(hold, patron) for hold, patron in rows if hold.status == "waiting"]


def capture(session: Session, hold: Hold, item: Item, *, at: datetime | None = None) -> None:
    """Set ``item`` aside for ``hold``: onto the hold shelf here, or in transit to pickup."""
    at = at or clock.now()
    pickup = session.get(Branch, (hold.pickup_municipality_id, hold.pickup_branch_id))
    assert pickup is not None
    at_pickup = _catch(session, hold, item, pickup, at)
    session.flush()
    if at_pickup:
        _tell_patron(session, hold, at)


def make_ready(session: Session, hold: Hold, item: Item, *, at: datetime | None = None) -> None:
    """The copy is on the pickup branch's hold shelf: the patron may collect it."""
    at = at or clock.now()
    _ready(hold, item, at, item_rule(session, item).hold_shelf_days)
    session.flush()
    _tell_patron(session, hold, at)


def pass_on(session: Session, item: Item, *, at: datetime | None = None) -> Hold | None:
    """A copy no hold keeps any more: to the next hold it can fill, or home or to the shelf."""
    at = at or clock.now()
    hold = next_hold_for(session, item, at=at)
    if hold is not None:
        capture(session, hold, item, at=at)
        return hold
    unload(session, item, at)
    return None


def expire_uncollected(session: Session, *, at: datetime | None = None) -> int:
    """Close holds left on the hold shelf past their last day; their copies pass on."""
    at = at or clock.now()
    today = library_day(at)
    expired = session.scalars(select(Hold).where(Hold.status == "ready",
                                                 Hold.shelf_expires_on < today)).all()
    for hold in expired:
        item = _item_of(session, hold)
        _close(hold, "expired", at)
        session.flush()
        if item is not None:
            pass_on(session, item, at=at)
    return len(expired)


def retarget(session: Session, *, at: datetime | None = None,
             record_ids: list[uuid.UUID] | None = None) -> int:
    """Give waiting holds the copies that are free, and re-route copies that never arrived.

    A copy in transit for a hold longer than its rule's alert days is marked missing and
    the hold goes back to waiting, keeping its place; then every title with waiting holds
    and free copies is served, first in line first. Returns how many holds were filled.
    """
    at = at or clock.now()
    for hold, item in _stuck_in_transit(session, at, record_ids):
        hold.status, hold.item_municipality_id, hold.item_id = "waiting", None, None
        hold.captured_at = None
        item.status, item.transit_municipality_id, item.transit_branch_id = (
            "missing", None, None)
        item.status_changed_at = at
    session.flush()
    return _serve_free_copies(session, at, record_ids)


def queue_place(session: Session, hold: Hold, *, at: datetime | None = None) -> QueuePlace:
    """The hold's true place: how many the copies that can fill it will serve before it."""
    waiting = session.scalars(
        select(Hold).where(Hold.record_id == hold.record_id, Hold.status == "waiting")
        .order_by(Hold.placed_at, Hold.id)).all()
    patron = session.get(Patron, (hold.municipality_id, hold.patron_id))
    assert patron is not None
    copies = _holdable_copies(session, hold.record_id, patron)
    if hold.status != "waiting":
        return QueuePlace(0, len(waiting), len(copies), 0)
    best = len(waiting)
    for owner in {copy.municipality_id for copy in copies}:
        ahead = _ahead_for_owner(session, waiting, hold, owner, copies[0].media_type)
        best = min(best, ahead + 1)
    return QueuePlace(best, len(waiting), len(copies), _estimate(session, hold, best, copies))


def holds_of(session: Session, patron: Patron, *, at: datetime | None = None
             ) -> list[tuple[Hold, QueuePlace]]:
    """The patron's active holds, oldest first, each with its true place in the queue."""
    holds = session.scalars(select(Hold).where(
        Hold.municipality_id == patron.municipality_id, Hold.patron_id == patron.id,
        Hold.status.in_(ACTIVE_HOLD_STATUSES)).order_by(Hold.placed_at, Hold.id)).all()
    return [(hold, queue_place(session, hold, at=at)) for hold in holds]


def patron_hold(session: Session, patron: Patron, hold_id: uuid.UUID) -> Hold | None:
    """The patron's own hold ``hold_id`` (None when it is nobody's or someone else's)."""
    return session.scalar(select(Hold).where(
        Hold.municipality_id == patron.municipality_id, Hold.patron_id == patron.id,
        Hold.id == hold_id))


# --- private helpers -------------------------------------------------------------------


def _fill_from_free_copies(session: Session, hold: Hold, patron: Patron, at: datetime) -> None:
    best = _best_free_copy(session, hold, at)
    if best is None:
        return
    # A free copy goes to the first in line it can fill, which is this hold unless others
    # wait unfilled (suspended until today, or a priority this copy's owner gives).
    first = next_hold_for(session, best, at=at)
    if first is not None:
        capture(session, first, best, at=at)


def _best_free_copy(session: Session, hold: Hold, at: datetime) -> Item | None:
    free = session.scalars(select(Item).where(Item.record_id == hold.record_id,
                                              Item.status == "available")).all()
    return _best_of(session, hold, free, _travel_costs(session, hold.pickup_municipality_id))


def _best_of(session: Session, hold: Hold, free: Sequence[Item],
             costs: dict[uuid.UUID, int]) -> Item | None:
    """Of the ``free`` copies that may fill ``hold``, the one with the least transport to
    its pickup branch (``costs``: the travel costs there) that is still free, locked."""
    candidates = [item for item in free if _may_hold(session, item, hold)]

    def transport(item: Item) -> tuple[int, int, str]:
        if (item.location_municipality_id, item.location_branch_id) == (
                hold.pickup_municipality_id, hold.pickup_branch_id):
            return _SAME_BRANCH, 0, item.barcode
        if item.location_municipality_id == hold.pickup_municipality_id:
            return _SAME_MUNICIPALITY, 0, item.barcode
        return _ELSEWHERE, costs.get(item.location_municipality_id, 1000), item.barcode

    return _first_still(session, Item, sorted(candidates, key=transport), "available")


def _serve_free_copies(session: Session, at: datetime,
                       record_ids: list[uuid.UUID] | None) -> int:
    """Every free copy of a title with waiting holds goes to the first in line it can fill
    (that hold taking the free copy with the least transport); how many holds were filled.

    The titles' free copies and queues are read once, and what this transaction takes is
    struck from them as it goes (flushed once, at the end); whether a copy or hold is
    still free is asked of the database as each is locked, so that a desk taking one at
    the same moment is never overruled.
    """
    query = (select(Item).join(Hold, (Hold.record_id == Item.record_id)
                               & (Hold.status == "waiting"))
             .where(Item.status == "available").distinct())
    if record_ids is not None:
        query = query.where(Item.record_id.in_(record_ids))
    free = session.scalars(query.order_by(Item.record_id, Item.barcode)).all()
    queues = _waiting_for(session, {item.record_id for item in free})
    copies: dict[uuid.UUID, list[Item]] = {}
    for item in free:
        copies.setdefault(item.record_id, []).append(item)
    costs: dict[uuid.UUID, dict[uuid.UUID, int]] = {}
    filled, ready = 0, []
    branches = {(branch.municipality_id, branch.id): branch
                for branch in session.scalars(select(Branch))}
    # Taken copies and holds are struck from the lists above: nothing read below needs
    # this transaction's changes flushed first.
    with session.no_autoflush:
        for item in free:
            hold = first_in_line(session, item, queues[item.record_id], at=at)
            if hold is None:
                continue
            to = hold.pickup_municipality_id
            if to not in costs:
                costs[to] = _travel_costs(session, to)
            best = _best_of(session, hold, copies[item.record_id], costs[to])
            if best is None:
                continue
            queues[item.record_id] = [(each, patron) for each, patron in queues[item.record_id]
                                      if each is not hold]
            copies[item.record_id].remove(best)
            filled += 1
            pickup = branches[(hold.pickup_municipality_id, hold.pickup_branch_id)]
            if _catch(session, hold, best, pickup, at):
                ready.append(hold)
    session.flush()
    for hold in ready:
        _tell_patron(session, hold, at)
    return filled


def _first_still(session: Session, model: type[T], candidates: list[T], status: str) -> T | None:
    """The first candidate no other transaction is changing now and still in ``status``
    once locked (each is locked in turn, so concurrent callers take different ones)."""
    for candidate in candidates:
        locked = session.scalar(
            select(model).where(model.municipality_id == candidate.municipality_id,
                                model.id == candidate.id, model.status == status)
            .with_for_update(skip_locked=True).execution_options(populate_existing=True))
        if locked is not None:
            return locked
    return None


def _travel_costs(session: Session, to_municipality: uuid.UUID) -> dict[uuid.UUID, int]:
    return dict(session.execute(select(TravelCost.from_municipality_id, TravelCost.cost)
                                .where(TravelCost.to_municipality_id == to_municipality)).all())


def _may_hold(session: Session, item: Item, hold: Hold) -> bool:
    patron = session.get(Patron, (hold.municipality_id, hold.patron_id))
    assert patron is not None
    return _lends_to(session, item, patron)


def _lends_to(session: Session, item: Item, patron: Patron) -> bool:
    """Whether the copy's owner lets ``patron`` reserve it."""
    return rule_for(session, item.municipality_id, patron.category, item.media_type).holdable


def _patron_of_hold() -> ColumnElement[bool]:
    return (Patron.municipality_id == Hold.municipality_id) & (Patron.id == Hold.patron_id)


def _waiting(session: Session, record_id: uuid.UUID) -> list[tuple[Hold, Patron]]:
    """The title's waiting holds with their patrons, in the order placed."""
    return _waiting_for(session, [record_id])[record_id]


def _waiting_for(session: Session, record_ids: Iterable[uuid.UUID]
                 ) -> dict[uuid.UUID, list[tuple[Hold, Patron]]]:
    """Per title, its waiting holds with their patrons, in the order placed."""
    ids = sorted(set(record_ids))
    found: dict[uuid.UUID, list[tuple[Hold, Patron]]] = {record_id: [] for record_id in ids}
    for start in range(0, len(ids), _CHUNK):
        rows = session.execute(
            select(Hold, Patron).join(Patron, _patron_of_hold())
            .where(Hold.record_id.in_(ids[start:start + _CHUNK]), Hold.status == "waiting")
            .order_by(Hold.placed_at, Hold.id))
        for hold, patron in rows:
            found[hold.record_id].append((hold, patron))
    return found


def _holdable_copies(session: Session, record_id: uuid.UUID, patron: Patron) -> list[Item]:
    items = session.scalars(select(Item).where(
        Item.record_id == record_id,
        Item.status.notin_(("withdrawn", "missing")))).all()
    return [item for item in items
            if rule_for(session, item.municipality_id, patron.category, item.media_type
                        ).holdable]


def _ahead_for_owner(session: Session, waiting: list[Hold], hold: Hold, owner: uuid.UUID,
                     media_type: str) -> int:
    """How many waiting holds a copy of ``owner`` would serve before ``hold``."""
    prioritised = rule_for(session, owner, ANY, media_type).local_priority
    mine_is_local = hold.municipality_id == owner
    ahead = 0
    for other in waiting:
        if other.id == hold.id:
            continue
        earlier = (other.placed_at, other.id) < (hold.placed_at, hold.id)
        other_is_local = other.municipality_id == owner
        if prioritised and other_is_local != mine_is_local:
            ahead += other_is_local
        else:
            ahead += earlier
    return ahead


def _estimate(session: Session, hold: Hold, position: int, copies: list[Item]) -> int | None:
    """Days until the copy is likely on the shelf: each copy serves one hold per loan."""
    if not copies:
        return None
    loan_days = max(item_rule(session, copy).loan_days
                    for copy in copies)
    lent_out = session.scalar(select(func.count()).select_from(Loan).where(
        Loan.item_id.in_([copy.id for copy in copies]), Loan.returned_at.is_(None))) or 0
    rounds = math.ceil(position / len(copies))
    if rounds <= 1 and lent_out < len(copies):
        return 0
    return rounds * loan_days


def _stuck_in_transit(session: Session, at: datetime,
                      record_ids: list[uuid.UUID] | None) -> list[tuple[Hold, Item]]:
    """Holds in transit whose copies have been on their way longer than their owners'
    alert days, with those copies."""
    query = select(Hold, Item).join(Item, (Item.municipality_id == Hold.item_municipality_id)
                                    & (Item.id == Hold.item_id)).where(
        Hold.status == "in_transit", Item.status == "in_transit")
    if record_ids is not None:
        query = query.where(Hold.record_id.in_(record_ids))
    stuck = []
    for hold, item in session.execute(query).all():
        alert = item_rule(session, item).transit_alert_days
        if at - item.status_changed_at > timedelta(days=alert):
            stuck.append((hold, item))
    return stuck


def _item_of(session: Session, hold: Hold) -> Item | None:
    if hold.item_id is None or hold.item_municipality_id is None:
        return None
    return session.get(Item, (hold.item_municipality_id, hold.item_id))


def _catch(session: Session, hold: Hold, item: Item, pickup: Branch, at: datetime) -> bool:
    """Set ``item`` aside for ``hold`` (unflushed); whether it is at ``pickup`` already."""
    at_pickup = (item.location_municipality_id, item.location_branch_id) == (
        pickup.municipality_id, pickup.id)
    shelf_days = item_rule(session, item).hold_shelf_days
    # The hold's status and its copy change together: the database checks they agree.
    with session.no_autoflush:
        hold.item_municipality_id, hold.item_id, hold.captured_at = (item.municipality_id,
                                                                     item.id, at)
        if at_pickup:
            _ready(hold, item, at, shelf_days)
        else:
            hold.status = "in_transit"
            send_to(item, pickup, at)
    return at_pickup


def _tell_patron(session: Session, hold: Hold, at: datetime) -> None:
    """Queue the "ready for pickup" notice now; it goes when the transaction commits.

    The worker's scan (``library_loans.tasks.queue_hold_ready_notices``) would find the
    hold within minutes anyway; a notice is never sent twice (see
    :mod:`library_loans.operations.notices`).
    """
    from library_loans.operations.notices import queue_hold_ready

    queue_hold_ready(session, hold, at=at)


def _ready(hold: Hold, item: Item, at: datetime, shelf_days: int) -> None:
    hold.status, hold.ready_at = "ready", at
    hold.shelf_expires_on = library_day(at) + timedelta(days=shelf_days)
    shelve_for_hold(item, at)


def _close(hold: Hold, status: str, at: datetime) -> None:
    hold.status, hold.closed_at = status, at
    hold.item_municipality_id = hold.item_id = None
    hold.shelf_expires_on = None
