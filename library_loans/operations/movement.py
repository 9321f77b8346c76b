"""Where a copy is and where it is going: on the shelf, on a hold shelf, in transit.

A copy in transit keeps the branch it left from as its location and names where it is
going; it arrives when that branch checks it in. Transit lists per branch, copies in
transit too long, and what waits on a branch's hold shelf come from here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from library_loans.models import Branch, Hold, Item
from library_loans.operations.rules import item_rule, library_day


@dataclass(frozen=True)
class InTransit:
    """A copy on its way: where from, where to, since when, and whether it is overdue."""

    item: Item
    since: datetime
    overdue: bool
    alert_days: int = 5
    """The owner's ``transit_alert_days``: in transit longer than this is overdue."""


@dataclass(frozen=True)
class OnHoldShelf:
    """A copy waiting on a branch's hold shelf for a patron, until its last day there."""

    hold: Hold
    item: Item
    expires_on: date
    expired: bool
    """Its last day has passed: it is to be taken off the shelf and passed on."""


def send_to(item: Item, branch: Branch, at: datetime) -> None:
    """Put ``item`` in transit to ``branch``."""
    item.status = "in_transit"
    item.transit_municipality_id, item.transit_branch_id = branch.municipality_id, branch.id
    item.status_changed_at = at


def shelve_for_hold(item: Item, at: datetime) -> None:
    """The copy waits on its (current) branch's hold shelf."""
    item.status = "on_hold_shelf"
    item.transit_municipality_id = item.transit_branch_id = None
    item.status_changed_at = at


def shelve_at(item: Item, branch: Branch, at: datetime) -> None:
    """The copy is back on the open shelf of ``branch``."""
    item.status = "available"
    item.location_municipality_id, item.location_branch_id = branch.municipality_id, branch.id
    item.transit_municipality_id = item.transit_branch_id = None
    item.status_changed_at = at


def arrive_at(item: Item, branch: Branch) -> None:
    """The copy is now at ``branch`` (checked in there)."""
    item.location_municipality_id, item.location_branch_id = branch.municipality_id, branch.id


def unload(session: Session, item: Item, at: datetime) -> None:
    """A copy nobody waits for: stays where it is if it floats or is home, else goes home."""
    here = session.get(Branch, (item.location_municipality_id, item.location_branch_id))
    home = session.get(Branch, (item.municipality_id, item.home_branch_id))
    assert here is not None and home is not None
    floats = item_rule(session, item).floating
    if floats or here.id == home.id:
        shelve_at(item, here, at)
    else:
        send_to(item, home, at)


def transit_list(session: Session, branch_id: uuid.UUID, *, at: datetime,
                 direction: str = "incoming") -> list[InTransit]:
    """Copies on their way to (``incoming``) or from (``outgoing``) a branch, oldest first."""
    column = Item.transit_branch_id if direction == "incoming" else Item.location_branch_id
    items = session.scalars(select(Item).where(Item.status == "in_transit", column == branch_id)
                            .order_by(Item.status_changed_at)).all()
    listed = []
    for item in items:
        alert = item_rule(session, item).transit_alert_days
        listed.append(InTransit(item, item.status_changed_at,
                                at - item.status_changed_at > timedelta(days=alert), alert))
    return listed


def hold_shelf(session: Session, branch: Branch, *, at: datetime) -> list[OnHoldShelf]:
    """Copies ready for pickup on ``branch``'s hold shelf, the first to expire first."""
    rows = session.execute(
        select(Hold, Item)
        .join(Item, (Item.municipality_id == Hold.item_municipality_id)
              & (Item.id == Hold.item_id))
        .where(Hold.status == "ready", Hold.pickup_municipality_id == branch.municipality_id,
               Hold.pickup_branch_id == branch.id)
        .order_by(Hold.shelf_expires_on, Item.barcode)).all()
    today = library_day(at)
    listed = []
    for hold, item in rows:
        expires = hold.shelf_expires_on or today
        listed.append(OnHoldShelf(hold, item, expires, expires < today))
    return listed
