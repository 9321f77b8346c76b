"""Patron sessions: a patron's card-and-PIN login, remembered by a hashed cookie secret.

A tenant table like every other: keyed (municipality_id, id), with the patron it belongs
to under a composite foreign key. Row-level security is applied on PostgreSQL by the
securing step that runs after every upgrade (services.tenancy.rls.secure_database).

Revision ID: library_loans_0004
Revises: library_loans_0003
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import services.db  # noqa: F401 - custom column types render as services.db.*

revision: str = "library_loans_0004"
down_revision: str | None = "library_loans_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create library_patron_sessions."""
    op.create_table(
        "library_patron_sessions",
        sa.Column("patron_id", sa.Uuid(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", services.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", services.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", services.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("municipality_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("expires_at > created_at",
                           name=op.f("ck_library_patron_sessions_expires_after_creation")),
        sa.ForeignKeyConstraint(
            ["municipality_id", "patron_id"],
            ["library_patrons.municipality_id", "library_patrons.id"],
            name=op.f("fk_library_patron_sessions_municipality_id_patron_id_library_patrons"),
            ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["municipality_id"], ["municipalities.id"],
            name=op.f("fk_library_patron_sessions_municipality_id_municipalities"),
            ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("municipality_id", "id", name=op.f("pk_library_patron_sessions")),
        sa.UniqueConstraint("digest", name=op.f("uq_library_patron_sessions_digest")),
    )
    with op.batch_alter_table("library_patron_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_library_patron_sessions_patron",
                              ["municipality_id", "patron_id"], unique=False)


def downgrade() -> None:
    """Drop library_patron_sessions."""
    with op.batch_alter_table("library_patron_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_library_patron_sessions_patron")
    op.drop_table("library_patron_sessions")
