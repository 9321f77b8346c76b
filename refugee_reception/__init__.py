"""Refugee reception: the common refugee-reception handbook."""

from __future__ import annotations

from flask import Flask

from services.config import Settings
from services.factory import create_service_app


def create_app(settings: Settings | None = None) -> Flask:
    """The refugee_reception service as its own Flask app (what gunicorn runs in production)."""
    from refugee_reception.api import blueprint as api_blueprint
    from refugee_reception.web import blueprint as web_blueprint

    return create_service_app(
        "refugee_reception",
        "Flyktingmottagande",
        api_blueprints=[api_blueprint],
        web_blueprints=[web_blueprint],
        settings=settings,
        import_name=__name__,
    )
