"""Staff users, their role grants, API tokens and web sessions (platform tables)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services import clock
from services.db import Base, HasId, HasTimestamps

ROLES = (
    "operator",
    "directory_editor",
    "librarian",
    "caseworker",
    "handbook_editor",
    "handbook_approver",
    "procurement_officer",
    "signatory",
    "municipality_admin",
    "platform_admin",
)
"""Every staff role; a grant pairs one with a municipality or with all of them."""

_ROLE_LIST = ", ".join(f"'{role}'" for role in ROLES)


class User(HasId, HasTimestamps, Base):
    """A member of staff, with a home municipality and role grants."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("username <> ''", name="username_not_empty"),)

    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    home_municipality_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("municipalities.id", ondelete="RESTRICT"), index=True
    )
    password_hash: Mapped[str | None] = mapped_column(String(300))
    locale: Mapped[str] = mapped_column(String(5), default="sv")
    active: Mapped[bool] = mapped_column(default=True)

    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )


class RoleGrant(HasId, Base):
    """A role held in one municipality (``municipality_id``) or in all (``NULL``)."""

    __tablename__ = "role_grants"
    __table_args__ = (
        CheckConstraint(f"role IN ({_ROLE_LIST})", name="known_role"),
        UniqueConstraint("user_id", "role", "municipality_id"),
        Index(
            "uq_role_grants_all_scope",
            "user_id",
            "role",
            unique=True,
            sqlite_where=text("municipality_id IS NULL"),
            postgresql_where=text("municipality_id IS NULL"),
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(40))
    municipality_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("municipalities.id", ondelete="CASCADE")
    )
    granted_at: Mapped[datetime] = mapped_column(default=clock.now)
    granted_by: Mapped[str] = mapped_column(String(200), default="")

    user: Mapped[User] = relationship(back_populates="grants")


class ApiToken(HasId, Base):
    """A bearer token: random, stored as a SHA-256 hash, revocable and expiring."""

    __tablename__ = "api_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(10), default="api")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    __table_args__ = (CheckConstraint("kind IN ('api', 'web')", name="known_kind"),)

    user: Mapped[User] = relationship(lazy="joined")

    def is_valid(self, at: datetime) -> bool:
        """Whether the token may authenticate a request made at ``at``."""
        return self.revoked_at is None and self.expires_at > at and self.user.active
