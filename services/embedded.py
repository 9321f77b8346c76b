"""The embedded default: every service mounted in one WSGI app under its prefix."""

from __future__ import annotations

import importlib

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from services.config import SERVICES, URL_PREFIXES, Settings
from services.platform import create_app as create_platform_app


def create_service(service: str, settings: Settings | None = None) -> Flask:
    """The Flask app of ``service`` ("platform" or a service package name)."""
    if service == "platform":
        return create_platform_app(settings)
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}; known: platform, {', '.join(SERVICES)}")
    return importlib.import_module(service).create_app(settings)


def create_embedded_app(settings: Settings | None = None) -> DispatcherMiddleware:
    """The platform at ``/`` and each service at its prefix, as nginx routes them."""
    mounts = {URL_PREFIXES[service]: create_service(service, settings) for service in SERVICES}
    return DispatcherMiddleware(create_platform_app(settings), mounts)
