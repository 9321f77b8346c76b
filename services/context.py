"""What a request handler needs from the platform: its session and its principal.

The session is opened on first use, carries the tenant hooks, and is committed once (or
rolled back) by the request boundary in :mod:`services.factory`.
"""

from __future__ import annotations

from flask import current_app, g, request
from sqlalchemy.orm import Session

from services.errors import ApiError
from services.identity.principal import Principal
from services.settings_ext import extension

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Requests that only read (RFC 9110 safe methods): their session begins read-only."""


def db_session() -> Session:
    """The request's database session (one per request, committed at its end)."""
    session = g.get("samverkan_session")
    if session is None:
        platform = extension(current_app)
        reads_only = request.method in SAFE_METHODS
        session = (platform.read_session_factory if reads_only else platform.session_factory)()
        g.samverkan_session = session
    return session


def current_principal() -> Principal | None:
    """The authenticated principal, or None for an anonymous request."""
    return g.get("samverkan_principal")


def require_principal() -> Principal:
    """The authenticated principal; a 401 for anonymous requests."""
    principal = current_principal()
    if principal is None:
        raise ApiError(401, "Log in, or send a bearer token in the Authorization header.")
    return principal
