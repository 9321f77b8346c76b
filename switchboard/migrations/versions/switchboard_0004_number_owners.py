"""Numbers indexed by their owner: a contact's or a unit's numbers without a scan.

Revision ID: switchboard_0004
Revises: switchboard_0003
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = 'switchboard_0004'
down_revision: str | None = 'switchboard_0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain CREATE INDEX, not batch mode: on SQLite batch mode rebuilds the table, and
    # dropping the old copy with foreign keys on would cascade (see switchboard_0003).
    op.create_index('ix_switchboard_numbers_contact', 'switchboard_numbers',
                    ['municipality_id', 'contact_id'], unique=False)
    op.create_index('ix_switchboard_numbers_unit', 'switchboard_numbers',
                    ['municipality_id', 'unit_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_switchboard_numbers_unit', table_name='switchboard_numbers')
    op.drop_index('ix_switchboard_numbers_contact', table_name='switchboard_numbers')
