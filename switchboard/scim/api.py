"""The SCIM 2.0 endpoints: Users, Groups, ServiceProviderConfig, Schemas, ResourceTypes.

A provisioning client (Entra ID, Okta) pushes with a directory editor's bearer token; what
it creates lands in the token's home municipality and belongs to that municipality's SCIM
source. Ids of anything else, another municipality's included, are unknown here (404).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, request, url_for
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from services.context import db_session, require_principal
from switchboard.access import editing
from switchboard.models import Contact, DirectorySource, Unit
from switchboard.scim import groups, users
from switchboard.scim.errors import ScimError, register_error_handlers, scim_response
from switchboard.scim.filter import Comparison, parse_filter, to_sql
from switchboard.scim.patch import patched
from switchboard.scim.resources import scim_source, version
from switchboard.scim.schemas import (
    GROUPS,
    LIST_RESPONSE,
    MAX_PAGE,
    RESOURCE_TYPES,
    SCHEMAS,
    USERS,
    service_provider_config,
)

blueprint = Blueprint("switchboard_scim", __name__, url_prefix="/scim/v2")
register_error_handlers(blueprint)

DEFAULT_PAGE = 100
_ALWAYS_RETURNED = {"schemas", "id"}
_LAST_START = 2**31 - 1
"""Beyond any directory, and within what every database's OFFSET takes."""


@blueprint.get("/ServiceProviderConfig")
def get_service_provider_config() -> Response:
    """What this service provider supports."""
    location = url_for(".get_service_provider_config", _external=True)
    return scim_response(service_provider_config(location))


@blueprint.get("/Schemas")
def list_schemas() -> Response:
    """The schemas of Users, Groups and their extensions."""
    documents = [s.document(_schema_location(s.id)) for s in SCHEMAS.values()]
    return _list_response(documents, len(documents), 1)


@blueprint.get("/Schemas/<schema_id>")
def get_schema(schema_id: str) -> Response:
    """One schema, by its URN."""
    schema = next((s for urn, s in SCHEMAS.items() if urn.lower() == schema_id.lower()), None)
    if schema is None:
        raise ScimError(404, f"No schema {schema_id!r}.")
    return scim_response(schema.document(_schema_location(schema.id)))


@blueprint.get("/ResourceTypes")
def list_resource_types() -> Response:
    """The resource types: User and Group."""
    documents = [t.document(_resource_type_location(t.name)) for t in RESOURCE_TYPES.values()]
    return _list_response(documents, len(documents), 1)


@blueprint.get("/ResourceTypes/<name>")
def get_resource_type(name: str) -> Response:
    """One resource type, by its name."""
    found = next((t for n, t in RESOURCE_TYPES.items() if n.lower() == name.lower()), None)
    if found is None:
        raise ScimError(404, f"No resource type {name!r}.")
    return scim_response(found.document(_resource_type_location(found.name)))


@blueprint.get("/Users")
def list_users() -> Response:
    """The municipality's SCIM users matching ``filter``, a page at a time."""
    with _directory() as directory:
        start, count = _paging()
        total, contacts = users.find_users(directory.session, directory.source,
                                           _where(users.user_filters()), start, count)
        units = users.departments(directory.session, contacts)
        resources = [_projected(_user(directory, c, units.get(c.unit_id))) for c in contacts]
        return _list_response(resources, total, start)


@blueprint.post("/Users")
def create_user() -> Response:
    """Provision a user (201); 409 when its userName or externalId is taken."""
    with _directory(create_source=True) as directory:
        assert directory.source is not None
        contact = users.create_user(directory.session, directory.source, _body())
        return _resource_response(_user_with_unit(directory, contact), contact, 201)


@blueprint.get("/Users/<user_id>")
def get_user(user_id: str) -> Response:
    """One user, by our id."""
    with _directory() as directory:
        contact = users.find_user(directory.session, directory.source, user_id)
        return _resource_response(_projected(_user_with_unit(directory, contact)), contact)


@blueprint.put("/Users/<user_id>")
def replace_user(user_id: str) -> Response:
    """Replace a user's attributes; the same body twice changes nothing the second time."""
    with _directory() as directory:
        contact = users.find_user(directory.session, directory.source, user_id)
        _check_version(contact)
        assert directory.source is not None
        users.replace_user(directory.session, directory.source, contact, _body())
        return _resource_response(_user_with_unit(directory, contact), contact)


@blueprint.patch("/Users/<user_id>")
def patch_user(user_id: str) -> Response:
    """Change some of a user's attributes (PatchOp)."""
    with _directory() as directory:
        contact = users.find_user(directory.session, directory.source, user_id)
        _check_version(contact)
        assert directory.source is not None
        wanted = patched(_user_with_unit(directory, contact), _body(), USERS)
        users.replace_user(directory.session, directory.source, contact, wanted)
        return _resource_response(_user_with_unit(directory, contact), contact)


@blueprint.delete("/Users/<user_id>")
def delete_user(user_id: str) -> Response:
    """Deprovision a user: they are marked as left and stay findable for six months."""
    with _directory() as directory:
        contact = users.find_user(directory.session, directory.source, user_id)
        _check_version(contact)
        users.leave(directory.session, contact)
        return scim_response(None, 204)


@blueprint.get("/Groups")
def list_groups() -> Response:
    """The municipality's SCIM groups matching ``filter``, a page at a time."""
    with _directory() as directory:
        start, count = _paging()
        total, units = groups.find_groups(directory.session, directory.source,
                                          _where(groups.group_filters()), start, count)
        members = (groups.members_of(directory.session, directory.source, units)
                   if directory.source is not None and _wants("members") else {})
        resources = [_projected(_group(directory, u, members.get(u.id, []))) for u in units]
        return _list_response(resources, total, start)


@blueprint.post("/Groups")
def create_group() -> Response:
    """Provision a group as a unit (201); 409 when its displayName or externalId is taken."""
    with _directory(create_source=True) as directory:
        assert directory.source is not None
        unit = groups.create_group(directory.session, directory.source, _body())
        return _resource_response(_group_with_members(directory, unit), unit, 201)


@blueprint.get("/Groups/<group_id>")
def get_group(group_id: str) -> Response:
    """One group, by our id."""
    with _directory() as directory:
        unit = groups.find_group(directory.session, directory.source, group_id)
        return _resource_response(_projected(_group_with_members(directory, unit)), unit)


@blueprint.put("/Groups/<group_id>")
def replace_group(group_id: str) -> Response:
    """Replace a group's name, externalId and (when given) members."""
    with _directory() as directory:
        unit = groups.find_group(directory.session, directory.source, group_id)
        _check_version(unit)
        assert directory.source is not None
        groups.replace_group(directory.session, directory.source, unit, _body())
        return _resource_response(_group_with_members(directory, unit), unit)


@blueprint.patch("/Groups/<group_id>")
def patch_group(group_id: str) -> Response:
    """Change a group (PatchOp): rename it, add or remove members."""
    with _directory() as directory:
        unit = groups.find_group(directory.session, directory.source, group_id)
        _check_version(unit)
        assert directory.source is not None
        wanted = patched(_group_with_members(directory, unit), _body(), GROUPS)
        groups.replace_group(directory.session, directory.source, unit, wanted)
        return _resource_response(_group_with_members(directory, unit), unit)


@blueprint.delete("/Groups/<group_id>")
def delete_group(group_id: str) -> Response:
    """Remove a group's unit, taking its members out of it (204)."""
    with _directory() as directory:
        unit = groups.find_group(directory.session, directory.source, group_id)
        _check_version(unit)
        assert directory.source is not None
        groups.delete_group(directory.session, directory.source, unit)
        return scim_response(None, 204)


# --- private helpers ------------------------------------------------------------------

@dataclass(frozen=True)
class _Directory:
    """What a request works on: the session, the SCIM source (if any yet), the tenant."""

    session: Session
    source: DirectorySource | None
    municipality_id: uuid.UUID
    municipality: str


@contextlib.contextmanager
def _directory(*, create_source: bool = False) -> Iterator[_Directory]:
    """The token's home municipality, for a directory editor of it (401/403 otherwise)."""
    with editing() as scope:
        assert scope.home is not None
        session = db_session()
        source = scim_source(session, scope.home, create=create_source)
        yield _Directory(session, source, scope.home,
                         require_principal().home_municipality_slug)


def _user(directory: _Directory, contact: Contact, department: str | None
          ) -> dict[str, Any]:
    location = url_for(".get_user", user_id=str(contact.id), _external=True)
    return users.user_resource(contact, department=department,
                               municipality=directory.municipality, location=location)


def _user_with_unit(directory: _Directory, contact: Contact) -> dict[str, Any]:
    unit = (directory.session.get(Unit, (contact.municipality_id, contact.unit_id))
            if contact.unit_id is not None else None)
    return _user(directory, contact, unit.name if unit is not None else None)


def _group(directory: _Directory, unit: Unit, members: list[Contact]) -> dict[str, Any]:
    return groups.group_resource(
        unit, members, municipality=directory.municipality,
        location=url_for(".get_group", group_id=str(unit.id), _external=True),
        user_location=lambda user_id: url_for(".get_user", user_id=str(user_id),
                                              _external=True),
    )


def _group_with_members(directory: _Directory, unit: Unit) -> dict[str, Any]:
    assert directory.source is not None
    members = groups.members_of(directory.session, directory.source, [unit])[unit.id]
    return _group(directory, unit, members)


def _body() -> Any:
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise ScimError(400, "The body must be a JSON object.", "invalidSyntax")
    return body


def _where(attributes: dict[str, Comparison]) -> ColumnElement[bool] | None:
    text = request.args.get("filter", "").strip()
    return to_sql(parse_filter(text), attributes) if text else None


def _paging() -> tuple[int, int]:
    """``startIndex`` (1-based, at least 1) and ``count`` (0 to MAX_PAGE)."""
    try:
        start = int(request.args.get("startIndex", 1))
        count = int(request.args.get("count", DEFAULT_PAGE))
    except ValueError as error:
        raise ScimError(400, "startIndex and count are whole numbers.",
                        "invalidValue") from error
    return min(max(start, 1), _LAST_START), min(max(count, 0), MAX_PAGE)


def _check_version(row: Contact | Unit) -> None:
    wanted = request.headers.get("If-Match", "").strip()
    if wanted and wanted != "*" and version(row) not in (v.strip() for v in wanted.split(",")):
        raise ScimError(412, "The resource changed since this version was read.")


def _requested(name: str) -> set[str]:
    return {_top_level(a) for a in request.args.get(name, "").split(",") if a.strip()}


def _wants(attribute: str) -> bool:
    """Whether the response includes ``attribute`` (sparing the query for members if not)."""
    wanted, excluded = _requested("attributes"), _requested("excludedAttributes")
    key = attribute.lower()
    return (not wanted or key in wanted) and key not in excluded


def _projected(resource: dict[str, Any]) -> dict[str, Any]:
    """``resource`` with only the ``attributes`` asked for, or without ``excludedAttributes``."""
    wanted, excluded = _requested("attributes"), _requested("excludedAttributes")
    return {key: value for key, value in resource.items()
            if key.lower() in _ALWAYS_RETURNED
            or ((not wanted or key.lower() in wanted) and key.lower() not in excluded)}


def _top_level(attribute: str) -> str:
    """The top-level key an attribute path falls under (an extension's URN for its attributes)."""
    lowered = attribute.strip().lower()
    for urn in SCHEMAS:
        if lowered == urn.lower() or lowered.startswith(f"{urn.lower()}:"):
            if urn in (USERS.schema.id, GROUPS.schema.id):
                return lowered[len(urn) + 1:].split(".")[0]
            return urn.lower()
    return lowered.split(".")[0]


def _list_response(resources: list[dict[str, Any]], total: int, start: int) -> Response:
    return scim_response({"schemas": [LIST_RESPONSE], "totalResults": total,
                          "itemsPerPage": len(resources), "startIndex": start,
                          "Resources": resources})


def _resource_response(resource: dict[str, Any], row: Contact | Unit, status: int = 200
                       ) -> Response:
    headers = {"ETag": version(row)}
    if status == 201:
        headers["Location"] = resource["meta"]["location"]
    return scim_response(resource, status, headers)


def _schema_location(schema_id: str) -> str:
    return url_for(".get_schema", schema_id=schema_id, _external=True)


def _resource_type_location(name: str) -> str:
    return url_for(".get_resource_type", name=name, _external=True)
