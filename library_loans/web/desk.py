"""The librarian's desk page: check out, check in, renew, what is in transit."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("library_desk_web", __name__, url_prefix="/desk",
                      template_folder="../templates")
