"""The platform API: who am I, my bearer tokens, my municipality's audit log, municipalities."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_smorest import Blueprint
from sqlalchemy import select

from services.audit.models import AuditEntry
from services.audit.operations import entries_in_scope
from services.context import db_session, require_principal
from services.errors import ApiError
from services.identity.models import ApiToken
from services.identity.operations import (
    authenticate_password,
    find_user_by_id,
    issue_token,
    revoke_token,
)
from services.platform.schemas import (
    AuditPageSchema,
    AuditQuerySchema,
    MeSchema,
    MunicipalitySchema,
    NewTokenSchema,
    TokenRequestSchema,
    TokenSchema,
    describe_municipality,
)
from services.ratelimit import limit_login_attempts
from services.settings_ext import extension
from services.tenancy.models import Municipality
from services.tenancy.operations import list_municipalities

blueprint = Blueprint("platform_api", __name__, url_prefix="/api", description="Platform core")


@blueprint.route("/me")
@blueprint.response(200, MeSchema)
def me() -> dict[str, Any]:
    """The authenticated user, home municipality and grants."""
    principal = require_principal()
    session = db_session()
    user = find_user_by_id(session, principal.user_id)
    assert user is not None
    slugs = _slugs_by_id()
    return {
        "username": user.username,
        "display_name": user.display_name,
        "municipality": principal.home_municipality_slug,
        "locale": user.locale,
        "grants": [
            {"role": g.role, "scope": slugs.get(g.municipality_id, "all")}
            for g in principal.grants
        ],
    }


@blueprint.route("/tokens", methods=["POST"])
@limit_login_attempts
@blueprint.arguments(TokenRequestSchema)
@blueprint.response(201, NewTokenSchema)
def create_token(payload: dict[str, Any]) -> dict[str, Any]:
    """Exchange username and password for a new bearer token (shown only in this reply)."""
    session = db_session()
    user = authenticate_password(session, payload["username"], payload["password"])
    if user is None:
        raise ApiError(401, "Wrong username or password.")
    lifetime = timedelta(days=extension(current_app).settings.token_lifetime_days)
    secret, token = issue_token(session, user, label=payload["label"], lifetime=lifetime)
    return {"id": token.id, "token": secret, "label": token.label, "expires_at": token.expires_at}


@blueprint.route("/tokens")
@blueprint.response(200, TokenSchema(many=True))
def list_tokens() -> list[ApiToken]:
    """The caller's own bearer tokens, newest first (secrets are never shown again)."""
    principal = require_principal()
    return list(
        db_session().scalars(
            select(ApiToken)
            .where(ApiToken.user_id == principal.user_id, ApiToken.kind == "api")
            .order_by(ApiToken.created_at.desc())
        )
    )


@blueprint.route("/tokens/<uuid:token_id>", methods=["DELETE"])
@blueprint.response(204)
def delete_token(token_id: uuid.UUID) -> None:
    """Revoke one of the caller's own bearer tokens."""
    principal = require_principal()
    session = db_session()
    token = session.scalar(
        select(ApiToken).where(
            ApiToken.id == token_id, ApiToken.user_id == principal.user_id, ApiToken.kind == "api"
        )
    )
    if token is None:
        raise ApiError(404, "You have no token with that id.")
    revoke_token(session, token, revoked_by=principal.username)


@blueprint.route("/audit")
@blueprint.arguments(AuditQuerySchema, location="query")
@blueprint.response(200, AuditPageSchema)
def audit_log(query: dict[str, Any]) -> dict[str, Any]:
    """Your own municipality's audit entries, newest first (needs municipality_admin)."""
    principal = require_principal()
    if not principal.has_role("municipality_admin", principal.home_municipality_id):
        raise ApiError(403, "Reading the audit log needs the role municipality_admin.")
    session = db_session()
    statement = entries_in_scope(query["action"]).where(
        AuditEntry.municipality_id == principal.home_municipality_id
    )
    if query["before"] is not None:
        statement = statement.where(AuditEntry.id < query["before"])
    rows = list(session.scalars(statement.limit(query["limit"] + 1)))
    page = rows[: query["limit"]]
    return {
        "results": [
            {
                "id": entry.id,
                "municipality": principal.home_municipality_slug,
                "occurred_at": entry.occurred_at,
                "actor": entry.actor,
                "action": entry.action,
                "subject": entry.subject,
                "details": entry.details,
                "request_id": entry.request_id,
            }
            for entry in page
        ],
        "next": page[-1].id if len(rows) > query["limit"] else None,
    }


@blueprint.route("/municipalities")
@blueprint.response(200, MunicipalitySchema(many=True))
def municipalities() -> list[dict[str, Any]]:
    """The cooperation's municipalities and the services each takes part in (public)."""
    rows = list_municipalities(db_session())
    return [describe_municipality(municipality) for municipality in rows]


def _slugs_by_id() -> dict[uuid.UUID | None, str]:
    rows = db_session().execute(select(Municipality.id, Municipality.slug))
    return {row.id: row.slug for row in rows}
