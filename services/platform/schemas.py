"""Marshmallow schemas of the platform API."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from services.tenancy.models import Municipality


class GrantSchema(Schema):
    """A role and where it holds (a municipality's slug, or "all")."""

    role = fields.String(required=True)
    scope = fields.String(required=True)


class MeSchema(Schema):
    """The authenticated user as the API describes them."""

    username = fields.String()
    display_name = fields.String()
    municipality = fields.String(metadata={"description": "slug of the home municipality"})
    locale = fields.String()
    grants = fields.List(fields.Nested(GrantSchema))


class TokenRequestSchema(Schema):
    """A request for a new bearer token with username and password."""

    username = fields.String(required=True, validate=validate.Length(min=1, max=100))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1000),
                             load_only=True)
    label = fields.String(load_default="", validate=validate.Length(max=200))


class NewTokenSchema(Schema):
    """A newly issued token: the secret is shown this once."""

    id = fields.UUID()
    token = fields.String()
    label = fields.String()
    expires_at = fields.DateTime()


class TokenSchema(Schema):
    """A bearer token as listed (never with its secret)."""

    id = fields.UUID()
    label = fields.String()
    created_at = fields.DateTime()
    expires_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class AuditEntrySchema(Schema):
    """One audit-log entry."""

    id = fields.UUID()
    municipality = fields.String()
    occurred_at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    subject = fields.String()
    details = fields.Dict()
    request_id = fields.String()


class AuditQuerySchema(Schema):
    """Filters and paging of the audit log."""

    action = fields.String(load_default=None, validate=validate.Length(max=100))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    before = fields.UUID(load_default=None, metadata={"description": "id of the last entry seen"})


class AuditPageSchema(Schema):
    """A page of audit entries, newest first, with the cursor for the next page."""

    results = fields.List(fields.Nested(AuditEntrySchema))
    next = fields.UUID(allow_none=True)


class MunicipalitySchema(Schema):
    """A municipality and the services it takes part in."""

    slug = fields.String()
    scb_code = fields.String()
    name = fields.String()
    county = fields.String()
    joined_on = fields.Date()
    population = fields.Integer(allow_none=True)
    population_year = fields.Integer(allow_none=True)
    services = fields.Dict(keys=fields.String(), values=fields.String())


def describe_municipality(municipality: Municipality) -> dict[str, Any]:
    """A municipality as MunicipalitySchema describes it, with its latest population."""
    latest = municipality.populations[-1] if municipality.populations else None
    return {
        "slug": municipality.slug,
        "scb_code": municipality.scb_code,
        "name": municipality.name,
        "county": municipality.county,
        "joined_on": municipality.joined_on,
        "population": latest.population if latest else None,
        "population_year": latest.year if latest else None,
        "services": {p.service: p.level for p in municipality.participations},
    }
