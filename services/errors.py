"""The one error format of every Samverkan service, and the handlers that produce it.

Every error response is JSON of this shape (pages get the same facts as HTML)::

    {"error": {"status": 422, "code": "invalid_input",
               "message": "The request has invalid fields.",
               "fields": {"json": {"username": ["Missing data for required field."]}}}}

``fields`` appears when fields are at fault, keyed by where they were sent (json, query,
form, path) and then by field name, with marshmallow's messages.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from services.identity.operations import IdentityError
from services.tenancy.crossing import CrossingDenied
from services.tenancy.operations import MunicipalityError
from services.tenancy.scope import TenantScopeMissing, TenantScopeViolation

log = logging.getLogger("samverkan.errors")

_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    """An error to send to the client: status, message and (optionally) the field at fault."""

    def __init__(
        self, status: int, message: str, *, field: str | None = None, location: str = "json",
        code: str | None = None, headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.headers = headers or {}
        self.status = status
        self.message = message
        self.field = field
        self.location = location
        self.code = code or _CODES.get(status, "error")

    def fields(self) -> dict[str, dict[str, list[str]]] | None:
        """The field messages in the error format, or None."""
        if self.field is None:
            return None
        return {self.location: {self.field: [self.message]}}


def error_response(
    status: int, message: str, *, code: str | None = None,
    fields: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
) -> Response:
    """Build an error response in the one format (HTML for pages, JSON otherwise)."""
    body: dict[str, Any] = {"status": status, "code": code or _CODES.get(status, "error"),
                            "message": message}
    if fields:
        body["fields"] = fields
    if _wants_html():
        response = Response(
            render_template("error.html", error=body), status=status, mimetype="text/html"
        )
    else:
        response = jsonify(error=body)
        response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def register_error_handlers(app: Flask) -> None:
    """Route every exception a request can raise to :func:`error_response`."""
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_exception)
    app.register_error_handler(ValidationError, _validation_error)
    app.register_error_handler(IdentityError, _field_error)
    app.register_error_handler(MunicipalityError, _field_error)
    app.register_error_handler(TenantScopeViolation, _forbidden)
    app.register_error_handler(TenantScopeMissing, _scope_missing)
    app.register_error_handler(CrossingDenied, _forbidden)
    app.register_error_handler(IntegrityError, _integrity_error)
    app.register_error_handler(Exception, _unexpected)


def _api_error(error: ApiError) -> Response:
    return error_response(error.status, error.message, code=error.code, fields=error.fields(),
                          headers=error.headers)


def _http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    fields = data.get("messages") if isinstance(data, dict) else None
    if status == 422 or fields:
        message = "The request has invalid fields."
    else:
        message = error.description or _CODES.get(status, "error")
    headers = dict(error.get_headers()) if status in (405, 429) else {}
    headers.pop("Content-Type", None)
    if isinstance(data, dict) and data.get("headers"):
        headers.update(data["headers"])
    return error_response(status, message, fields=fields, headers=headers)


def _validation_error(error: ValidationError) -> Response:
    messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
    return error_response(422, "The request has invalid fields.", fields={"json": messages})


def _field_error(error: IdentityError | MunicipalityError) -> Response:
    return error_response(422, error.message, fields={"json": {error.field: [error.message]}})


def _forbidden(error: Exception) -> Response:
    return error_response(403, str(error))


def _scope_missing(error: TenantScopeMissing) -> Response:
    # An anonymous caller reached tenant data: the layer failed closed, and what the
    # caller needs to hear is that this needs a login. With a principal it is our bug.
    from services.context import current_principal

    if current_principal() is None:
        return error_response(401, "Log in, or send a bearer token in the Authorization header.")
    return _unexpected(error)


def _integrity_error(error: IntegrityError) -> Response:
    # A constraint caught what validation did not (often a race): nothing was stored.
    log.warning("integrity error", extra={"error": str(error.orig)})
    return error_response(409, "The change conflicts with data already stored; nothing was saved.")


def _unexpected(error: Exception) -> Response:
    log.exception("unhandled error")
    message = str(error) if current_app.debug else "Something went wrong on our side."
    return error_response(500, message)


def _wants_html() -> bool:
    if "/api/" in request.path or request.path.endswith((".json", "/healthz", "/readyz")):
        return False
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html" and request.accept_mimetypes[best] > request.accept_mimetypes[
        "application/json"
    ]
