"""Alembic environment of refugee_reception (its own version table)."""

from alembic import context

from services.migrate import run_environment

run_environment(context)
