"""Alembic environment of refugee_reception (version table ``alembic_version_refugee_reception``)."""

from alembic import context

from services.migrate import run_environment

run_environment(context)
