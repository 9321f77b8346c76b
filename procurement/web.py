"""Pages of the procurement service."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l

blueprint = Blueprint("procurement_web", __name__, template_folder="templates")


@blueprint.route("/")
def home() -> str:
    """The service's start page."""
    return render_template(
        "service_home.html",
        title=_l("Upphandling"),
        description=_l(
            "Samordnade upphandlingar där varje kommun själv ansluter och skriver under."
        ),
    )
