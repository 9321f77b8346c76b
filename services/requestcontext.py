"""Per-request (or per-task) context for logs and the audit log: request id and tenant."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "samverkan_request_id", default=""
)
_municipality: contextvars.ContextVar[str] = contextvars.ContextVar(
    "samverkan_log_municipality", default=""
)


def current_request_id() -> str:
    """The id of the request or task being served, or an empty string outside one."""
    return _request_id.get()


def current_log_municipality() -> str:
    """The slug of the principal's home municipality, for log lines."""
    return _municipality.get()


def bind(request_id: str, municipality: str = "") -> None:
    """Set the request id and municipality slug for the code that follows."""
    _request_id.set(request_id)
    _municipality.set(municipality)


def set_municipality(municipality: str) -> None:
    """Record which municipality the authenticated principal belongs to."""
    _municipality.set(municipality)


@contextlib.contextmanager
def bound(request_id: str, municipality: str = "") -> Iterator[None]:
    """Set the request id and municipality inside the block, restoring them after."""
    tokens = (_request_id.set(request_id), _municipality.set(municipality))
    try:
        yield
    finally:
        _request_id.reset(tokens[0])
        _municipality.reset(tokens[1])


def clear() -> None:
    """Forget the request context (after every request and task)."""
    _request_id.set("")
    _municipality.set("")
