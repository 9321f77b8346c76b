"""Who may read and change the switchboard's directory.

Operators in Bjurholm answer for every municipality, so they read every participating
municipality's directory, through a named, audited crossing. Directory editors change
only their own municipality's directory (the municipalities their grants name).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import timedelta

from sqlalchemy.orm import Session

from services.context import require_principal
from services.errors import ApiError
from services.identity.principal import Principal
from services.tenancy import TenantScope, current_scope, tenant_scope
from services.tenancy.crossing import CrossingDenied, cross_tenant, declare_crossing

OPERATORS_READ_DIRECTORY = declare_crossing(
    "switchboard.operators_read_directory",
    "Switchboard operators answer calls for every municipality and read every directory.",
    role="operator",
    service="switchboard",
    audit_every=timedelta(hours=1),
)


@contextlib.contextmanager
def operators_read(session: Session, principal: Principal | None = None
                   ) -> Iterator[TenantScope]:
    """The scope an operator reads the directory in: every municipality they answer for.

    A caller without the operator role reads in its ordinary scope (its own municipality
    and those its grants name), so a directory editor can search their own directory.
    """
    principal = principal or require_principal()
    if not principal.has_role("operator"):
        yield current_scope()
        return
    try:
        with cross_tenant(session, OPERATORS_READ_DIRECTORY, principal) as scope:
            yield scope
    except CrossingDenied as error:  # pragma: no cover - has_role checked above
        raise ApiError(403, str(error)) from error


def require_editor(municipality_id: uuid.UUID | None = None) -> Principal:
    """The principal, if it may edit the directory of ``municipality_id`` (default: home)."""
    principal = require_principal()
    target = municipality_id or principal.home_municipality_id
    if not principal.has_role("directory_editor", target):
        raise ApiError(403, "Editing the directory needs the directory_editor role "
                            "for this municipality.")
    return principal


@contextlib.contextmanager
def editing(municipality_id: uuid.UUID | None = None) -> Iterator[TenantScope]:
    """A scope of exactly the one municipality an editor is changing."""
    principal = require_editor(municipality_id)
    target = municipality_id or principal.home_municipality_id
    with tenant_scope(TenantScope.of([target], home=target)) as scope:
        assert scope is not None
        yield scope
