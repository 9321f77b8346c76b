"""Library loans: one library card and one catalogue for all public libraries."""

from __future__ import annotations

from flask import Flask

from services.config import Settings
from services.factory import create_service_app


def create_app(settings: Settings | None = None) -> Flask:
    """The library_loans service as its own Flask app (what gunicorn runs in production)."""
    from library_loans.api import blueprint as api_blueprint
    from library_loans.api_records import blueprint as records_blueprint
    from library_loans.web import blueprint as web_blueprint

    return create_service_app(
        "library_loans",
        "Biblioteken",
        api_blueprints=[api_blueprint, records_blueprint],
        web_blueprints=[web_blueprint],
        settings=settings,
        import_name=__name__,
    )
