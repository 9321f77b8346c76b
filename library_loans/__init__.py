"""Library loans: one library card and one catalogue for all public libraries."""

from __future__ import annotations

from flask import Flask

from services.config import Settings
from services.factory import create_service_app


def create_app(settings: Settings | None = None) -> Flask:
    """The library_loans service as its own Flask app (what gunicorn runs in production)."""
    from library_loans.api import blueprints
    from library_loans.web import blueprints as web_blueprints

    return create_service_app(
        "library_loans",
        "Biblioteken",
        api_blueprints=blueprints(),
        web_blueprints=web_blueprints(),
        settings=settings,
        import_name=__name__,
    )
