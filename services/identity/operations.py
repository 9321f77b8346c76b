"""Users, grants and tokens: the operations behind the CLI, the API and the login page."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services import clock
from services.audit.operations import record
from services.identity.models import ROLES, ApiToken, RoleGrant, User
from services.identity.passwords import hash_secret, needs_rehash, verify_secret
from services.identity.principal import Grant, Principal
from services.tenancy.models import Municipality

TOKEN_PREFIX = "svk_"  # noqa: S105 - a prefix that makes leaked tokens easy to scan for


class IdentityError(ValueError):
    """A request about users, grants or tokens that cannot be carried out."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def create_user(
    session: Session,
    username: str,
    municipality: Municipality,
    *,
    password: str | None = None,
    display_name: str = "",
    email: str = "",
    created_by: str,
) -> User:
    """Create a staff user at home in ``municipality``."""
    username = username.strip().lower()
    if not username or any(ch.isspace() for ch in username):
        raise IdentityError("username", "must be one word without spaces")
    if session.scalar(select(User.id).where(User.username == username)):
        raise IdentityError("username", f"{username!r} is already taken")
    if password is not None and len(password) < 10:
        raise IdentityError("password", "must be at least 10 characters")
    user = User(
        username=username,
        display_name=display_name or username,
        email=email,
        home_municipality_id=municipality.id,
        password_hash=hash_secret(password) if password is not None else None,
    )
    session.add(user)
    session.flush()
    record(session, "user.created", municipality_id=municipality.id, actor=created_by,
           subject=username)
    return user


def grant_role(
    session: Session, user: User, role: str, municipality: Municipality | None, *, granted_by: str
) -> RoleGrant:
    """Give ``user`` the ``role`` in ``municipality`` (or in all, when None); idempotent."""
    if role not in ROLES:
        raise IdentityError("role", f"unknown role {role!r}; known roles: {', '.join(ROLES)}")
    municipality_id = municipality.id if municipality else None
    for grant in user.grants:
        if grant.role == role and grant.municipality_id == municipality_id:
            return grant
    grant = RoleGrant(user=user, role=role, municipality_id=municipality_id, granted_by=granted_by)
    session.add(grant)
    session.flush()
    scope = municipality.slug if municipality else "all"
    # An all-municipality grant concerns every tenant; it is logged under the user's home.
    record(session, "grant.added",
           municipality_id=municipality_id or user.home_municipality_id,
           actor=granted_by, subject=user.username, details={"role": role, "scope": scope})
    return grant


def authenticate_password(session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, or None (same time either way)."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    stored = user.password_hash if user is not None and user.active else None
    if not verify_secret(stored, password):
        return None
    assert user is not None
    if needs_rehash(stored):
        user.password_hash = hash_secret(password)
    return user


def issue_token(
    session: Session, user: User, *, label: str = "", kind: str = "api",
    lifetime: timedelta,
) -> tuple[str, ApiToken]:
    """A new random bearer token for ``user``; only its hash is stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        token_hash=token_digest(secret),
        label=label,
        kind=kind,
        expires_at=clock.now() + lifetime,
    )
    session.add(token)
    session.flush()
    if kind == "api":
        record(session, "token.created", municipality_id=user.home_municipality_id,
               actor=user.username, actor_user_id=user.id, subject=label or str(token.id))
    return secret, token


def resolve_token(session: Session, secret: str, *, kind: str = "api") -> ApiToken | None:
    """The valid token matching ``secret``, or None when unknown, revoked or expired."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == token_digest(secret), ApiToken.kind == kind)
    )
    if token is None or not token.is_valid(clock.now()):
        return None
    return token


def revoke_token(session: Session, token: ApiToken, *, revoked_by: str) -> None:
    """Revoke ``token`` from now on (idempotent)."""
    if token.revoked_at is not None:
        return
    token.revoked_at = clock.now()
    if token.kind == "api":
        record(session, "token.revoked", municipality_id=token.user.home_municipality_id,
               actor=revoked_by, subject=token.label or str(token.id))


def principal_for(session: Session, user: User) -> Principal:
    """The principal a request made by ``user`` runs as."""
    slug, name = session.execute(
        select(Municipality.slug, Municipality.name).where(
            Municipality.id == user.home_municipality_id
        )
    ).one()
    return Principal(
        user_id=user.id,
        username=user.username,
        home_municipality_id=user.home_municipality_id,
        home_municipality_slug=slug,
        home_municipality_name=name,
        grants=tuple(Grant(g.role, g.municipality_id) for g in user.grants),
        locale=user.locale,
    )


def find_user(session: Session, username: str) -> User:
    """The user called ``username``; raises IdentityError when there is none."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise IdentityError("username", f"no user called {username!r}")
    return user


def find_user_by_id(session: Session, user_id: uuid.UUID) -> User | None:
    """The user with ``user_id``, or None."""
    return session.get(User, user_id)


def token_digest(secret: str) -> str:
    """How a token's secret is stored and looked up: its SHA-256, never the secret itself."""
    return hashlib.sha256(secret.encode()).hexdigest()
