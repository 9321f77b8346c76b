"""SCIM Users as the directory's contacts (kind person) of the municipality's SCIM source.

A SCIM client sees and changes only the contacts its pushes created: a contact an HR
export brought in belongs to that source, and two sources writing one row would undo
each other. ``userName`` is the contact's account name (Entra ID and Okta send the
userPrincipalName or login, which need not be the mail address): stored as given, unique
among the source's contacts ignoring case, as RFC 7643 defines it. The work address in
``emails`` is the contact's email, independent of it. ``externalId`` is the source's stable
id of the row.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, func, not_, or_, select, true
from sqlalchemy.orm import Session, selectinload

from switchboard.models import Contact, DirectorySource, Unit
from switchboard.numbers import NumberError, parse_number
from switchboard.operations.directory import (
    DirectoryError,
    NumberInput,
    create_contact,
    create_unit,
    mark_left,
    update_contact,
)
from switchboard.scim.errors import ScimError
from switchboard.scim.filter import (
    Comparison,
    constant_attribute,
    id_attribute,
    parse_id,
    text_attribute,
    time_attribute,
)
from switchboard.scim.resources import (
    boolean_of,
    external_id,
    list_of,
    meta,
    object_of,
    text_of,
    today,
)
from switchboard.scim.schemas import ENTERPRISE_USER, SAMVERKAN, USER

PHONE_KINDS = ("work", "mobile", "fax")
"""The kinds of number a SCIM client may set; home and other private numbers are not kept."""
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_WORK_EMAIL = 'emails[type eq "work"].value'
_ATTRIBUTE_OF_FIELD = {"name": "displayName", "given_name": "name.givenName",
                       "family_name": "name.familyName", "title": "title",
                       "email": _WORK_EMAIL, "nicknames": "nickName"}


def user_filters() -> dict[str, Comparison]:
    """How each filterable User attribute compares in SQL, keyed as filter paths are."""
    email = text_attribute(Contact.email)
    department = f"{ENTERPRISE_USER}:department".lower()
    return {
        "id": id_attribute(Contact.id), "externalid": _compare_external_id,
        "username": text_attribute(Contact.account_name),
        "emails": email, "emails.value": email,
        "emails.type": constant_attribute("work"), "emails.primary": constant_attribute(True),
        "name.givenname": text_attribute(Contact.given_name),
        "name.familyname": text_attribute(Contact.family_name),
        "name.formatted": text_attribute(Contact.name),
        "displayname": text_attribute(Contact.name),
        "title": text_attribute(Contact.title), "active": _compare_active,
        "meta.created": time_attribute(Contact.created_at),
        "meta.lastmodified": time_attribute(Contact.updated_at),
        department: _compare_department,
    }


def find_users(session: Session, source: DirectorySource | None,
               where: ColumnElement[bool] | None, start: int, count: int
               ) -> tuple[int, list[Contact]]:
    """How many of the source's users match, and the page from ``start`` (1-based)."""
    if source is None:
        return 0, []
    condition = and_(Contact.source_id == source.id, Contact.kind == "person",
                     where if where is not None else true())
    total = session.scalar(select(func.count()).select_from(Contact).where(condition)) or 0
    if count == 0:
        return total, []
    page = session.scalars(
        select(Contact).where(condition).options(selectinload(Contact.numbers))
        .order_by(Contact.id).offset(start - 1).limit(count)
    ).all()
    return total, list(page)


def find_user(session: Session, source: DirectorySource | None, user_id: str) -> Contact:
    """The source's user with our id ``user_id``; a 404 for any other id."""
    wanted = parse_id(user_id)
    contact = None
    if source is not None and wanted is not None:
        contact = session.scalars(select(Contact).where(
            Contact.id == wanted, Contact.source_id == source.id, Contact.kind == "person",
        )).first()
    if contact is None:
        raise ScimError(404, f"No user with id {user_id!r}.")
    return contact


def user_resource(contact: Contact, *, department: str | None, municipality: str,
                  location: str) -> dict[str, Any]:
    """The SCIM form of a contact."""
    formatted = f"{contact.given_name} {contact.family_name}".strip() or contact.name
    resource: dict[str, Any] = {
        "schemas": [USER, ENTERPRISE_USER, SAMVERKAN], "id": str(contact.id),
        "userName": contact.account_name,
        "name": {"formatted": formatted, "givenName": contact.given_name,
                 "familyName": contact.family_name},
        "displayName": contact.name, "active": _is_active(contact),
    }
    if external_id(contact) is not None:
        resource["externalId"] = contact.external_id
    if contact.nicknames:
        resource["nickName"] = contact.nicknames[0]
    if contact.title:
        resource["title"] = contact.title
    if contact.email:
        resource["emails"] = [{"value": contact.email, "type": "work", "primary": True}]
    numbers = [n for n in contact.numbers if n.e164 and n.kind in PHONE_KINDS]
    if numbers:
        resource["phoneNumbers"] = [{"value": n.e164, "type": n.kind, "primary": i == 0}
                                    for i, n in enumerate(numbers)]
    resource[ENTERPRISE_USER] = {"department": department} if department else {}
    resource[SAMVERKAN] = {"municipality": municipality}
    resource["meta"] = meta("User", contact, location)
    return resource


def create_user(session: Session, source: DirectorySource, body: Any) -> Contact:
    """Add the user ``body`` describes to the source's municipality."""
    wanted = _UserInput.of(body)
    _check_unique(session, source, wanted, None)
    with _as_scim_attributes():
        contact = create_contact(
            session, kind="person", name=wanted.name, given_name=wanted.given_name,
            family_name=wanted.family_name, nicknames=wanted.nicknames, title=wanted.title,
            email=wanted.email, numbers=wanted.numbers, source_id=source.id,
            external_id=wanted.external_id, municipality_id=source.municipality_id,
        )
        contact.external_id = wanted.external_id or str(contact.id)
        contact.account_name = wanted.user_name
        _place_and_activate(session, source, contact, wanted)
    session.flush()
    return contact


def replace_user(session: Session, source: DirectorySource, contact: Contact, body: Any
                 ) -> bool:
    """Make the contact what ``body`` describes (PUT); whether anything changed."""
    wanted = _UserInput.of(body)
    _check_unique(session, source, wanted, contact)
    kept = {(n.kind, n.e164): n for n in contact.numbers}
    numbers = [NumberInput(n.kind, n.number, kept[(n.kind, n.number)].extension,
                           kept[(n.kind, n.number)].display)
               if (n.kind, n.number) in kept else n for n in wanted.numbers]
    # Numbers SCIM cannot express (extension only, the switchboard's own) stay as they are.
    numbers += [NumberInput(n.kind, n.e164 or "", n.extension, n.display)
                for n in contact.numbers if not n.e164 or n.kind not in PHONE_KINDS]
    with _as_scim_attributes():
        changed = update_contact(
            session, contact, name=wanted.name, given_name=wanted.given_name,
            family_name=wanted.family_name, nicknames=wanted.nicknames, title=wanted.title,
            email=wanted.email, account_name=wanted.user_name, numbers=numbers,
            external_id=wanted.external_id or str(contact.id),
        )
        changed |= _place_and_activate(session, source, contact, wanted)
    session.flush()
    return changed


def leave(session: Session, contact: Contact) -> bool:
    """Mark the user as left today (DELETE): they stay findable, marked as left."""
    changed = mark_left(session, contact, on=today())
    session.flush()
    return changed


def departments(session: Session, contacts: Sequence[Contact]) -> dict[uuid.UUID, str]:
    """The unit name of each of ``contacts`` that sits in a unit, by unit id."""
    unit_ids = {c.unit_id for c in contacts if c.unit_id is not None}
    if not unit_ids:
        return {}
    return dict(session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(unit_ids))).all())


class _UserInput:
    """A User body, checked and in the directory's terms."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.user_name = text_of(body, "userName", column=Contact.account_name) or ""
        if not self.user_name:
            raise ScimError(400, "userName is required.", "invalidValue")
        name = object_of(body, "name")
        self.given_name = text_of(name, "givenName", "name.givenName",
                                  column=Contact.given_name) or ""
        self.family_name = text_of(name, "familyName", "name.familyName",
                                   column=Contact.family_name) or ""
        self.name = (text_of(body, "displayName", column=Contact.name)
                     or text_of(name, "formatted", "name.formatted", column=Contact.name)
                     or f"{self.given_name} {self.family_name}".strip() or self.user_name)
        nickname = text_of(body, "nickName", column=Contact.name)
        self.nicknames = [nickname] if nickname else []
        self.title = text_of(body, "title", column=Contact.title) or ""
        self.external_id = text_of(body, "externalId", column=Contact.external_id) or None
        self.active = boolean_of(body, "active")
        self.department = text_of(object_of(body, ENTERPRISE_USER), "department",
                                  column=Unit.name) or None
        self.numbers = _numbers(list_of(body, "phoneNumbers") or [])
        self.email = _work_email(list_of(body, "emails") or []) or ""
        if self.email and not _EMAIL.match(self.email):
            raise ScimError(400, f"{_WORK_EMAIL} must be an email address.", "invalidValue")

    @classmethod
    def of(cls, body: Any) -> _UserInput:
        if not isinstance(body, dict):
            raise ScimError(400, "The body must be a JSON object.", "invalidSyntax")
        return cls(body)


def _numbers(given: list[dict[str, Any]]) -> list[NumberInput]:
    numbers: list[NumberInput] = []
    for item in given:
        kind = (text_of(item, "type", "phoneNumbers.type") or "work").lower()
        value = text_of(item, "value", "phoneNumbers.value") or ""
        if kind not in PHONE_KINDS or not value:
            continue
        try:
            e164 = parse_number(value)
        except NumberError as error:
            raise ScimError(400, f'phoneNumbers[type eq "{kind}"].value: {error}',
                            "invalidValue") from error
        if all((n.kind, n.number) != (kind, e164) for n in numbers):
            numbers.append(NumberInput(kind=kind, number=e164))
    return numbers


def _work_email(given: list[dict[str, Any]]) -> str | None:
    values = [e for e in given if text_of(e, "value", "emails.value")]
    chosen = (next((e for e in values if boolean_of(e, "primary")), None)
              or next((e for e in values if (text_of(e, "type") or "").lower() == "work"), None)
              or next(iter(values), None))
    return text_of(chosen, "value", _WORK_EMAIL, column=Contact.email) if chosen else None


def _check_unique(session: Session, source: DirectorySource, wanted: _UserInput,
                  contact: Contact | None) -> None:
    others = and_(Contact.source_id == source.id,
                  Contact.id != contact.id if contact is not None else true())
    # Stored as given, compared ignoring case; the unique constraint stops two requests
    # racing with the very same userName (its IntegrityError answers 409 uniqueness too).
    if session.scalar(select(Contact.id).where(
            others, func.lower(Contact.account_name) == func.lower(wanted.user_name)).limit(1)):
        raise ScimError(409, f"A user with userName {wanted.user_name!r} exists.", "uniqueness")
    if wanted.external_id and session.scalar(select(Contact.id).where(
            others, Contact.external_id == wanted.external_id).limit(1)):
        raise ScimError(409, f"A user with externalId {wanted.external_id!r} exists.",
                        "uniqueness")


def _place_and_activate(session: Session, source: DirectorySource, contact: Contact,
                        wanted: _UserInput) -> bool:
    changed = False
    if wanted.department:
        unit = _department(session, source, contact, wanted.department)
        if unit.id != contact.unit_id:
            changed |= update_contact(session, contact, name=contact.name, unit_id=unit.id)
    if wanted.active is False:
        changed |= mark_left(session, contact, on=today())
    elif wanted.active is True and contact.left_on is not None:
        changed |= update_contact(session, contact, name=contact.name, left_on=None)
    return changed


def _department(session: Session, source: DirectorySource, contact: Contact, name: str
                ) -> Unit:
    """The unit called ``name`` in the municipality: the contact's own, the source's, any."""
    candidates = session.scalars(
        select(Unit).where(Unit.municipality_id == source.municipality_id,
                           func.lower(Unit.name) == func.lower(name))
        .order_by(Unit.created_at, Unit.id)
    ).all()
    for preferred in (lambda u: u.id == contact.unit_id, lambda u: u.source_id == source.id,
                      lambda u: True):
        found = next((u for u in candidates if preferred(u)), None)
        if found is not None:
            return found
    unit = create_unit(session, name=name, level="enhet", source_id=source.id,
                       municipality_id=source.municipality_id)
    unit.external_id = str(unit.id)
    return unit


def _is_active(contact: Contact) -> bool:
    return contact.left_on is None or contact.left_on > today()


def _compare_active(op: str, value: Any) -> ColumnElement[bool]:
    if op == "pr":
        return true()
    if op not in ("eq", "ne") or not isinstance(value, bool):
        raise ScimError(400, "Compare active with eq or ne and true or false.",
                        "invalidFilter")
    active = or_(Contact.left_on.is_(None), Contact.left_on > today())
    return active if (op == "eq") == value else not_(active)


def _compare_external_id(op: str, value: Any) -> ColumnElement[bool]:
    if op not in ("eq", "ne") or not isinstance(value, str):
        raise ScimError(400, "Compare externalId with eq or ne and a string.", "invalidFilter")
    ours = parse_id(value)
    same = Contact.external_id == value
    if ours is not None:
        same = and_(same, Contact.id != ours)  # our own id stands in for a missing one
    return same if op == "eq" else not_(same)


def _compare_department(op: str, value: Any) -> ColumnElement[bool]:
    units = select(Unit.id).where(Unit.municipality_id == Contact.municipality_id,
                                  text_attribute(Unit.name)(op, value))
    return Contact.unit_id.in_(units.scalar_subquery())


@contextlib.contextmanager
def _as_scim_attributes() -> Iterator[None]:
    """Turn a refusal of the directory into a 400 naming the SCIM attribute at fault."""
    try:
        yield
    except DirectoryError as error:
        attribute = _ATTRIBUTE_OF_FIELD.get(error.field, error.field)
        raise ScimError(400, f"{attribute}: {error.message}", "invalidValue") from error
