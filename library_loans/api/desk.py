"""The librarian's desk over the API: check out, check in, renew, transit lists."""

from __future__ import annotations

from flask_smorest import Blueprint

blueprint = Blueprint("library_desk", __name__, url_prefix="/api/desk",
                      description="Circulation at a branch's desk")
