"""Who may read and change the library's data, and through which scopes.

- The public catalogue (no login) shows how many copies each municipality's branches have
  and how many are in: it reads the copies of every municipality that has joined the
  library service, in the scope :func:`public_catalogue` opens, and of their loans and
  holds only what a library's shelf shows anyway: when a copy on loan is due back, and how
  many wait for a title. Never who borrowed or reserved.
- Librarians circulate any copy of the consortium at their desk (a Vindeln copy is
  returned in Vännäs): the audited crossing :data:`CIRCULATION`, which the librarian role
  in any one library municipality opens onto every one (see :func:`circulation`). Only
  the desk enters it. They administer only their own municipality's branches, items,
  rules and patrons (see :func:`administering`).
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
from services.tenancy import TenantScope, tenant_scope
from services.tenancy.crossing import cross_tenant, declare_crossing
from services.tenancy.operations import participant_ids

SERVICE = "library_loans"

PUBLIC_CATALOGUE = "library_loans.public_catalogue"
"""The scope the public catalogue reads copy counts in (see :func:`public_catalogue`)."""

CIRCULATION = declare_crossing(
    "library_loans.circulation",
    "Librarians check out, check in and renew any copy of the consortium at their desk.",
    role="librarian",
    service=SERVICE,
    audit_every=timedelta(hours=1),
    reach="participants",
)

LIBRARIAN = "librarian"


def require_librarian() -> Principal:
    """The principal, if a librarian of their home municipality; else a 401 or 403."""
    principal = require_principal()
    if not principal.has_role(LIBRARIAN, principal.home_municipality_id):
        raise ApiError(403, "The library desk and its administration need the librarian "
                            "role in your municipality.")
    return principal


def may_work_in(principal: Principal, municipality_id: uuid.UUID) -> bool:
    """Whether the librarian may staff a desk of (or administer) ``municipality_id``: their
    home, or a municipality a grant of the librarian role names."""
    return municipality_id in principal.default_scope().municipality_ids and (
        principal.has_role(LIBRARIAN, municipality_id))


@contextlib.contextmanager
def circulation(session: Session, principal: Principal) -> Iterator[TenantScope]:
    """The desk's scope: every library municipality's copies, patrons, loans and holds.

    Entered only by the desk's routes, for a librarian of a library municipality; each
    municipality opened is told in its audit log (once an hour per librarian).
    """
    if principal.home_municipality_id not in participant_ids(session, SERVICE):
        raise ApiError(403, "Your municipality has not joined the library service.")
    with cross_tenant(session, CIRCULATION, principal) as scope:
        yield scope


@contextlib.contextmanager
def administering(session: Session) -> Iterator[TenantScope]:
    """Exactly the librarian's home municipality, for administering its library."""
    principal = require_librarian()
    home = principal.home_municipality_id
    if home not in participant_ids(session, SERVICE):
        raise ApiError(403, "Your municipality has not joined the library service.")
    with tenant_scope(TenantScope.of([home], home=home)) as scope:
        assert scope is not None
        yield scope


@contextlib.contextmanager
def public_catalogue(session: Session) -> Iterator[TenantScope]:
    """Every library municipality's items, for counting copies in the public catalogue.

    Not a principal's crossing (the catalogue needs no login) and not audited per search:
    it reads what every library shows on its shelves anyway, never who borrowed what.
    """
    ids = participant_ids(session, SERVICE)
    with tenant_scope(TenantScope.of(ids, crossing=PUBLIC_CATALOGUE)) as scope:
        assert scope is not None
        yield scope


HOLD_QUEUES = "library_loans.hold_queues"
"""The scope holds are placed, filled and passed on in (see :func:`hold_queues`)."""


@contextlib.contextmanager
def hold_queues(session: Session) -> Iterator[TenantScope]:
    """Every library municipality's copies and holds: a title's queue spans the consortium.

    Entered by a patron's own hold actions and by the worker's targeting; what a patron is
    shown is limited to their own holds by the pages, never by this scope.
    """
    ids = participant_ids(session, SERVICE)
    with tenant_scope(TenantScope.of(ids, crossing=HOLD_QUEUES)) as scope:
        assert scope is not None
        yield scope
