"""Pages of the library_loans service."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l

blueprint = Blueprint("library_catalogue", __name__, template_folder="../templates")


@blueprint.route("/")
def home() -> str:
    """The service's start page."""
    return render_template(
        "service_home.html",
        title=_l("Biblioteken"),
        description=_l("Ett lånekort och en katalog för alla bibliotek."),
    )
