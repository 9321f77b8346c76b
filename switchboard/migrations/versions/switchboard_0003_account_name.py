"""Contacts' account name: the sign-in name a source knows a person by (SCIM userName).

Revision ID: switchboard_0003
Revises: switchboard_0002
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import services.db  # noqa: F401 - custom column types render as services.db.*

revision: str = 'switchboard_0003'
down_revision: str | None = 'switchboard_0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNIQUE_ACCOUNT_NAME = 'uq_switchboard_contacts_municipality_id_source_id_account_name'
UNIQUE_COLUMNS = ['municipality_id', 'source_id', 'account_name']


def upgrade() -> None:
    op.add_column('switchboard_contacts',
                  sa.Column('account_name', sa.String(length=254), nullable=True))
    _keep_scim_user_names()
    if _on_sqlite():
        # SQLite cannot add a constraint to a table; batch mode would rebuild the table, and
        # dropping the old copy with foreign keys on cascades into every contact's numbers,
        # keywords, absences and messages. A unique index is how SQLite keeps UNIQUE anyway.
        op.create_index(UNIQUE_ACCOUNT_NAME, 'switchboard_contacts', UNIQUE_COLUMNS, unique=True)
    else:
        op.create_unique_constraint(UNIQUE_ACCOUNT_NAME, 'switchboard_contacts', UNIQUE_COLUMNS)


def downgrade() -> None:
    if _on_sqlite():
        op.drop_index(UNIQUE_ACCOUNT_NAME, table_name='switchboard_contacts')
    else:
        op.drop_constraint(UNIQUE_ACCOUNT_NAME, 'switchboard_contacts', type_='unique')
    op.drop_column('switchboard_contacts', 'account_name')


def _keep_scim_user_names() -> None:
    """Until now a SCIM user's userName was their email: keep it, or clients lose them."""
    if not _on_sqlite():
        # Row-level security is forced on the owner too: let this update see every tenant.
        op.execute("SELECT set_config('app.municipalities', "
                   "(SELECT coalesce(string_agg(id::text, ','), '') FROM municipalities), true)")
    op.execute(
        "UPDATE switchboard_contacts SET account_name = email "
        "WHERE email <> '' AND EXISTS (SELECT 1 FROM switchboard_sources AS source "
        "WHERE source.municipality_id = switchboard_contacts.municipality_id "
        "AND source.id = switchboard_contacts.source_id AND source.kind = 'scim')"
    )
    if not _on_sqlite():
        op.execute("SELECT set_config('app.municipalities', '', true)")


def _on_sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'
