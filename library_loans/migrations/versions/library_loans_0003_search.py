"""The catalogue's search index: SQLite FTS5, or PostgreSQL tsvectors with GIN indexes.

The layout is described in ``library_loans.search.index``: one token column per field
group and analysis column, a column of facet tokens, and what a result list needs without
reading the record (its id, title order, media type, language, audience). SQLite keeps the
latter in a plain table beside the FTS5 table, keyed by the same rowid: FTS5 reads a stored
column back a row at a time, several times slower than a join.

Revision ID: library_loans_0003
Revises: library_loans_0002
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "library_loans_0003"
down_revision: str | None = "library_loans_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "library_record_search"
KEYS_TABLE = "library_record_search_keys"
TOKEN_COLUMNS = (
    "title_exact", "title_folded", "title_stems", "title_parts",
    "name_exact", "name_folded",
    "subject_exact", "subject_folded", "subject_stems", "subject_parts",
    "code_exact",
    "facets",
)


def upgrade() -> None:
    """Create the index for the database at hand."""
    if op.get_bind().dialect.name == "sqlite":
        _create_fts5()
    else:
        _create_tsvector_table()


def downgrade() -> None:
    """Drop the index (FTS5 drops its shadow tables with it)."""
    if op.get_bind().dialect.name == "sqlite":
        op.drop_table(KEYS_TABLE)
    op.drop_table(TABLE)


def _create_fts5() -> None:
    # The analysis has already lowercased, folded, stemmed and split every token, and
    # tokens are letters and digits only: unicode61 must keep them as they are, so it
    # removes no diacritics (å is not a). No positions are needed (every query term is
    # one token), so detail=column; the prefix indexes serve "mars*".
    op.execute(
        f"CREATE VIRTUAL TABLE {TABLE} USING fts5({', '.join(TOKEN_COLUMNS)}, "
        "tokenize = 'unicode61 remove_diacritics 0', prefix = '2 3 4', detail = column)"
    )
    op.create_table(
        KEYS_TABLE,
        sa.Column("search_rowid", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        *_listing_columns(collation=None),
        sa.PrimaryKeyConstraint("search_rowid", name=op.f(f"pk_{KEYS_TABLE}")),
        info={"shared": True},
    )


def _create_tsvector_table() -> None:
    op.create_table(
        TABLE,
        sa.Column("record_id", sa.Uuid(), nullable=False),
        *(sa.Column(name, postgresql.TSVECTOR(), nullable=False) for name in TOKEN_COLUMNS),
        *_listing_columns(collation="C"),
        sa.ForeignKeyConstraint(["record_id"], ["library_records.id"], ondelete="CASCADE",
                                name=op.f(f"fk_{TABLE}_record_id_library_records")),
        sa.PrimaryKeyConstraint("record_id", name=op.f(f"pk_{TABLE}")),
        info={"shared": True},
    )
    for name in TOKEN_COLUMNS:
        op.create_index(op.f(f"ix_{TABLE}_{name}"), TABLE, [name], postgresql_using="gin")


def _listing_columns(collation: str | None) -> list[sa.Column]:
    """What a result list is ordered and counted by; the sort key is ordered bytewise
    (SQLite's default, PostgreSQL's "C")."""
    return [
        sa.Column("sort_key", sa.Text(collation=collation), nullable=False),
        sa.Column("media_type", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=3), nullable=True),
        sa.Column("audience", sa.String(length=10), nullable=False),
    ]
