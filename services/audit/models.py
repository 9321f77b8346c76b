"""Audit entries: append-only, one per sensitive action, owned by the municipality concerned."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from services import clock
from services.db import Base
from services.tenancy import TenantOwned


class AuditEntry(TenantOwned, Base):
    """One sensitive action: who did what, to what, when, and from which request."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_municipality_time", "municipality_id", "occurred_at"),
        {"info": {"append_only": True}},
    )

    occurred_at: Mapped[datetime] = mapped_column(default=clock.now)
    actor: Mapped[str] = mapped_column(String(200))
    actor_user_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(300), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    request_id: Mapped[str] = mapped_column(String(64), default="")
