"""The API every service has from day one: which municipalities take part in it."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from services.context import db_session
from services.platform.schemas import MunicipalitySchema, describe_municipality
from services.tenancy.operations import participants


def participation_blueprint(service: str) -> Blueprint:
    """A blueprint with ``GET /api/participants`` for ``service``."""
    blueprint = Blueprint(f"{service}_api", f"{service}.api", url_prefix="/api",
                          description=f"The {service} service")

    @blueprint.route("/participants")
    @blueprint.response(200, MunicipalitySchema(many=True))
    def list_participants() -> list[dict[str, Any]]:
        """The municipalities that have joined this service (public)."""
        return [describe_municipality(m) for m in participants(db_session(), service)]

    return blueprint
