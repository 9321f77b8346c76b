"""The search index: where each record is on a shelf now, and PostgreSQL's one-scan layout.

- ``places``: the municipalities where a record has a copy on a shelf now, kept in its
  index row, so that the public catalogue's "available now in" facet and filter read it
  instead of every matching record's copies (see ``library_loans.search.places``).
- PostgreSQL keeps every token column's tokens in one tsvector, each token coded with its
  column (``a_bok``), on one GIN index: a search reads each matching record once, where
  twelve columns with a GIN index each had it read once per column and weight. The rows
  are rewritten from the old columns, no record is analysed again.
- The index rows now change with every check-out and check-in (``places``), so
  PostgreSQL's table leaves room on each page for a row's new version beside the old
  (fillfactor): an update that changes no indexed column then touches no index.

Revision ID: library_loans_0005
Revises: library_loans_0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "library_loans_0005"
down_revision: str | None = "library_loans_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "library_record_search"
OLD = f"{TABLE}_0003"
KEYS_TABLE = "library_record_search_keys"
TOKEN_COLUMNS = (
    "title_exact", "title_folded", "title_stems", "title_parts",
    "name_exact", "name_folded",
    "subject_exact", "subject_folded", "subject_stems", "subject_parts",
    "code_exact",
    "facets",
)
CODES = {name: chr(ord("a") + n) for n, name in enumerate(TOKEN_COLUMNS)}
"""As ``library_loans.search.index.COLUMN_CODES`` (kept here as it was when written)."""
FK = f"fk_{TABLE}_record_id_library_records"


def upgrade() -> None:
    """Add ``places``; on PostgreSQL, rewrite the index in the one-tsvector layout."""
    if op.get_bind().dialect.name == "sqlite":
        op.add_column(KEYS_TABLE, sa.Column("places", sa.Text(), nullable=False,
                                            server_default=""))
        _fill_places(KEYS_TABLE, sqlite=True)
        return
    _set_aside_old_table()
    op.create_table(
        TABLE,
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("tokens", postgresql.TSVECTOR(), nullable=False),
        *_listing_columns(),
        sa.Column("places", sa.Text(), nullable=False, server_default=""),
        sa.ForeignKeyConstraint(["record_id"], ["library_records.id"], ondelete="CASCADE",
                                name=FK),
        sa.PrimaryKeyConstraint("record_id", name=f"pk_{TABLE}"),
        postgresql_with={"fillfactor": 70},
    )
    coded = " UNION ALL ".join(f"SELECT '{code}_' || lexeme FROM unnest(old.{name})"
                               for name, code in CODES.items())
    op.execute(
        f"INSERT INTO {TABLE} (record_id, tokens, sort_key, media_type, language, audience) "
        f"SELECT old.record_id, (SELECT array_to_tsvector(coalesce(array_agg(lexeme), "
        f"'{{}}')) FROM ({coded}) AS coded (lexeme)), old.sort_key, old.media_type, "
        f"old.language, old.audience FROM {OLD} AS old")
    op.drop_table(OLD)
    op.create_index(f"ix_{TABLE}_tokens", TABLE, ["tokens"], postgresql_using="gin")
    _fill_places(TABLE, sqlite=False)


def downgrade() -> None:
    """Drop ``places``; on PostgreSQL, split the tokens back into a column each."""
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(KEYS_TABLE) as batch:
            batch.drop_column("places")
        return
    op.execute(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
    op.execute(f"ALTER INDEX pk_{TABLE} RENAME TO pk_{OLD}")
    op.execute(f"ALTER TABLE {OLD} RENAME CONSTRAINT {FK} TO fk_{OLD}")
    op.drop_index(f"ix_{TABLE}_tokens", table_name=OLD)
    op.create_table(
        TABLE,
        sa.Column("record_id", sa.Uuid(), nullable=False),
        *(sa.Column(name, postgresql.TSVECTOR(), nullable=False) for name in TOKEN_COLUMNS),
        *_listing_columns(),
        sa.ForeignKeyConstraint(["record_id"], ["library_records.id"], ondelete="CASCADE",
                                name=FK),
        sa.PrimaryKeyConstraint("record_id", name=f"pk_{TABLE}"),
    )
    split = ", ".join(
        f"(SELECT array_to_tsvector(coalesce(array_agg(substr(lexeme, 3)), '{{}}')) "
        f"FROM unnest(old.tokens) WHERE left(lexeme, 2) = '{code}_')"
        for code in CODES.values())
    op.execute(
        f"INSERT INTO {TABLE} (record_id, {', '.join(TOKEN_COLUMNS)}, sort_key, media_type, "
        f"language, audience) SELECT old.record_id, {split}, old.sort_key, old.media_type, "
        f"old.language, old.audience FROM {OLD} AS old")
    op.drop_table(OLD)
    for name in TOKEN_COLUMNS:
        op.create_index(f"ix_{TABLE}_{name}", TABLE, [name], postgresql_using="gin")


def _set_aside_old_table() -> None:
    """Rename the 0003 table and the names the new table takes over."""
    op.execute(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
    op.execute(f"ALTER INDEX pk_{TABLE} RENAME TO pk_{OLD}")
    op.execute(f"ALTER TABLE {OLD} RENAME CONSTRAINT {FK} TO fk_{OLD}")


def _listing_columns() -> list[sa.Column]:
    return [
        sa.Column("sort_key", sa.Text(collation="C"), nullable=False),
        sa.Column("media_type", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=3), nullable=True),
        sa.Column("audience", sa.String(length=10), nullable=False),
    ]


def _fill_places(listing: str, *, sqlite: bool) -> None:
    # As the owner, past row-level security: every municipality's copies count.
    slugs = (
        "SELECT DISTINCT m.slug FROM library_items i "
        "JOIN municipalities m ON m.id = i.location_municipality_id "
        f"WHERE i.record_id = {listing}.record_id AND i.status = 'available' ORDER BY m.slug"
    )
    joined = (f"(SELECT ',' || group_concat(slug, ',') || ',' FROM ({slugs}))" if sqlite
              else f"(SELECT ',' || string_agg(slug, ',') || ',' FROM ({slugs}) AS shelved)")
    op.execute(f"UPDATE {listing} SET places = coalesce({joined}, '')")
