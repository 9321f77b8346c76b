"""Writing and reading the audit log."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, insert, select
from sqlalchemy.orm import Session

from services import clock
from services.audit.models import AuditEntry
from services.ids import uuid7
from services.requestcontext import current_request_id


def record(
    session: Session,
    action: str,
    *,
    municipality_id: uuid.UUID,
    actor: str,
    actor_user_id: uuid.UUID | None = None,
    subject: str = "",
    details: dict[str, Any] | None = None,
) -> uuid.UUID:
    """Append an entry about ``municipality_id`` to the audit log; returns its id.

    Written with a plain INSERT, so it is appended even when the actor's scope does not
    include the municipality concerned (an operator crossing tenants is recorded under
    each municipality whose data was opened to them).
    """
    entry_id = uuid7()
    session.execute(
        insert(AuditEntry).values(
            municipality_id=municipality_id,
            id=entry_id,
            occurred_at=clock.now(),
            actor=actor,
            actor_user_id=actor_user_id,
            action=action,
            subject=subject,
            details=details or {},
            request_id=current_request_id(),
        )
    )
    return entry_id


def entries_in_scope(action: str | None = None) -> Select[tuple[AuditEntry]]:
    """A query for the audit entries the current scope may read, newest first."""
    query = select(AuditEntry).order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
    if action:
        query = query.where(AuditEntry.action == action)
    return query
