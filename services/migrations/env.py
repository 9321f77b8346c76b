"""Alembic environment of the platform core (version table ``alembic_version_core``)."""

from alembic import context

from services.migrate import run_environment

run_environment(context)
