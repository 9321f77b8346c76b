"""vCard 4.0 (RFC 6350) cards of contacts and units, for address books and phones.

A person is ``KIND:individual``; a function ("Kundtjänst bygg") and a unit are
``KIND:org``. The organisation is the municipality with the unit path below it, the
keywords that lead to the contact or unit become CATEGORIES, and a person who is away
with a referral carries it as a RELATED contact. Lines end in CRLF and are folded at 75
octets without splitting a UTF-8 character.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.tenancy.models import Municipality
from switchboard.models import Contact, Keyword, PhoneNumber, Unit
from switchboard.operations.presence import current_absences

MAX_LINE_OCTETS = 75

_TEL_TYPES = {"work": "work,voice", "mobile": "work,cell", "switchboard": "work,voice",
              "fax": "work,fax"}
_POSTAL_ADDRESS = re.compile(r"(?P<street>.+?),\s*(?P<code>\d{3} ?\d{2})\s+(?P<locality>.+)")


def contact_vcard(session: Session, contact: Contact) -> str:
    """The vCard of a person or a function, with their referral if they are away."""
    path = _unit_path(session, contact.municipality_id, contact.unit_id)
    person = contact.kind == "person"
    lines = [
        "KIND:" + ("individual" if person else "org"),
        "FN:" + _text(contact.name),
    ]
    if person:
        lines.append("N:" + _compound([contact.family_name, contact.given_name, "", "", ""]))
    if contact.nicknames:
        lines.append("NICKNAME:" + _text_list(contact.nicknames))
    lines.append("ORG:" + _compound([_municipality_name(session, contact.municipality_id),
                                     *(unit.name for unit in path)]))
    if contact.title:
        lines.append("TITLE:" + _text(contact.title))
    if contact.email:
        lines.append("EMAIL;TYPE=work:" + _text(contact.email))
    lines += _telephones(contact.numbers)
    address = next((unit.visiting_address for unit in reversed(path)
                    if unit.visiting_address), "")
    if address:
        lines.append(_address(address))
    lines += _categories(session, Keyword.contact_id == contact.id)
    lines += _referral(session, contact)
    lines += _identity(contact.id, contact.updated_at)
    return _card(lines)


def unit_vcard(session: Session, unit: Unit) -> str:
    """The vCard of a unit: an organisation with its numbers and visiting address."""
    path = _unit_path(session, unit.municipality_id, unit.id)
    lines = [
        "KIND:org",
        "FN:" + _text(unit.name),
        "ORG:" + _compound([_municipality_name(session, unit.municipality_id),
                            *(part.name for part in path)]),
    ]
    if unit.email:
        lines.append("EMAIL;TYPE=work:" + _text(unit.email))
    lines += _telephones(unit.numbers)
    if unit.visiting_address:
        lines.append(_address(unit.visiting_address))
    lines += _categories(session, Keyword.unit_id == unit.id)
    lines += _identity(unit.id, unit.updated_at)
    return _card(lines)


# --- private helpers ------------------------------------------------------------------

def _fold(line: str) -> str:
    # At most 75 octets a line, the continuation's leading space included.
    parts: list[bytes] = []
    current = b""
    for character in line:
        encoded = character.encode("utf-8")
        if len(current) + len(encoded) > MAX_LINE_OCTETS:
            parts.append(current)
            current = b" "
        current += encoded
    parts.append(current)
    return "\r\n".join(part.decode("utf-8") for part in parts)


def _card(lines: Sequence[str]) -> str:
    return "".join(_fold(line) + "\r\n"
                   for line in ("BEGIN:VCARD", "VERSION:4.0", *lines, "END:VCARD"))


def _text(value: str) -> str:
    """A TEXT value with backslash, comma, semicolon and line breaks escaped."""
    return (value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
            .replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n"))


def _text_list(values: Iterable[str]) -> str:
    return ",".join(_text(value) for value in values)


def _compound(components: Iterable[str]) -> str:
    return ";".join(_text(component) for component in components)


def _telephones(numbers: Sequence[PhoneNumber]) -> list[str]:
    lines = []
    for position, number in enumerate(numbers):
        types = _TEL_TYPES[number.kind]
        preference = ";PREF=1" if position == 0 else ""
        if number.e164:
            extension = f";ext={number.extension}" if number.extension else ""
            lines.append(f"TEL;VALUE=uri;TYPE={types}{preference}:tel:{number.e164}{extension}")
        else:
            # An internal extension alone has no global tel: URI; it stays free text.
            lines.append(f"TEL;TYPE={types}{preference}:{_text(number.extension)}")
    return lines


def _address(visiting_address: str) -> str:
    parsed = _POSTAL_ADDRESS.fullmatch(" ".join(visiting_address.split()))
    if parsed is None:
        components = ["", "", visiting_address, "", "", "", ""]
    else:
        components = ["", "", parsed["street"], parsed["locality"], "", parsed["code"],
                      "Sverige"]
    return "ADR;TYPE=work:" + _compound(components)


def _categories(session: Session, points_here: object) -> list[str]:
    words = session.scalars(select(Keyword.word).where(points_here).order_by(Keyword.word))
    listed = _text_list(words)
    return ["CATEGORIES:" + listed] if listed else []


def _referral(session: Session, contact: Contact) -> list[str]:
    for absence in current_absences(session, contact.municipality_id, contact.id):
        if absence.referral_contact_id is None:
            continue
        referral = session.get(Contact, (contact.municipality_id, absence.referral_contact_id))
        if referral is None:
            continue
        note = f"Hänvisning: {referral.name}"
        if absence.referral_note:
            note += f" – {absence.referral_note}"
        return [f"RELATED;TYPE=contact;VALUE=uri:urn:uuid:{referral.id}", "NOTE:" + _text(note)]
    return []


def _identity(row_id: uuid.UUID, updated_at: datetime) -> list[str]:
    return [f"UID:urn:uuid:{row_id}", f"REV:{updated_at:%Y%m%dT%H%M%SZ}"]


def _municipality_name(session: Session, municipality_id: uuid.UUID) -> str:
    municipality = session.get(Municipality, municipality_id)
    assert municipality is not None  # tenant rows reference their municipality
    return municipality.name


def _unit_path(session: Session, municipality_id: uuid.UUID,
               unit_id: uuid.UUID | None) -> list[Unit]:
    """The units from the förvaltning down to ``unit_id``."""
    path: list[Unit] = []
    while unit_id is not None and all(unit.id != unit_id for unit in path):
        unit = session.get(Unit, (municipality_id, unit_id))
        if unit is None:
            break
        path.append(unit)
        unit_id = unit.parent_id
    return list(reversed(path))
