"""Rate limits on guessable secrets (passwords now, library PINs later).

Counters live in the storage ``SAMVERKAN_RATE_LIMIT_STORAGE_URL`` names (memory for the
embedded default, Redis in production, so that every gunicorn worker counts the same
attempts), in a moving window. Only the views that take a secret pay for this: a
decorator, not a hook on every request (a per-request limiter cost a third of a bare
request's time in bench/health.py).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, request
from limits import RateLimitItem, parse
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from services.errors import ApiError

F = TypeVar("F", bound=Callable[..., Any])

_limiters: dict[str, MovingWindowRateLimiter] = {}


def limit_login_attempts(view: F) -> F:
    """Limit POSTs to a login view per client address and per attempted username."""

    @functools.wraps(view)
    def limited(*args: Any, **kwargs: Any) -> Any:
        if request.method == "POST":
            count_attempt(f"login-address:{request.remote_addr}",
                          f"login-user:{_attempted_username()}")
        return view(*args, **kwargs)

    return limited  # type: ignore[return-value]


def count_attempt(*keys: str) -> None:
    """Count one attempt at a secret under each key (who and from where); a 429 with
    Retry-After once any of them has had ``SAMVERKAN_LOGIN_RATE_LIMIT`` attempts."""
    settings = current_app.extensions["samverkan"].settings
    rate = parse(settings.login_rate_limit)
    limiter = _limiter(settings.rate_limit_storage_url)
    for key in keys:
        _hit_or_refuse(limiter, rate, key)


def _hit_or_refuse(limiter: MovingWindowRateLimiter, rate: RateLimitItem, key: str) -> None:
    if limiter.hit(rate, "samverkan", key):
        return
    reset_at = limiter.get_window_stats(rate, "samverkan", key).reset_time
    retry_after = max(1, math.ceil(reset_at - time.time()))
    raise ApiError(429, f"Too many attempts; try again in {retry_after} seconds.",
                   headers={"Retry-After": str(retry_after)})


def _attempted_username() -> str:
    # Counting per username too stops one account being guessed from many addresses.
    payload = request.get_json(silent=True) if request.is_json else None
    username = payload.get("username") if isinstance(payload, dict) else None
    return str(username or request.form.get("username", "")).strip().lower()


def _limiter(storage_url: str) -> MovingWindowRateLimiter:
    limiter = _limiters.get(storage_url)
    if limiter is None:
        storage: Storage = storage_from_string(storage_url)
        limiter = _limiters[storage_url] = MovingWindowRateLimiter(storage)
    return limiter
