"""Named, audited cross-tenant scopes: the only way to reach past one's own municipalities.

A service declares each crossing it needs once, with the role that may use it, and
enters it with :func:`cross_tenant`. Entering writes one audit entry under every
municipality whose data is opened, so each municipality can read who looked at its data.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import event
from sqlalchemy.orm import Session

from services.audit.operations import record
from services.db import written_aside
from services.identity.principal import Principal
from services.tenancy.operations import participant_ids
from services.tenancy.scope import TenantScope, tenant_scope


class CrossingDenied(PermissionError):
    """The principal does not hold the role a cross-tenant scope requires."""


@dataclass(frozen=True)
class Crossing:
    """A declared cross-tenant scope: its name, purpose, required role and service."""

    name: str
    purpose: str
    role: str
    service: str
    audit_every: timedelta | None = None
    """For crossings entered on every keystroke (an operator's search): one audit entry per
    user and municipality per this interval and process, instead of one per request."""
    reach: str = "grants"
    """What the role opens: ``grants``, the municipalities the grants name (all of them for
    an all-municipality grant); ``participants``, every participant of the service once the
    role is granted in any one of them (a librarian's desk circulates the whole consortium's
    copies)."""


REACHES = ("grants", "participants")

_REGISTRY: dict[str, Crossing] = {}
_LAST_AUDITED: dict[tuple[str, uuid.UUID, uuid.UUID], float] = {}
_AUDIT_LOCK = threading.Lock()


def declare_crossing(name: str, purpose: str, *, role: str, service: str,
                     audit_every: timedelta | None = None, reach: str = "grants") -> Crossing:
    """Declare a named crossing once, at import time of the service that needs it."""
    if reach not in REACHES:
        raise ValueError(f"reach must be one of {', '.join(REACHES)}")
    crossing = Crossing(name, purpose, role, service, audit_every, reach)
    existing = _REGISTRY.setdefault(name, crossing)
    if existing != crossing:
        raise ValueError(f"crossing {name!r} is already declared differently")
    return crossing


@contextlib.contextmanager
def cross_tenant(
    session: Session, crossing: Crossing, principal: Principal
) -> Iterator[TenantScope]:
    """Widen the scope to every participant of the crossing's service the principal may see.

    A grant of the role for all municipalities opens every participant; one-municipality
    grants open those municipalities, or every participant when the crossing's reach is
    ``participants`` and one of them takes part. Without the role, :class:`CrossingDenied`.
    """
    taking_part = participant_ids(session, crossing.service)
    if principal.has_role_everywhere(crossing.role):
        ids = taking_part
    else:
        allowed = principal.municipalities_with(crossing.role)
        ids = [m for m in taking_part if m in allowed]
        if ids and crossing.reach == "participants":
            ids = taking_part
    if not ids:
        raise CrossingDenied(f"{crossing.name} requires the role {crossing.role!r}")
    home = principal.home_municipality_id if principal.home_municipality_id in ids else None
    with tenant_scope(TenantScope.of(ids, home=home, crossing=crossing.name)) as scope:
        assert scope is not None
        due = _due_for_audit(crossing, principal, ids)
        if due:
            with written_aside(session) as writer:
                for municipality_id in due:
                    record(writer, "crossing.entered", municipality_id=municipality_id,
                           actor=principal.username, actor_user_id=principal.user_id,
                           subject=crossing.name, details={"purpose": crossing.purpose})
                writer.flush()
                if writer is session:
                    _audit_again_if_rolled_back(session, crossing, principal, due)
        yield scope


def _due_for_audit(crossing: Crossing, principal: Principal,
                   municipality_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """The municipalities whose crossing by ``principal`` is to be audited now."""
    if crossing.audit_every is None:
        return list(municipality_ids)
    every = crossing.audit_every.total_seconds()
    moment = time.monotonic()
    due = []
    with _AUDIT_LOCK:
        for municipality_id in municipality_ids:
            key = (crossing.name, principal.user_id, municipality_id)
            last = _LAST_AUDITED.get(key)
            if last is None or moment - last >= every:
                _LAST_AUDITED[key] = moment
                due.append(municipality_id)
    return due


def _audit_again_if_rolled_back(session: Session, crossing: Crossing, principal: Principal,
                                municipality_ids: list[uuid.UUID]) -> None:
    """Entries written in the request's own transaction (a desk's POST) go if it rolls back
    (a refused checkout): then the next entry into the crossing is audited again."""

    def forget(_session: Session) -> None:
        with _AUDIT_LOCK:
            for municipality_id in municipality_ids:
                _LAST_AUDITED.pop((crossing.name, principal.user_id, municipality_id), None)
        event.remove(session, "after_commit", keep)

    def keep(_session: Session) -> None:
        event.remove(session, "after_rollback", forget)

    event.listen(session, "after_rollback", forget, once=True)
    event.listen(session, "after_commit", keep, once=True)
