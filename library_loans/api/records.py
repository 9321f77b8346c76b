"""The public catalogue's API: search the shared records, read one, export it as MARCXML.

No login is needed, as for the catalogue's pages: records are the consortium's shared data,
and copies are counted in the public catalogue's scope (see :mod:`library_loans.access`).
"""

from __future__ import annotations

import io
import uuid
from dataclasses import asdict
from typing import Any

from flask import Response
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import Session

from library_loans.access import SERVICE
from library_loans.marc import write_marcxml
from library_loans.models import BibRecord
from library_loans.schemas.records import RecordPageSchema, RecordQuerySchema, RecordSchema
from library_loans.search.answers import record_head, search_json
from library_loans.search.index import isbns_of
from library_loans.search.query import Availability, availability_of, search_records
from services.context import db_session
from services.errors import ApiError
from services.readcache import ReadCache
from services.tenancy.models import Municipality
from services.tenancy.operations import PARTICIPANTS, participant_ids

blueprint = Blueprint("library_records", __name__, url_prefix="/api",
                      description="The public catalogue: records and where their copies are")

MARCXML_TYPE = "application/marcxml+xml"
_LIBRARY_SLUGS: ReadCache[frozenset[str]] = ReadCache(
    "library municipality slugs", seconds=PARTICIPANTS.seconds,
    watches=PARTICIPANTS.watches)
"""The slugs ``available_in`` may name, as fresh as the participants they are read from."""


@blueprint.route("/records")
@blueprint.arguments(RecordQuerySchema(), location="query")
@blueprint.response(200, RecordPageSchema)
def search(query: dict[str, Any]) -> Response | dict[str, Any]:
    """Records matching every word and filter, best first, with copies per branch."""
    session = db_session()
    if query["available_in"] is not None:
        _require_library_municipality(session, query["available_in"])
    # What RecordPageSchema documents, built from what the process keeps (see
    # search.answers); dumping it through the schema would cost more than the search.
    answer = search_json(session, query)
    if answer is not None:
        return Response(answer, mimetype="application/json")
    page = search_records(session, **query)
    isbns = isbns_of(session, [found.record.id for found in page.results])
    results = [
        {**_record_json(found.record, found.availability, isbns.get(found.record.id, [])),
         "score": found.score}
        for found in page.results
    ]
    return {"results": results, "total": page.total, "facets": asdict(page.facets)}


@blueprint.route("/records/<uuid:record_id>")
@blueprint.response(200, RecordSchema)
def get_record(record_id: uuid.UUID) -> dict[str, Any]:
    """One record, with its copies per branch."""
    session = db_session()
    record = _record(session, record_id)
    availability = availability_of(session, [record.id]).get(record.id, [])
    return _record_json(record, availability, isbns_of(session, [record.id]).get(record.id, []))


@blueprint.route("/records/<uuid:record_id>/marcxml")
@blueprint.response(200, content_type=MARCXML_TYPE)
def record_marcxml(record_id: uuid.UUID) -> Response:
    """The record's MARC 21 as imported, as a MARCXML collection of one."""
    record = _record(db_session(), record_id)
    out = io.BytesIO()
    write_marcxml([record.marc], out)
    return Response(out.getvalue(), content_type=MARCXML_TYPE)


def _record(session: Session, record_id: uuid.UUID) -> BibRecord:
    record = session.get(BibRecord, record_id)
    if record is None:
        raise ApiError(404, "No such record in the catalogue.")
    return record


def _require_library_municipality(session: Session, slug: str) -> None:
    """A 422 naming ``available_in`` unless ``slug`` is a municipality with libraries here."""
    slugs = _LIBRARY_SLUGS.get(session, SERVICE, lambda: frozenset(session.scalars(
        select(Municipality.slug)
        .where(Municipality.id.in_(participant_ids(session, SERVICE))))))
    if slug not in slugs:
        raise ApiError(422, f"No library municipality {slug!r}.", field="available_in",
                       location="query")


def _record_json(record: BibRecord, availability: list[Availability], isbns: list[str]
                 ) -> dict[str, Any]:
    return {**record_head(record, isbns),
            "availability": [asdict(copies) for copies in availability]}
