"""Who is asking: bearer tokens for the API, a session cookie for pages.

Tokens and session keys are both random secrets stored only as hashes (``ApiToken``,
kinds ``api`` and ``web``). Who a secret belongs to is kept for a few seconds per process
(:data:`PRINCIPALS`), since an operator's console sends a request on every keystroke:
logging out, revoking a token or changing a grant takes effect at once in the process
that did it, and in every other process within ``PRINCIPALS.seconds``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Response, current_app, request
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from services import clock
from services.db import written_aside
from services.errors import ApiError
from services.identity.models import ApiToken, RoleGrant, User
from services.identity.operations import issue_token, principal_for, resolve_token, token_digest
from services.identity.principal import Principal
from services.readcache import ReadCache
from services.tenancy.models import Municipality

SESSION_COOKIE = "samverkan_session"
_LAST_USED_GRANULARITY = timedelta(minutes=5)


@dataclass(frozen=True)
class _Authenticated:
    principal: Principal
    expires_at: datetime


PRINCIPALS: ReadCache[_Authenticated | None] = ReadCache(
    "principals", seconds=5.0, watches=(ApiToken, User, RoleGrant, Municipality))
"""Who each recently seen secret belongs to (by its digest); unknown secrets are not kept."""


def authenticate_request(session: Session) -> Principal | None:
    """The principal behind this request's bearer token or session cookie, if any.

    A malformed, unknown, revoked or expired bearer token is a 401, never a silent
    fallback to anonymous: a script should learn at once that its token stopped working.
    """
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise ApiError(401, "The Authorization header must be 'Bearer <token>'.")
        principal = _principal_for_secret(session, secret.strip(), kind="api")
        if principal is None:
            raise ApiError(401, "The bearer token is unknown, revoked or expired.")
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return _principal_for_secret(session, cookie, kind="web")
    return None


def start_web_session(session: Session, user: User, response: Response) -> None:
    """Log ``user`` in: store a new session key and set it as an HttpOnly cookie."""
    settings = current_app.extensions["samverkan"].settings
    lifetime = timedelta(hours=settings.session_lifetime_hours)
    secret, _ = issue_token(session, user, kind="web", label="web login", lifetime=lifetime)
    response.set_cookie(
        SESSION_COOKIE, secret, max_age=int(lifetime.total_seconds()), httponly=True,
        samesite="Lax", secure=settings.is_production, path="/",
    )


def end_web_session(session: Session, response: Response) -> None:
    """Log out: revoke the session key everywhere and drop the cookie."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        token = resolve_token(session, cookie, kind="web")
        if token is not None:
            token.revoked_at = clock.now()
    response.delete_cookie(SESSION_COOKIE, path="/")


def _principal_for_secret(session: Session, secret: str, *, kind: str) -> Principal | None:
    key = (kind, token_digest(secret))

    def load() -> _Authenticated | None:
        token = resolve_token(session, secret, kind=kind)
        if token is None:
            return None
        return _Authenticated(_principal_of(session, token), token.expires_at)

    found = PRINCIPALS.get(session, key, load)
    if found is None:
        return None
    if found.expires_at <= clock.now():
        PRINCIPALS.forget(session, key)
        return None
    return found.principal


def _principal_of(session: Session, token: ApiToken) -> Principal:
    now = clock.now()
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_GRANULARITY:
        # A plain UPDATE, not a change to the loaded token: noting that a token was used
        # must not clear the cache of who tokens belong to (see services.readcache).
        with written_aside(session) as writer:
            writer.execute(update(ApiToken).where(ApiToken.id == token.id)
                           .values(last_used_at=now))
        set_committed_value(token, "last_used_at", now)
    return principal_for(session, token.user)
