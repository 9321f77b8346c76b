"""What every page's template can use: the service list, locale, principal, CSRF token."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from services.config import URL_PREFIXES


@dataclass(frozen=True)
class ServiceLink:
    """A service as the navigation and the start page show it."""

    key: str
    name: str
    description: str
    url: str


_SERVICE_TEXTS = {
    "switchboard": (_l("Växeln"), _l("Den gemensamma växelns katalog och telefonistens konsol.")),
    "library_loans": (_l("Biblioteken"), _l("Ett lånekort och en katalog för alla bibliotek.")),
    "refugee_reception": (
        _l("Flyktingmottagande"),
        _l("Den gemensamma handboken med varje kommuns lokala tillägg."),
    ),
    "procurement": (
        _l("Upphandling"),
        _l("Samordnade upphandlingar där varje kommun själv ansluter och skriver under."),
    ),
}


def service_links() -> list[ServiceLink]:
    """Every service with its name, purpose and where it lives, for navigation."""
    return [
        ServiceLink(key, str(name), str(description), URL_PREFIXES[key] + "/")
        for key, (name, description) in _SERVICE_TEXTS.items()
    ]


def register_layout(app: Flask, service: str) -> None:
    """Give ``app``'s templates the context the base layout needs."""

    @app.context_processor
    def layout_context() -> dict[str, object]:
        from services.context import current_principal

        return {
            "current_service": service,
            "services_nav": service_links(),
            "principal": current_principal(),
            "locale": str(get_locale() or "sv"),
            "current_path": request.script_root + request.path,
        }
