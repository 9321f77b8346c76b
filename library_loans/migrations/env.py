"""Alembic environment of library_loans (version table ``alembic_version_library_loans``)."""

from alembic import context

from services.migrate import run_environment

run_environment(context)
