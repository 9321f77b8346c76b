"""A patron's own pages: log in with card and PIN, reserve, my loans, holds and fines."""

from __future__ import annotations

import uuid

from flask import Blueprint

from services.errors import ApiError

blueprint = Blueprint("library_patron", __name__, template_folder="../templates",
                      static_folder="../static", static_url_path="/library-static")


# The endpoints other pages link to; their pages are being built (see the library issue).

@blueprint.route("/login")
def login() -> str:
    """Log in with card number and PIN."""
    raise ApiError(501, "Not built yet.")


@blueprint.route("/my")
def my_pages() -> str:
    """The patron's loans, holds and fines."""
    raise ApiError(501, "Not built yet.")


@blueprint.route("/records/<uuid:record_id>/reserve")
def reserve(record_id: uuid.UUID) -> str:
    """Reserve a title, choosing the pickup branch."""
    raise ApiError(501, "Not built yet.")
