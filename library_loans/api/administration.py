"""A municipality's own library administration: branches, items, rules, patrons."""

from __future__ import annotations

from flask_smorest import Blueprint

blueprint = Blueprint("library_administration", __name__, url_prefix="/api",
                      description="Branches, copies, circulation rules and patrons of "
                                  "the librarian's own municipality")
