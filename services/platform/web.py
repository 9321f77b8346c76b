"""Pages of the platform: the start page listing the services, login and logout."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, make_response, redirect, render_template, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from services.context import current_principal, db_session
from services.identity.auth import end_web_session, start_web_session
from services.identity.operations import authenticate_password
from services.ratelimit import limit_login_attempts
from services.web.layout import service_links

blueprint = Blueprint("platform_web", __name__)


@blueprint.route("/")
def start() -> str:
    """The start page: what Samverkan is and a link to each service."""
    return render_template("start.html", services=service_links())


@blueprint.route("/login", methods=["GET", "POST"])
@limit_login_attempts
def login() -> Response | tuple[str, int] | str:
    """Log in with username and password; back to where the user came from."""
    next_url = _safe_next(request.values.get("next", "/"))
    if request.method == "GET":
        return render_template("login.html", next_url=next_url, error=None)
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    session = db_session()
    user = authenticate_password(session, username, password) if username and password else None
    if user is None:
        error = _("Fel användarnamn eller lösenord.")
        return render_template("login.html", next_url=next_url, error=error,
                               username=username), 401
    response = make_response(redirect(next_url, code=303))
    start_web_session(session, user, response)
    return response


@blueprint.route("/logout", methods=["POST"])
def logout() -> Response:
    """Log out everywhere this browser is logged in."""
    response = make_response(redirect("/", code=303))
    end_web_session(db_session(), response)
    return response


@blueprint.app_context_processor
def _inject_principal() -> dict[str, object]:
    return {"principal": current_principal()}


def _safe_next(target: str) -> str:
    # Only same-site paths: a login page must never redirect to another site.
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target
