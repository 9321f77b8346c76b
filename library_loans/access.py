"""Who may read and change the library's data, and through which scopes.

- The public catalogue (no login) shows how many copies each municipality's branches have
  and how many are in: it reads item counts of every municipality that has joined the
  library service, in the scope :func:`public_catalogue` opens. Nothing about patrons or
  loans is read in it.
- Librarians circulate any copy of the consortium at their desk (a Vindeln copy is
  returned in Vännäs): the audited crossing :data:`CIRCULATION`. They administer only
  their own municipality's branches, items and rules (their ordinary scope).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta

from sqlalchemy.orm import Session

from services.tenancy import TenantScope, tenant_scope
from services.tenancy.crossing import declare_crossing
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
)


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
