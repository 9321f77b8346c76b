"""A patron's own account over the API: login by card and PIN, loans, holds, fines."""

from __future__ import annotations

from flask_smorest import Blueprint

blueprint = Blueprint("library_patrons", __name__, url_prefix="/api",
                      description="A patron's own account: loans, holds and fines")
