"""Alembic environment of procurement (version table ``alembic_version_procurement``)."""

from alembic import context

from services.migrate import run_environment

run_environment(context)
