"""What every page's template can use: the service list, locale, principal, CSRF token."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from flask import Flask, Response, current_app, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from services.config import URL_PREFIXES
from services.settings_ext import extension

LANGUAGE_COOKIE = "samverkan_lang"
"""The cookie that remembers a language picked with ``?lang=`` (read by the locale selector)."""

_LANGUAGES = {"sv": "Svenska", "en": "English"}
_LOGIN_ENDPOINT = "platform_web.login"


@dataclass(frozen=True)
class ServiceLink:
    """A service as the navigation and the start page show it."""

    key: str
    name: str
    description: str
    url: str


@dataclass(frozen=True)
class LanguageLink:
    """The link that shows the current page in the other language."""

    code: str
    name: str
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


def service_name(service: str) -> str:
    """The name people see for ``service`` ("platform" or a service package), translated."""
    if service in _SERVICE_TEXTS:
        return str(_SERVICE_TEXTS[service][0])
    return str(_l("Samverkans plattform"))


def register_layout(app: Flask, service: str) -> None:
    """Give ``app``'s templates the context the base layout needs."""

    @app.context_processor
    def layout_context() -> dict[str, object]:
        from services.context import current_principal

        locale = str(get_locale() or "sv")
        return {
            "current_service": service,
            "services_nav": service_links(),
            "principal": current_principal(),
            "locale": locale,
            "login_url": _login_url(),
            "other_language": _other_language(locale),
        }

    app.after_request(_remember_language)


def _current_path() -> str:
    # The page as the browser sees it: mount prefix, path and query, less a one-off ?lang=.
    args = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
    path = request.script_root + request.path
    return f"{path}?{urlencode(args)}" if args else path


def _login_url() -> str:
    # On the login page itself, keep where the user was going rather than "back to login".
    if request.endpoint == _LOGIN_ENDPOINT:
        target = request.values.get("next", "/")
    else:
        target = _current_path()
    return "/login?" + urlencode({"next": target})


def _other_language(locale: str) -> LanguageLink:
    code = "en" if locale == "sv" else "sv"
    args = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
    if request.endpoint == _LOGIN_ENDPOINT and "next" not in request.args:
        # After a failed login (a POST) "next" is in the form; the link must keep it too.
        args.append(("next", request.values.get("next", "/")))
    args.append(("lang", code))
    url = f"{request.script_root}{request.path}?{urlencode(args)}"
    return LanguageLink(code, _LANGUAGES[code], url)


def _remember_language(response: Response) -> Response:
    # Every app reads the same cookie, so a language picked on one page holds on every page.
    chosen = request.args.get("lang")
    if chosen in _LANGUAGES and request.cookies.get(LANGUAGE_COOKIE) != chosen:
        response.set_cookie(
            LANGUAGE_COOKIE, chosen, max_age=365 * 24 * 3600, path="/", httponly=True,
            samesite="Lax", secure=extension(current_app).settings.is_production,
        )
    return response
