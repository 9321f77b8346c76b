"""Changing the directory: units, contacts, their numbers, keywords and who has left.

Plain functions that take a session, change models and flush; the request or task that
calls them commits. Every change raises the municipality's directory revision (see
:mod:`switchboard.models`), which is how each process's search index learns of it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.tenancy import current_scope
from switchboard.models import (
    CONTACT_KINDS,
    NUMBER_KINDS,
    UNIT_LEVELS,
    Contact,
    Keyword,
    OpeningHours,
    PhoneNumber,
    Unit,
)
from switchboard.numbers import NumberError, format_number, parse_number

STAYS_FINDABLE_DAYS = 183
"""People who have left stay findable, marked as left, for six months."""


class DirectoryError(ValueError):
    """A change the directory refuses, naming the field and the problem."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class NumberInput:
    """A number as given by a person or a source, before it is parsed."""

    kind: str = "work"
    number: str = ""
    extension: str = ""
    display: str = ""


@dataclass(frozen=True)
class HoursInput:
    """One opening interval on a weekday (0 = Monday)."""

    weekday: int
    opens: time
    closes: time


def create_unit(session: Session, *, name: str, level: str = "enhet",
                parent_id: uuid.UUID | None = None, visiting_address: str = "",
                email: str = "", info: str = "", numbers: Sequence[NumberInput] = (),
                opening_hours: Sequence[HoursInput] = (), source_id: uuid.UUID | None = None,
                external_id: str | None = None,
                municipality_id: uuid.UUID | None = None) -> Unit:
    """Add a unit to a municipality's organisation tree."""
    unit = Unit(municipality_id=_municipality(municipality_id), source_id=source_id,
                external_id=external_id)
    update_unit(session, unit, name=name, level=level, parent_id=parent_id,
                visiting_address=visiting_address, email=email, info=info)
    unit.numbers = _number_rows(numbers)
    unit.opening_hours = _hours_rows(opening_hours)
    session.add(unit)
    session.flush()
    return unit


def update_unit(session: Session, unit: Unit, **changes: Any) -> bool:
    """Change a unit's fields; whether anything changed."""
    if "name" in changes:
        changes["name"] = _required("name", changes["name"])
    if "level" in changes and changes["level"] not in UNIT_LEVELS:
        raise DirectoryError("level", f"Choose one of {', '.join(UNIT_LEVELS)}.")
    if changes.get("parent_id") is not None:
        _check_parent(session, unit, changes["parent_id"])
    if "numbers" in changes:
        return _assign(unit, changes) | set_numbers(unit, changes.pop("numbers"))
    if "opening_hours" in changes:
        return _assign(unit, changes) | set_opening_hours(unit, changes.pop("opening_hours"))
    return _assign(unit, changes)


def create_contact(session: Session, *, name: str = "", kind: str = "person",
                   given_name: str = "", family_name: str = "",
                   nicknames: Iterable[str] = (), title: str = "", email: str = "",
                   room: str = "", info: str = "", unit_id: uuid.UUID | None = None,
                   numbers: Sequence[NumberInput] = (), source_id: uuid.UUID | None = None,
                   external_id: str | None = None,
                   municipality_id: uuid.UUID | None = None) -> Contact:
    """Add a person or a function to the directory."""
    contact = Contact(municipality_id=_municipality(municipality_id), source_id=source_id,
                      external_id=external_id, kind=kind)
    update_contact(session, contact, name=name, kind=kind, given_name=given_name,
                   family_name=family_name, nicknames=nicknames, title=title, email=email,
                   room=room, info=info, unit_id=unit_id)
    contact.numbers = _number_rows(numbers)
    session.add(contact)
    session.flush()
    return contact


def update_contact(session: Session, contact: Contact, **changes: Any) -> bool:
    """Change a contact's fields; whether anything changed.

    A person's display name follows their given and family names unless one is given.
    """
    kind = changes.get("kind", contact.kind)
    if kind not in CONTACT_KINDS:
        raise DirectoryError("kind", f"Choose one of {', '.join(CONTACT_KINDS)}.")
    if "nicknames" in changes:
        changes["nicknames"] = _clean_list(changes["nicknames"])
    for field in ("given_name", "family_name", "title", "email", "room", "info"):
        if field in changes:
            changes[field] = (changes[field] or "").strip()
    given = changes.get("given_name", contact.given_name or "")
    family = changes.get("family_name", contact.family_name or "")
    if not (changes.get("name") or "").strip() and kind == "person" and (given or family):
        changes["name"] = f"{given} {family}".strip()
    if "name" in changes or contact.name is None:
        changes["name"] = _required("name", changes.get("name") or "")
    if changes.get("unit_id") is not None:
        _unit_of_same_municipality(session, contact.municipality_id, changes["unit_id"])
    numbers = changes.pop("numbers", None)
    changed = _assign(contact, changes)
    if numbers is not None:
        changed |= set_numbers(contact, numbers)
    return changed


def set_numbers(owner: Contact | Unit, numbers: Sequence[NumberInput]) -> bool:
    """Replace an owner's numbers, keeping the rows that stay the same; whether any changed."""
    wanted = _number_rows(numbers)
    have = [(n.kind, n.e164, n.extension, n.display) for n in owner.numbers]
    if have == [(n.kind, n.e164, n.extension, n.display) for n in wanted]:
        return False
    owner.numbers = wanted
    return True


def set_opening_hours(unit: Unit, hours: Sequence[HoursInput]) -> bool:
    """Replace a unit's weekly opening hours; whether they changed."""
    wanted = _hours_rows(hours)
    have = [(h.weekday, h.opens, h.closes) for h in unit.opening_hours]
    if have == [(h.weekday, h.opens, h.closes) for h in wanted]:
        return False
    unit.opening_hours = wanted
    return True


def mark_left(session: Session, contact: Contact, *, on: date,
              successor_id: uuid.UUID | None = None) -> bool:
    """Mark a person as having left; they stay findable for six months, with who took over."""
    if successor_id == contact.id:
        raise DirectoryError("successor_id", "A person cannot take over from themselves.")
    if successor_id is not None:
        successor = session.get(Contact, (contact.municipality_id, successor_id))
        if successor is None:
            raise DirectoryError("successor_id", "No such contact in this municipality.")
    changed = _assign(contact, {
        "left_on": contact.left_on or on,
        "successor_id": successor_id if successor_id is not None else contact.successor_id,
    })
    session.flush()
    return changed


def set_keyword(session: Session, word: str, *, synonyms: Iterable[str] = (),
                contact_id: uuid.UUID | None = None, unit_id: uuid.UUID | None = None,
                note: str = "", municipality_id: uuid.UUID | None = None) -> Keyword:
    """Map a matter (and its synonyms) to the contact or unit that handles it."""
    municipality_id = _municipality(municipality_id)
    word = _required("word", word).lower()
    if (contact_id is None) == (unit_id is None):
        raise DirectoryError("contact_id", "A keyword points at exactly one contact or unit.")
    if contact_id is not None and session.get(Contact, (municipality_id, contact_id)) is None:
        raise DirectoryError("contact_id", "No such contact in this municipality.")
    if unit_id is not None:
        _unit_of_same_municipality(session, municipality_id, unit_id)
    keyword = session.scalars(select(Keyword).where(
        Keyword.municipality_id == municipality_id, Keyword.word == word)).first()
    if keyword is None:
        keyword = Keyword(municipality_id=municipality_id, word=word)
        session.add(keyword)
    _assign(keyword, {"synonyms": _clean_list(s.lower() for s in synonyms),
                      "contact_id": contact_id, "unit_id": unit_id, "note": note.strip()})
    session.flush()
    return keyword


def number_values(numbers: Sequence[NumberInput]) -> list[dict[str, Any]]:
    """The column values of ``numbers`` once checked: kind, E.164, extension, display and
    the number as the library formats it (stored, so no search formats it again)."""
    rows = []
    for position, given in enumerate(numbers):
        field = f"numbers[{position}]"
        if given.kind not in NUMBER_KINDS:
            raise DirectoryError(f"{field}.kind", f"Choose one of {', '.join(NUMBER_KINDS)}.")
        extension = given.extension.strip()
        if extension and not extension.isdigit():
            raise DirectoryError(f"{field}.extension", "An extension is digits only.")
        e164 = None
        if given.number.strip():
            try:
                e164 = parse_number(given.number)
            except NumberError as error:
                raise DirectoryError(f"{field}.number", str(error)) from error
        elif not extension:
            raise DirectoryError(f"{field}.number", "Give a number, an extension or both.")
        rows.append({"kind": given.kind, "e164": e164, "extension": extension,
                     "display": given.display.strip(),
                     "formatted": format_number(e164) if e164 else "", "position": position})
    return rows


# --- private helpers ------------------------------------------------------------------

def _municipality(given: uuid.UUID | None) -> uuid.UUID:
    """The municipality a new row belongs to: the one given, else the scope's home."""
    if given is not None:
        return given
    home = current_scope().home
    if home is None:
        raise DirectoryError("municipality", "Say which municipality this belongs to.")
    return home


def _assign(obj: object, changes: dict[str, Any]) -> bool:
    changed = False
    for field, value in changes.items():
        if getattr(obj, field) != value:
            setattr(obj, field, value)
            changed = True
    return changed


def _required(field: str, value: str) -> str:
    value = (value or "").strip()
    if not value:
        raise DirectoryError(field, "Must not be empty.")
    return value


def _clean_list(values: Iterable[str]) -> list[str]:
    cleaned: list[str] = []
    for value in values:
        value = (value or "").strip()
        if value and value not in cleaned:
            cleaned.append(value)
    return cleaned


def _number_rows(numbers: Sequence[NumberInput]) -> list[PhoneNumber]:
    return [PhoneNumber(**values) for values in number_values(numbers)]


def _hours_rows(hours: Sequence[HoursInput]) -> list[OpeningHours]:
    rows = []
    for position, given in enumerate(hours):
        if not 0 <= given.weekday <= 6:
            raise DirectoryError(f"opening_hours[{position}].weekday",
                                 "A weekday is 0 (Monday) to 6 (Sunday).")
        if given.opens >= given.closes:
            raise DirectoryError(f"opening_hours[{position}].closes",
                                 "Closing time must be after opening time.")
        rows.append(OpeningHours(weekday=given.weekday, opens=given.opens, closes=given.closes))
    return rows


def _check_parent(session: Session, unit: Unit, parent_id: uuid.UUID) -> None:
    parent = _unit_of_same_municipality(session, unit.municipality_id, parent_id,
                                        field="parent_id")
    ancestor: Unit | None = parent
    while ancestor is not None:
        if unit.id is not None and ancestor.id == unit.id:
            raise DirectoryError("parent_id", "A unit cannot be placed under itself.")
        ancestor = (session.get(Unit, (ancestor.municipality_id, ancestor.parent_id))
                    if ancestor.parent_id else None)


def _unit_of_same_municipality(session: Session, municipality_id: uuid.UUID,
                               unit_id: uuid.UUID, *, field: str = "unit_id") -> Unit:
    unit = session.get(Unit, (municipality_id, unit_id))
    if unit is None:
        raise DirectoryError(field, "No such unit in this municipality.")
    return unit
