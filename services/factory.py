"""The shared app factory: every service's ``create_app()`` is a call to :func:`create_service_app`.

It gives each service the same request boundary (authenticate, set the tenant scope, one
commit or rollback), the same error format, OpenAPI document, health endpoints, logs,
security headers, CSRF protection, translations and base layout.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, g, request
from flask_babel import Babel
from flask_smorest import Api
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from services import requestcontext
from services.config import Settings, load_settings
from services.errors import register_error_handlers
from services.health import health_blueprint
from services.identity.auth import authenticate_request
from services.logs import configure_logging
from services.security import CachedSigningSessionInterface, add_security_headers
from services.settings_ext import Samverkan, read_session_factory_for, session_factory_for
from services.tenancy import clear_scope, tenant_scope
from services.web.apidocs import blueprint as api_docs_blueprint
from services.web.layout import LANGUAGE_COOKIE, register_layout

log = logging.getLogger("samverkan.requests")

WEB_DIR = Path(__file__).parent / "web"
TRANSLATIONS_DIR = Path(__file__).parent / "translations"
LOCALES = ("sv", "en")


def create_service_app(
    service: str,
    title: str,
    *,
    api_blueprints: Iterable[Blueprint] = (),
    web_blueprints: Iterable[Blueprint] = (),
    settings: Settings | None = None,
    import_name: str | None = None,
    on_ready: Callable[[Flask], None] | None = None,
) -> Flask:
    """Build the Flask app of ``service`` with the platform's middleware around it."""
    settings = settings or load_settings()
    configure_logging(settings.log_format, settings.log_level)
    app = Flask(
        import_name or service,
        template_folder=str(WEB_DIR / "templates"),
        static_folder=str(WEB_DIR / "static"),
        static_url_path="/static",
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        TESTING=settings.environment == "test",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
        SESSION_COOKIE_NAME="samverkan_csrf",
        SESSION_COOKIE_PATH="/",
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_CHECK_DEFAULT=False,
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
        API_TITLE=title,
        API_VERSION="1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        BABEL_DEFAULT_LOCALE=settings.default_locale,
        BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS_DIR),
        API_SPEC_OPTIONS={
            "components": {
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer"},
                    "session": {"type": "apiKey", "in": "cookie", "name": "samverkan_session"},
                }
            },
            "security": [{"bearer": []}, {"session": []}, {}],
        },
    )
    session_factory = session_factory_for(settings)
    app.extensions["samverkan"] = Samverkan(
        service=service,
        settings=settings,
        engine=session_factory.kw["bind"],
        session_factory=session_factory,
        read_session_factory=read_session_factory_for(settings),
    )
    app.session_interface = CachedSigningSessionInterface()
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_prefix=1)  # type: ignore[method-assign]

    Babel(app, locale_selector=_select_locale)
    CSRFProtect(app)
    register_layout(app, service)

    api = Api(app)
    register_error_handlers(app)  # after Api(app), whose own HTTP error handler it replaces
    api.register_blueprint(health_blueprint())
    for blueprint in api_blueprints:
        api.register_blueprint(blueprint)
    app.register_blueprint(api_docs_blueprint)
    for blueprint in web_blueprints:
        app.register_blueprint(blueprint)
    app.extensions["samverkan_api"] = api

    app.before_request(_check_csrf)
    app.before_request(_open_request)
    app.after_request(_finish_request)
    app.teardown_request(_close_request)
    if on_ready:
        on_ready(app)
    return app


def _open_request() -> None:
    g.samverkan_started = time.perf_counter()
    request_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex
    g.samverkan_request_id = request_id
    requestcontext.bind(request_id)
    if request.endpoint in _UNAUTHENTICATED_ENDPOINTS or request.endpoint == "static":
        return
    from services.context import db_session

    principal = authenticate_request(db_session())
    g.samverkan_principal = principal
    if principal is not None:
        requestcontext.set_municipality(principal.home_municipality_slug)
        scope_manager = tenant_scope(principal.default_scope())
        scope_manager.__enter__()
        g.samverkan_scope_manager = scope_manager


def _finish_request(response: Response) -> Response:
    session = g.pop("samverkan_session", None)
    # A session that never began a transaction (answered from memory) has nothing to end.
    if session is not None and session.in_transaction():
        try:
            if response.status_code < 400:
                session.commit()
            else:
                session.rollback()
        except Exception as error:  # noqa: BLE001 - the commit's failure becomes the response
            session.rollback()
            response = current_app.make_response(current_app.handle_user_exception(error))
        finally:
            session.close()
    response.headers["X-Request-Id"] = g.get("samverkan_request_id", "")
    add_security_headers(response)
    started = g.get("samverkan_started")
    if started is not None and request.endpoint not in _QUIET_ENDPOINTS:
        log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.script_root + request.full_path.rstrip("?"),
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
    return response


def _close_request(_error: BaseException | None) -> None:
    session = g.pop("samverkan_session", None)
    if session is not None:
        session.rollback()
        session.close()
    scope_manager = g.pop("samverkan_scope_manager", None)
    if scope_manager is not None:
        scope_manager.__exit__(None, None, None)
    clear_scope()
    requestcontext.clear()


def _select_locale() -> str:
    from services.context import current_principal

    chosen = request.args.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LOCALES:
        return chosen
    principal = current_principal()
    if principal is not None and principal.locale in LOCALES:
        return principal.locale
    return request.accept_languages.best_match(LOCALES) or LOCALES[0]


def _check_csrf() -> None:
    # Cross-site request forgery needs a browser to send the request on its own: it never
    # adds a bearer token, and it cannot send a JSON body to another origin without a CORS
    # preflight, which no Samverkan service answers. Forms (and htmx posts) must carry the
    # token, in the form field or the X-CSRFToken header.
    if request.method not in current_app.config["WTF_CSRF_METHODS"]:
        return  # what protect() would conclude for GET and HEAD, without reading headers first
    if request.headers.get("Authorization", "").lower().startswith("bearer ") or request.is_json:
        return
    csrf: CSRFProtect = current_app.extensions["csrf"]
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect(apply_exemptions=True)


_PROBE_ENDPOINTS = {"health.healthz", "health.readyz"}
_UNAUTHENTICATED_ENDPOINTS = {*_PROBE_ENDPOINTS, "api-docs.openapi_json"}
_QUIET_ENDPOINTS = {*_PROBE_ENDPOINTS, "static"}
