"""Baseline of the procurement schema: the service starts with no tables of its own.

Revision ID: procurement_0001
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence

revision: str = "procurement_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to create yet."""


def downgrade() -> None:
    """Nothing to drop."""
