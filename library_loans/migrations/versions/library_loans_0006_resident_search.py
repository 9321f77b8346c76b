"""What a process's resident copy of the search index needs to stay true.

Each service process keeps the catalogue's search index in memory (see
``library_loans.search.resident``) and must learn what other processes changed:

- ``library_catalogue_revision``: one row, raised by every transaction that writes or drops
  records' index rows (an import, an edit); a process rebuilds its copy when it changes.
- ``copies_changed`` on each index row: stamped by a trigger whenever the row is written,
  as every change to a record's copies rewrites its ``places``. PostgreSQL stamps the
  writing transaction's id, so that a reader that remembers what its last look's snapshot
  could not see (ids from its xmax on, and the transactions it lists as running) misses
  no row committed since, whatever order transactions commit in. SQLite's writers take
  turns, so a counter one higher than any row's does the same.

And an index of each patron's unsettled fines, which every check-out sums.

Revision ID: library_loans_0006
Revises: library_loans_0005
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "library_loans_0006"
down_revision: str | None = "library_loans_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "library_record_search"
KEYS_TABLE = "library_record_search_keys"
REVISION_TABLE = "library_catalogue_revision"
STAMP = "library_search_copies_changed"


def upgrade() -> None:
    """Add the revision row's table, the stamp column, its index and its trigger; and the
    index of patrons' unsettled fines (summed at every check-out)."""
    op.create_index("ix_library_fines_patron_unsettled", "library_fines",
                    ["patron_municipality_id", "patron_id"],
                    postgresql_where=sa.text("settled_at IS NULL"),
                    sqlite_where=sa.text("settled_at IS NULL"))
    op.create_table(
        REVISION_TABLE,
        sa.Column("name", sa.String(20), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=f"pk_{REVISION_TABLE}"),
    )
    if op.get_bind().dialect.name == "sqlite":
        op.add_column(KEYS_TABLE, sa.Column("copies_changed", sa.BigInteger(), nullable=False,
                                            server_default="0"))
        op.create_index(f"ix_{KEYS_TABLE}_copies_changed", KEYS_TABLE, ["copies_changed"])
        op.execute(
            f"CREATE TRIGGER {STAMP} AFTER UPDATE OF places ON {KEYS_TABLE} BEGIN "
            f"UPDATE {KEYS_TABLE} SET copies_changed = "
            f"(SELECT coalesce(max(copies_changed), 0) + 1 FROM {KEYS_TABLE}) "
            f"WHERE search_rowid = NEW.search_rowid; END")
        return
    op.add_column(TABLE, sa.Column("copies_changed", sa.BigInteger(), nullable=False,
                                   server_default="0"))
    op.create_index(f"ix_{TABLE}_copies_changed", TABLE, ["copies_changed"])
    op.execute(
        f"CREATE FUNCTION {STAMP}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "NEW.copies_changed := pg_current_xact_id()::text::bigint; RETURN NEW; END $$")
    op.execute(f"CREATE TRIGGER {STAMP} BEFORE INSERT OR UPDATE ON {TABLE} "
               f"FOR EACH ROW EXECUTE FUNCTION {STAMP}()")


def downgrade() -> None:
    """Drop the trigger, the stamp column and the revision table."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {STAMP}")
        op.drop_index(f"ix_{KEYS_TABLE}_copies_changed", table_name=KEYS_TABLE)
        with op.batch_alter_table(KEYS_TABLE) as batch:
            batch.drop_column("copies_changed")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {STAMP} ON {TABLE}")
        op.execute(f"DROP FUNCTION IF EXISTS {STAMP}()")
        op.drop_index(f"ix_{TABLE}_copies_changed", table_name=TABLE)
        op.drop_column(TABLE, "copies_changed")
    op.drop_table(REVISION_TABLE)
    op.drop_index("ix_library_fines_patron_unsettled", table_name="library_fines")
