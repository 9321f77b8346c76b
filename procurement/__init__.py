"""Procurement: joint procurements, joined and signed by each municipality."""

from __future__ import annotations

from flask import Flask

from services.config import Settings
from services.factory import create_service_app


def create_app(settings: Settings | None = None) -> Flask:
    """The procurement service as its own Flask app (what gunicorn runs in production)."""
    from procurement.api import blueprint as api_blueprint
    from procurement.web import blueprint as web_blueprint

    return create_service_app(
        "procurement",
        "Upphandling",
        api_blueprints=[api_blueprint],
        web_blueprints=[web_blueprint],
        settings=settings,
        import_name=__name__,
    )
