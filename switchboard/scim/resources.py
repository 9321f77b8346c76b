"""What Users and Groups share: the municipality's SCIM source, versions, meta, body fields."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from services import clock
from switchboard.models import Contact, DirectorySource, Unit
from switchboard.scim.errors import ScimError

SOURCE_NAME = "SCIM"
LOCAL_TIME = ZoneInfo("Europe/Stockholm")


def scim_source(session: Session, municipality_id: uuid.UUID, *, create: bool
                ) -> DirectorySource | None:
    """The municipality's SCIM source (created on first write when ``create``)."""
    source = session.scalars(
        select(DirectorySource)
        .where(DirectorySource.municipality_id == municipality_id,
               DirectorySource.kind == "scim")
        .order_by(DirectorySource.created_at, DirectorySource.id)
        .limit(1)
    ).first()
    if source is None and create:
        source = DirectorySource(municipality_id=municipality_id, name=SOURCE_NAME,
                                 kind="scim", settings={})
        session.add(source)
        session.flush()
    return source


def version(row: Contact | Unit) -> str:
    """The resource's ETag: a weak validator that changes whenever the row does."""
    return f'W/"{int(row.updated_at.timestamp() * 1_000_000)}"'


def meta(resource_type: str, row: Contact | Unit, location: str) -> dict[str, Any]:
    """The ``meta`` attribute of a resource."""
    return {"resourceType": resource_type, "created": _iso(row.created_at),
            "lastModified": _iso(row.updated_at), "location": location,
            "version": version(row)}


def external_id(row: Contact | Unit) -> str | None:
    """The client's ``externalId``; None when the row's source id is our own id."""
    return None if row.external_id in (None, str(row.id)) else row.external_id


def field_of(body: dict[str, Any], name: str, default: Any = None) -> Any:
    """A body field, whatever the case of its name (SCIM attribute names ignore case)."""
    wanted = name.lower()
    return next((v for k, v in body.items() if k.lower() == wanted), default)


def text_of(body: dict[str, Any], name: str, attribute: str | None = None, *,
            column: Any = None) -> str | None:
    """A string field (None when absent or null), no longer than ``column`` holds.

    Any other type, a NUL character or too long a string is a 400 invalidValue.
    """
    value = field_of(body, name)
    if value is None:
        return None
    attribute = attribute or name
    if not isinstance(value, str) or "\x00" in value:
        raise ScimError(400, f"{attribute} must be a string.", "invalidValue")
    value = value.strip()
    limit = getattr(getattr(column, "type", None), "length", None)
    if limit is not None and len(value) > limit:
        raise ScimError(400, f"{attribute} is longer than {limit} characters.", "invalidValue")
    return value


def object_of(body: dict[str, Any], name: str) -> dict[str, Any]:
    """A complex field ({} when absent); a 400 invalidValue when it is not an object."""
    value = field_of(body, name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ScimError(400, f"{name} must be an object.", "invalidValue")
    return value


def list_of(body: dict[str, Any], name: str) -> list[dict[str, Any]] | None:
    """A multi-valued field (None when absent); a 400 invalidValue unless a list of objects."""
    value = field_of(body, name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ScimError(400, f"{name} must be a list of objects.", "invalidValue")
    return value


def boolean_of(body: dict[str, Any], name: str) -> bool | None:
    """A boolean field; "True"/"False" as strings too (Entra ID sends those in PATCH)."""
    value = field_of(body, name)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if value is None or isinstance(value, bool):
        return value
    raise ScimError(400, f"{name} must be true or false.", "invalidValue")


def today() -> date:
    """The date in Sweden now (leaving dates are local dates)."""
    return clock.now().astimezone(LOCAL_TIME).date()


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
