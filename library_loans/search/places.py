"""Where each record has a copy on a shelf now, kept in its search index row.

The public catalogue counts, for every search, the matching records with a copy in each
municipality now (the "available now in" facet) and filters on it. Looking that up from
the copies for every match cost more than the search itself (a common word matches tens of
thousands of records, each with several copies), so each index row keeps ``places``: the
slugs of the municipalities where the record has an available copy, in a fixed order and
between commas (``",umea,vindeln,"``; ``""`` when none is in).

It is kept true where copies change:

- a copy changed through the ORM (check-out, check-in, transit, a status set at the desk)
  marks its record at flush, and the record's places are worked out again from its copies
  in the same transaction (:func:`_refresh_after_flush`), or, when the copy went neither on
  nor off a shelf (taken back to be sent on, caught for a hold), the record's row is
  written again as it is: its places cannot have changed, but every change to a record's
  copies writes its row;
- :func:`library_loans.search.index.reindex` works them out for the records it indexes
  (a catalogue import adds its copies as plain rows and reindexes their records).

Copies of every library municipality are read, in the public catalogue's scope: a Vindeln
copy checked in at an Umeå desk changes what Vindeln's shelf shows. Two transactions
changing copies of one record (two desks checking in two copies at once) take the record's
index row in turn, PostgreSQL row lock first, so that the second works its places out from
the first's committed copies rather than from its own older snapshot.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, event, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import History

from library_loans.access import public_catalogue
from library_loans.models import Item
from services.tenancy.models import Municipality
from services.tenancy.orm import TenantSession

_WATCHED = ("status", "location_municipality_id", "record_id")
"""The copy's columns that decide where its record is on a shelf."""


def places_of(session: Session, record_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Per record, the municipalities with a copy on a shelf there now (records with none
    are left out)."""
    ids = list(record_ids)
    if not ids:
        return {}
    slugs: dict[uuid.UUID, set[str]] = {}
    with public_catalogue(session):
        rows = session.execute(
            select(Item.record_id, Municipality.slug).distinct()
            .join(Municipality, Municipality.id == Item.location_municipality_id)
            .where(Item.record_id.in_(ids), Item.status == "available"))
        for record_id, slug in rows:
            slugs.setdefault(record_id, set()).add(slug)
    return {record_id: joined(found) for record_id, found in slugs.items()}


def joined(slugs: Iterable[str]) -> str:
    """Slugs as the index keeps them: sorted, each between commas."""
    found = sorted(slugs)
    return f",{','.join(found)}," if found else ""


def contains(slug: str) -> str:
    """A LIKE pattern matching ``places`` that include ``slug``."""
    return f"%,{slug},%"


def refresh_places(session: Session, record_ids: Iterable[uuid.UUID], *,
                   unmoved: Iterable[uuid.UUID] = ()) -> None:
    """Work the records' places out again from their copies and store them in the index.

    ``unmoved``: records whose copies changed without going on or off a shelf. Their places
    cannot have changed, so they are not worked out again, but their rows are written as
    they are all the same: writing a row stamps it as having changed copies, which is how
    the resident search index learns to read them again (see migration
    ``library_loans_0006``).
    """
    from library_loans.search.index import listing_table

    ids = set(record_ids)
    every = sorted(ids | set(unmoved))
    if not every:
        return
    listing = listing_table(session)
    # The index rows are no tenant's: read and written on the connection, past the ORM.
    connection = session.connection()
    if not ids and len(every) == 1:
        # A check-in sending one copy on: one row written as it is, with nothing to work
        # out and no other row to be taken in order before it.
        connection.execute(update(listing).where(listing.c.record_id == every[0])
                           .values(places=listing.c.places))
        return
    stored = select(listing.c.record_id, listing.c.places).where(listing.c.record_id.in_(every))
    if connection.dialect.name == "postgresql":
        # One record's row at a time, in id order, so that two desks never wait on each
        # other the other way round (SQLite's writer holds the whole database already).
        stored = stored.order_by(listing.c.record_id).with_for_update()
    places = dict(connection.execute(stored).all())
    if ids:
        worked_out = places_of(session, ids)
        places.update((record_id, worked_out.get(record_id, "")) for record_id in ids)
    rows = [{"changed_record": record_id, "new_places": places[record_id]}
            for record_id in every if record_id in places]
    if rows:  # none when the records are not indexed (yet)
        connection.execute(
            update(listing).where(listing.c.record_id == bindparam("changed_record"))
            .values(places=bindparam("new_places")), rows)


def _changed_records(session: Session) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """The records whose copies this flush adds, removes, or puts on or takes off a shelf;
    and those whose copies it moves otherwise (between branches, on loan, in transit)."""
    records: set[uuid.UUID] = set()
    unmoved: set[uuid.UUID] = set()
    for obj in session.new:
        if isinstance(obj, Item) and obj.record_id is not None:
            records.add(obj.record_id)
    for obj in session.deleted:
        if isinstance(obj, Item):
            records.add(obj.record_id)
    for obj in session.dirty:
        if not isinstance(obj, Item):
            continue
        state: Any = inspect(obj)
        status, location, record = (state.attrs[name].history for name in _WATCHED)
        if record.has_changes():
            records.add(obj.record_id)
            records.update(value for value in record.deleted if value is not None)
        elif _shelf(status, location, before=True) != _shelf(status, location, before=False):
            records.add(obj.record_id)
        elif status.has_changes() or location.has_changes() or \
                state.attrs["location_branch_id"].history.has_changes():
            # The copies per branch the catalogue shows changed: the row is stamped.
            unmoved.add(obj.record_id)
    return records, unmoved - records


def _shelf(status: History, location: History, *, before: bool) -> object:
    """The municipality whose shelf the copy was on before the flush (or is on after it),
    None when on none, or a marker unlike any other when the history does not tell."""
    values = []
    for history in (status, location):
        if history.has_changes():
            found = history.deleted if before else history.added
        else:
            found = history.unchanged
        if not found:
            return object()
        values.append(found[0])
    return values[1] if values[0] == "available" else None


def _refresh_after_flush(session: Session, _context: object) -> None:
    # In after_flush the session still lists what the flush wrote as new, dirty and deleted.
    if not (session.new or session.dirty or session.deleted):
        return
    records, unmoved = _changed_records(session)
    if records or unmoved:
        refresh_places(session, records, unmoved=unmoved)


event.listen(TenantSession, "after_flush", _refresh_after_flush)
