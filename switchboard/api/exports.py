"""vCard exports of contacts and units."""

from __future__ import annotations

import re
import unicodedata
import uuid
from urllib.parse import quote

from flask import Response
from flask_smorest import Blueprint
from sqlalchemy import select

from services.context import db_session
from services.errors import ApiError
from switchboard.access import operators_read
from switchboard.models import Contact, Unit
from switchboard.vcard import contact_vcard, unit_vcard

blueprint = Blueprint("switchboard_exports", __name__, url_prefix="/api",
                      description="vCard exports of contacts and units")

VCARD_TYPE = "text/vcard; charset=utf-8"


@blueprint.route("/contacts/<uuid:contact_id>/vcard")
@blueprint.response(200, content_type=VCARD_TYPE)
def contact_card(contact_id: uuid.UUID) -> Response:
    """A contact as a vCard 4.0 file (operators: any municipality; others: their own)."""
    session = db_session()
    with operators_read(session):
        contact = session.scalars(select(Contact).where(Contact.id == contact_id)).one_or_none()
        if contact is None:
            raise ApiError(404, "No such contact.")
        return _vcard_response(contact_vcard(session, contact), contact.name)


@blueprint.route("/units/<uuid:unit_id>/vcard")
@blueprint.response(200, content_type=VCARD_TYPE)
def unit_card(unit_id: uuid.UUID) -> Response:
    """A unit as a vCard 4.0 file (operators: any municipality; others: their own)."""
    session = db_session()
    with operators_read(session):
        unit = session.scalars(select(Unit).where(Unit.id == unit_id)).one_or_none()
        if unit is None:
            raise ApiError(404, "No such unit.")
        return _vcard_response(unit_vcard(session, unit), unit.name)


def _vcard_response(card: str, name: str) -> Response:
    # An ASCII name for old clients and the real one (RFC 6266 filename*) for the rest.
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    plain = re.sub(r"[^A-Za-z0-9]+", "-", plain).strip("-").lower() or "kontakt"
    disposition = (f'attachment; filename="{plain}.vcf"; '
                   f"filename*=UTF-8''{quote(name + '.vcf', safe='')}")
    return Response(card.encode("utf-8"), content_type=VCARD_TYPE,
                    headers={"Content-Disposition": disposition})
