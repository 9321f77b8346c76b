"""The tenant scope: which municipalities' rows the current request or task may touch.

There is one way to get it (:func:`current_scope`) and two ways to set it: the request
boundary from the authenticated principal, and the task base from the message. A scope is
never taken from a header or parameter the client picks.
"""

from __future__ import annotations

import contextlib
import contextvars
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass


class TenantScopeMissing(RuntimeError):
    """Tenant-owned data was touched with no tenant scope set (the layer fails closed)."""


class TenantScopeViolation(PermissionError):
    """A write would create or change a row outside the current tenant scope."""


@dataclass(frozen=True)
class TenantScope:
    """The municipalities in scope; ``home`` is where new rows land by default.

    ``crossing`` names the audited cross-tenant scope this is, or is ``None`` for the
    ordinary scope that follows from a principal's own grants.
    """

    municipality_ids: frozenset[uuid.UUID]
    home: uuid.UUID | None = None
    crossing: str | None = None

    @classmethod
    def of(cls, municipality_ids: Iterable[uuid.UUID], home: uuid.UUID | None = None,
           crossing: str | None = None) -> TenantScope:
        """A scope over ``municipality_ids`` (``home`` defaults to the only one)."""
        ids = frozenset(municipality_ids)
        if home is None and len(ids) == 1:
            home = next(iter(ids))
        if home is not None and home not in ids:
            raise ValueError("a scope's home municipality must be inside the scope")
        return cls(ids, home, crossing)

    def includes(self, municipality_id: uuid.UUID) -> bool:
        """Whether rows of ``municipality_id`` are visible in this scope."""
        return municipality_id in self.municipality_ids

    def as_setting(self) -> str:
        """The value for PostgreSQL's ``app.municipalities`` setting (sorted, commas)."""
        return ",".join(sorted(str(value) for value in self.municipality_ids))


_current: contextvars.ContextVar[TenantScope | None] = contextvars.ContextVar(
    "samverkan_tenant_scope", default=None
)


def current_scope() -> TenantScope:
    """The scope in force; raises :class:`TenantScopeMissing` when none is set."""
    scope = _current.get()
    if scope is None:
        raise TenantScopeMissing(
            "no tenant scope is set: tenant-owned data is only reachable inside "
            "services.tenancy.tenant_scope(...)"
        )
    return scope


def scope_or_none() -> TenantScope | None:
    """The scope in force, or ``None`` (for code that must tell the two apart)."""
    return _current.get()


@contextlib.contextmanager
def tenant_scope(scope: TenantScope | None) -> Iterator[TenantScope | None]:
    """Run the block with ``scope`` in force, restoring the previous one afterwards."""
    token = _current.set(scope)
    try:
        yield scope
    finally:
        _current.reset(token)


def clear_scope() -> None:
    """Forget any scope (used after every task, whatever it left behind)."""
    _current.set(None)
