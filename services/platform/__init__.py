"""The platform app at ``/``: start page, login, and the core API (me, tokens, audit)."""

from __future__ import annotations

import functools

from flask import Flask

from services.config import Settings
from services.factory import create_service_app


def create_app(settings: Settings | None = None) -> Flask:
    """The platform's own app: what every service links back to."""
    from services.platform.api import blueprint as api_blueprint
    from services.platform.web import blueprint as web_blueprint

    return create_service_app(
        "platform",
        "Samverkan platform",
        api_blueprints=[api_blueprint],
        web_blueprints=[web_blueprint],
        settings=settings,
        import_name=__name__,
    )


@functools.cache
def worker_flask_app() -> Flask:
    """The app whose context tasks run in (templates for mail, settings, translations)."""
    from worker.app import celery_app, settings_of

    return create_app(settings_of(celery_app))
