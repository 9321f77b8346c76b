"""A patron's own pages: log in with card and PIN, reserve, my loans, holds and fines."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("library_patron", __name__, template_folder="../templates",
                      static_folder="../static", static_url_path="/library-static")
