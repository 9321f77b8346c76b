"""SCIM Groups as units (level enhet) of the municipality's SCIM source.

A person sits in one unit: adding a user to a group places them in its unit (moving them
out of any other), removing them takes them out of it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, not_, select, true
from sqlalchemy.orm import Session

from switchboard.models import Contact, DirectorySource, Keyword, Unit
from switchboard.operations.directory import (
    DirectoryError,
    create_unit,
    update_contact,
    update_unit,
)
from switchboard.scim.errors import ScimError
from switchboard.scim.filter import (
    Comparison,
    id_attribute,
    parse_id,
    text_attribute,
    time_attribute,
)
from switchboard.scim.resources import external_id, list_of, meta, text_of
from switchboard.scim.schemas import GROUP, SAMVERKAN


def group_filters() -> dict[str, Comparison]:
    """How each filterable Group attribute compares in SQL, keyed as filter paths are."""
    return {
        "id": id_attribute(Unit.id), "externalid": _compare_external_id,
        "displayname": text_attribute(Unit.name),
        "members": _compare_member, "members.value": _compare_member,
        "meta.created": time_attribute(Unit.created_at),
        "meta.lastmodified": time_attribute(Unit.updated_at),
    }


def find_groups(session: Session, source: DirectorySource | None,
                where: ColumnElement[bool] | None, start: int, count: int
                ) -> tuple[int, list[Unit]]:
    """How many of the source's groups match, and the page from ``start`` (1-based)."""
    if source is None:
        return 0, []
    condition = and_(Unit.source_id == source.id, where if where is not None else true())
    total = session.scalar(select(func.count()).select_from(Unit).where(condition)) or 0
    if count == 0:
        return total, []
    page = session.scalars(select(Unit).where(condition).order_by(Unit.id)
                           .offset(start - 1).limit(count)).all()
    return total, list(page)


def find_group(session: Session, source: DirectorySource | None, group_id: str) -> Unit:
    """The source's group with our id ``group_id``; a 404 for any other id."""
    wanted = parse_id(group_id)
    unit = None
    if source is not None and wanted is not None:
        unit = session.scalars(select(Unit).where(Unit.id == wanted,
                                                  Unit.source_id == source.id)).first()
    if unit is None:
        raise ScimError(404, f"No group with id {group_id!r}.")
    return unit


def members_of(session: Session, source: DirectorySource, units: Sequence[Unit]
               ) -> dict[uuid.UUID, list[Contact]]:
    """The source's users in each of ``units``, by unit id, in one query."""
    found: dict[uuid.UUID, list[Contact]] = {unit.id: [] for unit in units}
    if not units:
        return found
    for contact in session.scalars(select(Contact).where(
            Contact.source_id == source.id, Contact.unit_id.in_(found)).order_by(Contact.id)):
        found[contact.unit_id].append(contact)  # type: ignore[index]
    return found


def group_resource(unit: Unit, members: Sequence[Contact], *, municipality: str,
                   location: str, user_location: Callable[[uuid.UUID], str]
                   ) -> dict[str, Any]:
    """The SCIM form of a unit."""
    resource: dict[str, Any] = {"schemas": [GROUP, SAMVERKAN], "id": str(unit.id),
                                "displayName": unit.name}
    if external_id(unit) is not None:
        resource["externalId"] = unit.external_id
    resource["members"] = [{"value": str(c.id), "display": c.name, "type": "User",
                            "$ref": user_location(c.id)} for c in members]
    resource[SAMVERKAN] = {"municipality": municipality}
    resource["meta"] = meta("Group", unit, location)
    return resource


def create_group(session: Session, source: DirectorySource, body: Any) -> Unit:
    """Add the group ``body`` describes as a unit of the source's municipality."""
    name, wanted_external_id, member_ids = _group_input(body)
    _check_unique(session, source, name, wanted_external_id, None)
    try:
        unit = create_unit(session, name=name, level="enhet", source_id=source.id,
                           external_id=wanted_external_id,
                           municipality_id=source.municipality_id)
    except DirectoryError as error:
        raise ScimError(400, f"displayName: {error.message}", "invalidValue") from error
    unit.external_id = wanted_external_id or str(unit.id)
    if member_ids is not None:
        _set_members(session, source, unit, member_ids)
    session.flush()
    return unit


def replace_group(session: Session, source: DirectorySource, unit: Unit, body: Any) -> bool:
    """Make the unit what ``body`` describes (PUT); whether anything changed.

    Without ``members`` in the body the members stay; an empty list takes everyone out.
    """
    name, wanted_external_id, member_ids = _group_input(body)
    _check_unique(session, source, name, wanted_external_id, unit)
    try:
        changed = update_unit(session, unit, name=name,
                              external_id=wanted_external_id or str(unit.id))
    except DirectoryError as error:
        raise ScimError(400, f"displayName: {error.message}", "invalidValue") from error
    if member_ids is not None:
        changed |= _set_members(session, source, unit, member_ids)
    session.flush()
    return changed


def delete_group(session: Session, source: DirectorySource, unit: Unit) -> None:
    """Remove the unit, taking its members out of it; refused while the directory uses it."""
    in_use = (
        session.scalar(select(Unit.id).where(Unit.parent_id == unit.id).limit(1))
        or session.scalar(select(Keyword.id).where(Keyword.unit_id == unit.id).limit(1))
        or session.scalar(select(Contact.id).where(
            Contact.unit_id == unit.id, Contact.source_id.is_distinct_from(source.id)).limit(1))
    )
    if in_use:
        raise ScimError(409, "The unit has sub-units, keywords or people from other sources; "
                             "a directory editor must move them first.", "mutability")
    _set_members(session, source, unit, [])
    session.delete(unit)
    session.flush()


def _group_input(body: Any) -> tuple[str, str | None, list[uuid.UUID] | None]:
    if not isinstance(body, dict):
        raise ScimError(400, "The body must be a JSON object.", "invalidSyntax")
    name = text_of(body, "displayName", column=Unit.name)
    if not name:
        raise ScimError(400, "displayName is required.", "invalidValue")
    members = list_of(body, "members")
    member_ids = None
    if members is not None:
        member_ids = []
        for member in members:
            member_id = parse_id(text_of(member, "value", "members.value"))
            if member_id is None:
                raise ScimError(400, "members.value must be a user's id.", "invalidValue")
            if member_id not in member_ids:
                member_ids.append(member_id)
    return name, text_of(body, "externalId", column=Unit.external_id) or None, member_ids


def _check_unique(session: Session, source: DirectorySource, name: str,
                  wanted_external_id: str | None, unit: Unit | None) -> None:
    others = and_(Unit.source_id == source.id,
                  Unit.id != unit.id if unit is not None else true())
    if session.scalar(select(Unit.id).where(
            others, func.lower(Unit.name) == func.lower(name)).limit(1)):
        raise ScimError(409, f"A group with displayName {name!r} exists.", "uniqueness")
    if wanted_external_id and session.scalar(select(Unit.id).where(
            others, Unit.external_id == wanted_external_id).limit(1)):
        raise ScimError(409, f"A group with externalId {wanted_external_id!r} exists.",
                        "uniqueness")


def _set_members(session: Session, source: DirectorySource, unit: Unit,
                 member_ids: list[uuid.UUID]) -> bool:
    wanted = set(member_ids)
    users = {c.id: c for c in session.scalars(select(Contact).where(
        Contact.source_id == source.id, Contact.kind == "person",
        Contact.id.in_(wanted)))} if wanted else {}
    missing = wanted - users.keys()
    if missing:
        raise ScimError(400, f"members: no user with id {str(min(missing))!r}.",
                        "invalidValue")
    changed = False
    for contact in session.scalars(select(Contact).where(
            Contact.source_id == source.id, Contact.unit_id == unit.id)):
        if contact.id not in wanted:
            changed |= update_contact(session, contact, name=contact.name, unit_id=None)
    for contact in users.values():
        if contact.unit_id != unit.id:
            changed |= update_contact(session, contact, name=contact.name, unit_id=unit.id)
    return changed


def _compare_member(op: str, value: Any) -> ColumnElement[bool]:
    if op != "eq" or parse_id(value) is None:
        raise ScimError(400, "Compare members.value with eq and a user's id.", "invalidFilter")
    return exists().where(Contact.municipality_id == Unit.municipality_id,
                          Contact.unit_id == Unit.id, Contact.id == parse_id(value))


def _compare_external_id(op: str, value: Any) -> ColumnElement[bool]:
    if op not in ("eq", "ne") or not isinstance(value, str):
        raise ScimError(400, "Compare externalId with eq or ne and a string.", "invalidFilter")
    ours = parse_id(value)
    same = Unit.external_id == value
    if ours is not None:
        same = and_(same, Unit.id != ours)  # our own id stands in for a missing one
    return same if op == "eq" else not_(same)
