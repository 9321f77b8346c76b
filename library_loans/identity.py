"""Who a patron is: logged in with card number and PIN, remembered by a cookie.

Patrons are not staff users: they have no grants and never a bearer token of the platform.
Their session is a random secret in the ``samverkan_patron`` cookie, stored hashed
(:class:`library_loans.models.PatronSession`, in the patron's home municipality).

Two named scopes cross municipalities for a patron, and neither widens what they see:

- :func:`patron_sessions` finds whose a cookie is: the digest is unique, and the session
  may live in any library municipality (the card works everywhere).
- :func:`patron_account` reads and changes the patron's own loans, holds and fines,
  which belong to the municipalities owning the copies; every query made in it names
  the patron, so nobody else's rows are ever read.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from flask import Response, after_this_request, current_app, g, has_request_context, request
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from library_loans.access import SERVICE
from library_loans.models import Patron, PatronSession
from services import clock
from services.context import db_session
from services.errors import ApiError
from services.ratelimit import count_attempt
from services.tenancy import TenantScope, tenant_scope
from services.tenancy.operations import participant_ids

PATRON_COOKIE = "samverkan_patron"
SESSION_LIFETIME = timedelta(hours=4)
"""Shorter than a staff session: patrons often log in on a library's shared computer."""
SECRET_PREFIX = "lp_"  # noqa: S105 - a label in front of the secret, not one

PATRON_SESSIONS = "library_loans.patron_sessions"
"""The scope a patron's cookie is looked up in (see :func:`patron_sessions`)."""
PATRON_ACCOUNT = "library_loans.patron_account"
"""The scope a patron's own loans, holds and fines are read in (see :func:`patron_account`)."""

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class PatronPrincipal:
    """The logged-in patron of a request."""

    patron_id: uuid.UUID
    municipality_id: uuid.UUID
    card_number: str
    name: str
    locale: str = "sv"


def current_patron() -> PatronPrincipal | None:
    """The patron logged in on this request, if any."""
    if not has_request_context():
        return None
    if "samverkan_patron" not in g:
        secret = request.cookies.get(PATRON_COOKIE, "")
        g.samverkan_patron = patron_for_secret(db_session(), secret) if secret else None
    return g.samverkan_patron


def require_patron() -> PatronPrincipal:
    """The logged-in patron; a 401 when the request carries no valid patron session."""
    patron = current_patron()
    if patron is None:
        raise ApiError(401, "Log in with your library card number and PIN.")
    return patron


@contextlib.contextmanager
def patron_sessions(session: Session) -> Iterator[TenantScope]:
    """Every library municipality's patron sessions, to find the one a cookie names."""
    ids = participant_ids(session, SERVICE)
    with tenant_scope(TenantScope.of(ids, crossing=PATRON_SESSIONS)) as scope:
        assert scope is not None
        yield scope


@contextlib.contextmanager
def patron_account(session: Session, patron: PatronPrincipal) -> Iterator[TenantScope]:
    """Every library municipality, for the patron's own loans, holds and fines there.

    The home municipality is the patron's: what the patron creates (a hold) is theirs.
    """
    ids = set(participant_ids(session, SERVICE)) | {patron.municipality_id}
    scope = TenantScope.of(ids, home=patron.municipality_id, crossing=PATRON_ACCOUNT)
    with tenant_scope(scope):
        yield scope


def patron_record(session: Session, patron: PatronPrincipal) -> Patron:
    """The stored patron behind ``patron`` (inside :func:`patron_account`)."""
    found = session.get(Patron, (patron.municipality_id, patron.patron_id))
    if found is None:  # deleted while logged in
        raise ApiError(401, "Log in with your library card number and PIN.")
    return found


def issue_patron_session(session: Session, patron: Patron) -> str:
    """Start a session for ``patron``: store a new secret's digest, return the secret."""
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    with tenant_scope(TenantScope.of([patron.municipality_id])):
        session.add(PatronSession(municipality_id=patron.municipality_id, patron_id=patron.id,
                                  digest=secret_digest(secret), created_at=now,
                                  expires_at=now + SESSION_LIFETIME))
        session.flush()
    return secret


def patron_for_secret(session: Session, secret: str) -> PatronPrincipal | None:
    """Whose unexpired, unrevoked session ``secret`` is (None if nobody's)."""
    if not secret.startswith(SECRET_PREFIX):
        return None
    with patron_sessions(session):
        row = session.execute(
            select(Patron.id, Patron.municipality_id, Patron.card_number, Patron.name,
                   Patron.locale)
            .join(PatronSession, (PatronSession.municipality_id == Patron.municipality_id)
                  & (PatronSession.patron_id == Patron.id))
            .where(PatronSession.digest == secret_digest(secret),
                   PatronSession.revoked_at.is_(None),
                   PatronSession.expires_at > clock.now())).first()
    if row is None:
        return None
    return PatronPrincipal(patron_id=row.id, municipality_id=row.municipality_id,
                           card_number=row.card_number, name=row.name, locale=row.locale)


def start_patron_session(session: Session, patron: Patron) -> None:
    """Log ``patron`` in: a new session, its secret in an HttpOnly, SameSite=Lax cookie
    on this request's response."""
    _revoke_this_browsers_session(session)  # someone else logging in on a shared computer
    secret = issue_patron_session(session, patron)
    settings = current_app.extensions["samverkan"].settings
    path = _cookie_path()

    @after_this_request
    def set_cookie(response: Response) -> Response:
        response.set_cookie(PATRON_COOKIE, secret,
                            max_age=int(SESSION_LIFETIME.total_seconds()), httponly=True,
                            samesite="Lax", secure=settings.is_production, path=path)
        return response

    g.samverkan_patron = PatronPrincipal(patron.id, patron.municipality_id, patron.card_number,
                                         patron.name, patron.locale)


def end_patron_session(session: Session) -> None:
    """Log out: revoke this browser's session and drop the cookie."""
    _revoke_this_browsers_session(session)
    path = _cookie_path()

    @after_this_request
    def drop_cookie(response: Response) -> Response:
        response.delete_cookie(PATRON_COOKIE, path=path)
        return response

    g.samverkan_patron = None


def purge_ended_patron_sessions(session: Session, at: datetime | None = None) -> int:
    """Delete every patron session that expired or was logged out before ``at`` (now).

    An ended session opens nothing, and a row saying when a patron was logged in is
    nothing the library needs to keep. The worker runs this every night.
    """
    moment = at or clock.now()
    with patron_sessions(session):
        result = session.execute(delete(PatronSession).where(
            or_(PatronSession.expires_at <= moment, PatronSession.revoked_at <= moment)))
    return result.rowcount or 0  # type: ignore[attr-defined]


def secret_digest(secret: str) -> str:
    """How a session secret is stored and looked up: its SHA-256, never the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def limit_pin_attempts(view: F) -> F:
    """Limit POSTs to a patron login view per client address and per card number."""

    @functools.wraps(view)
    def limited(*args: Any, **kwargs: Any) -> Any:
        if request.method == "POST":
            count_pin_attempt()
        return view(*args, **kwargs)

    return limited  # type: ignore[return-value]


def count_pin_attempt() -> None:
    """Count this request's PIN attempt; a 429 (with Retry-After) once there are too many."""
    # Per card too: one card's PIN must not be guessed from many addresses.
    count_attempt(f"pin-address:{request.remote_addr}", f"pin-card:{_attempted_card()}")


def _attempted_card() -> str:
    payload = request.get_json(silent=True) if request.is_json else None
    card = payload.get("card_number") if isinstance(payload, dict) else None
    return str(card or request.form.get("card_number", "")).strip()[:40]


def _revoke_this_browsers_session(session: Session) -> None:
    secret = request.cookies.get(PATRON_COOKIE, "")
    if not secret:
        return
    with patron_sessions(session):
        stored = session.scalar(select(PatronSession).where(
            PatronSession.digest == secret_digest(secret), PatronSession.revoked_at.is_(None)))
        if stored is not None:
            stored.revoked_at = clock.now()
            session.flush()


def _cookie_path() -> str:
    return (request.script_root or "") + "/"
