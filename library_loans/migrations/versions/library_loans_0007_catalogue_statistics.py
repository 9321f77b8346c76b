"""A function an import calls to bring the catalogue's planner statistics up to date.

PostgreSQL plans by statistics that autovacuum gathers a minute or more after a table
changed. A municipality's first import fills tables whose statistics knew none of its
copies, and the planner went on reading every copy it had already imported to look up
the barcodes of each new batch. ``ANALYZE`` needs the tables' owner and the app role owns
nothing, so the owner provides this one fixed statement, run with its rights (``SECURITY
DEFINER``, with a fixed search path) and callable by the app. ``SKIP_LOCKED``: a table
another transaction is analysing is left to it, so that two imports never wait for each
other here (the lock is held until the import's batch commits). SQLite needs nothing:
its planner uses the indexes without statistics.

Revision ID: library_loans_0007
Revises: library_loans_0006
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "library_loans_0007"
down_revision: str | None = "library_loans_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = "library_analyse_catalogue"


def upgrade() -> None:
    """Create the function (PostgreSQL only)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"CREATE FUNCTION {FUNCTION}() RETURNS void LANGUAGE sql SECURITY DEFINER "
        "SET search_path = public AS $$ "
        "ANALYZE (SKIP_LOCKED) library_records, library_record_isbns, library_items $$"
    )


def downgrade() -> None:
    """Drop the function."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
