"""Rate limits on guessable secrets (passwords now, library PINs later).

One limiter for every app in a process; its counters live in the storage that
``SAMVERKAN_RATE_LIMIT_STORAGE_URL`` names (memory for the embedded default, Redis in
production, so that every gunicorn worker counts the same attempts).
"""

from __future__ import annotations

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, default_limits=[])


def login_rate() -> str:
    """The configured limit for login attempts (per address and per username)."""
    return current_app.extensions["samverkan"].settings.login_rate_limit


def attempted_username() -> str:
    """The username a login attempt names, so one account is not guessed from many places."""
    payload = request.get_json(silent=True) if request.is_json else None
    username = (payload or {}).get("username") if isinstance(payload, dict) else None
    username = username or request.form.get("username", "")
    return "login-user:" + str(username).strip().lower()


def limit_login_attempts(view):  # type: ignore[no-untyped-def]
    """Limit POSTs to a login view per client address and per attempted username."""
    view = limiter.limit(login_rate, methods=["POST"])(view)
    return limiter.limit(login_rate, key_func=attempted_username, methods=["POST"])(view)
