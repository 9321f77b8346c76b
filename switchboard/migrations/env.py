"""Alembic environment of switchboard (version table ``alembic_version_switchboard``)."""

from alembic import context

from services.migrate import run_environment

run_environment(context)
