"""SCIM's own error form (RFC 7644 §3.12), used for every answer under ``/scim/v2``.

SCIM clients (Entra ID, Okta) read ``status``, ``scimType`` and ``detail``; the platform's
error format would leave them guessing, so the blueprint answers every error itself.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Response, current_app, request
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from services.errors import ApiError
from services.tenancy.scope import TenantScopeMissing, TenantScopeViolation

log = logging.getLogger("samverkan.switchboard.scim")

MEDIA_TYPE = "application/scim+json"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimError(Exception):
    """An error to answer in SCIM form: HTTP status, SCIM error type and a detail."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type


def scim_response(body: dict[str, Any] | None, status: int = 200,
                  headers: dict[str, str] | None = None) -> Response:
    """A response with a SCIM JSON body (or none, for 204)."""
    text = "" if body is None else json.dumps(body, ensure_ascii=False)
    response = current_app.response_class(text, status=status, mimetype=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def register_error_handlers(blueprint: Blueprint) -> None:
    """Answer every error of ``blueprint``'s routes, and unknown paths under it, in SCIM form."""
    blueprint.register_error_handler(Exception, _scim_error_response)
    prefix = f"{blueprint.url_prefix}/"

    @blueprint.before_app_request
    def _answer_unrouted_in_scim_form() -> Response | None:
        # A path under /scim/v2 that matches no route never reaches the blueprint's
        # handlers (Flask only knows the blueprint once a route matched).
        error = request.routing_exception
        if (error is None or isinstance(error, RequestRedirect)
                or not f"{request.path}/".startswith(prefix)):
            return None
        return _scim_error_response(error)


def _scim_error_response(error: Exception) -> Response:
    headers: dict[str, str] = {}
    if isinstance(error, ScimError):
        status, detail, scim_type = error.status, error.detail, error.scim_type
    elif isinstance(error, ApiError):
        status, detail, scim_type = error.status, error.message, None
        headers.update(error.headers)
    elif isinstance(error, HTTPException):
        status, detail, scim_type = error.code or 500, error.description or "", None
        if status == 405:
            headers.update((k, v) for k, v in error.get_headers() if k == "Allow")
    elif isinstance(error, IntegrityError):
        log.warning("integrity error", extra={"error": str(error.orig)})
        status, scim_type = 409, "uniqueness"
        detail = "The change conflicts with data already stored; nothing was saved."
    elif isinstance(error, TenantScopeViolation):
        status, detail, scim_type = 403, str(error), None
    elif isinstance(error, TenantScopeMissing) and _is_anonymous():
        status, detail, scim_type = 401, "Send a bearer token in the Authorization header.", None
    else:
        log.exception("unhandled error in a SCIM request")
        status, detail, scim_type = 500, "Something went wrong on our side.", None
    if status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="scim"')
    body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return scim_response(body, status, headers)


def _is_anonymous() -> bool:
    # The tenant layer failed closed for a caller without a principal: that is a 401.
    from services.context import current_principal

    return current_principal() is None
