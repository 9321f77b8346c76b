"""Pages of the refugee_reception service."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l

blueprint = Blueprint("refugee_reception_web", __name__, template_folder="templates")


@blueprint.route("/")
def home() -> str:
    """The service's start page."""
    return render_template(
        "service_home.html",
        title=_l("Flyktingmottagande"),
        description=_l("Den gemensamma handboken med varje kommuns lokala tillägg."),
    )
