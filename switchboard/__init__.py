"""Switchboard: the joint switchboard's directory and operator console."""

from __future__ import annotations

from flask import Flask, Response

from services.config import Settings
from services.errors import error_response
from services.factory import create_service_app
from switchboard.operations.directory import DirectoryError


def create_app(settings: Settings | None = None) -> Flask:
    """The switchboard service as its own Flask app (what gunicorn runs in production)."""
    from switchboard.api import blueprints
    from switchboard.scim.api import blueprint as scim_blueprint
    from switchboard.web import blueprint as web_blueprint

    app = create_service_app(
        "switchboard",
        "Växeln",
        api_blueprints=blueprints(),
        web_blueprints=[web_blueprint, scim_blueprint],
        settings=settings,
        import_name=__name__,
    )
    app.register_error_handler(DirectoryError, _directory_error)
    return app


def _directory_error(error: DirectoryError) -> Response:
    return error_response(422, error.message, fields={"json": {error.field: [error.message]}})
