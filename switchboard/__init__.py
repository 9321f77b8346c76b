"""Switchboard: the joint switchboard's directory and operator console."""

from __future__ import annotations

from flask import Flask

from services.config import Settings
from services.factory import create_service_app


def create_app(settings: Settings | None = None) -> Flask:
    """The switchboard service as its own Flask app (what gunicorn runs in production)."""
    from switchboard.api import blueprint as api_blueprint
    from switchboard.web import blueprint as web_blueprint

    return create_service_app(
        "switchboard",
        "Växeln",
        api_blueprints=[api_blueprint],
        web_blueprints=[web_blueprint],
        settings=settings,
        import_name=__name__,
    )
