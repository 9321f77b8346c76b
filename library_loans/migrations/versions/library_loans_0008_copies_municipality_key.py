"""A copy's municipality is checked by its home branch's key alone.

``library_items`` had a foreign key of its own from ``municipality_id`` to the
municipalities, beside the composite key ``(municipality_id, home_branch_id)`` to the
branches, whose own key holds their municipality: every copy written was checked against
the municipalities twice. PostgreSQL runs a query per key and row; for the 285,000 copies
of a 100,000-record import that one was 0.95 s of the 4.9 s the copies took to write.

On PostgreSQL the key is dropped. SQLite keeps it: dropping a key there means building
the table anew and copying it, under the keys the loans and holds have to it, for a
check that costs the embedded default little.

Revision ID: library_loans_0008
Revises: library_loans_0007
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "library_loans_0008"
down_revision: str | None = "library_loans_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "library_items"
KEY = "fk_library_items_municipality_id_municipalities"


def upgrade() -> None:
    """Drop the copies' own key to the municipalities (PostgreSQL only)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_constraint(KEY, TABLE, type_="foreignkey")


def downgrade() -> None:
    """Add the key again."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_foreign_key(KEY, TABLE, "municipalities", ["municipality_id"], ["id"],
                          ondelete="RESTRICT")
