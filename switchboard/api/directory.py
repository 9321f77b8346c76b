"""Searching and editing the directory.

Operators search and read every municipality's directory (a named, audited crossing);
directory editors change their own municipality's units, contacts, keywords and
absences; operators may also set and end absences, since callers and colleagues phone
the switchboard to say someone is ill or away.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any, TypeVar

from flask import Response
from flask_smorest import Blueprint
from sqlalchemy import select

from services import clock
from services.context import db_session, require_principal
from services.errors import ApiError
from services.tenancy import TenantScope, tenant_scope
from services.tenancy.models import Municipality
from switchboard.access import operators_read, require_editor
from switchboard.models import Absence, CallRoute, Contact, Keyword, Unit
from switchboard.numbers import NumberError, parse_number
from switchboard.operations.directory import (
    HoursInput,
    NumberInput,
    create_contact,
    create_unit,
    mark_left,
    set_keyword,
    update_contact,
    update_unit,
)
from switchboard.operations.presence import end_absence, set_absence
from switchboard.schemas.directory import (
    AbsenceInputSchema,
    AbsenceSchema,
    CallContextQuerySchema,
    CallContextSchema,
    CardSchema,
    ContactInputSchema,
    ContactPatchSchema,
    ContactSchema,
    KeywordInputSchema,
    KeywordSchema,
    LeftInputSchema,
    SearchQuerySchema,
    SearchResultsSchema,
    UnitInputSchema,
    UnitPatchSchema,
    UnitSchema,
)
from switchboard.search import find_entry, search_json

blueprint = Blueprint("switchboard_directory", __name__, url_prefix="/api",
                      description="Searching and editing the directory")


@blueprint.route("/search")
# One schema instance for every request: the search runs on every keystroke, and building
# the schema anew each time costs a tenth of the whole answer.
@blueprint.arguments(SearchQuerySchema(), location="query")
@blueprint.response(200, SearchResultsSchema)
def search_directory(query: dict[str, Any]) -> Response:
    """People, functions and units matching what the operator typed, best first."""
    session = db_session()
    with operators_read(session) as scope:
        ids = None
        if query["municipality"]:
            ids = [_municipality(query["municipality"], field="municipality").id]
        ids = ids if ids is not None else list(scope.municipality_ids)
        found = search_json(session, query["q"], municipality_ids=ids, limit=query["limit"])
    # Results are built as the schema documents them; dumping them through it again (or
    # through the standard json module) would cost more than the search itself.
    return Response(found, mimetype="application/json")


@blueprint.route("/call-context")
@blueprint.arguments(CallContextQuerySchema, location="query")
@blueprint.response(200, CallContextSchema)
def call_context(query: dict[str, Any]) -> dict[str, Any]:
    """The municipality whose number the caller dialled: the default scope and greeting."""
    try:
        dialled = parse_number(query["dialled"])
    except NumberError as error:
        raise ApiError(422, str(error), field="dialled", location="query") from error
    session = db_session()
    with operators_read(session):
        route = session.scalars(select(CallRoute).where(CallRoute.dialled == dialled)).first()
        if route is None:
            return {"dialled": dialled, "municipality": None, "municipality_name": None,
                    "greeting": "Välkommen till växeln."}
        municipality = session.get(Municipality, route.municipality_id)
        assert municipality is not None
        return {"dialled": dialled, "municipality": municipality.slug,
                "municipality_name": municipality.name, "greeting": route.greeting}


@blueprint.route("/contacts/<uuid:contact_id>/card")
@blueprint.response(200, CardSchema)
def contact_card(contact_id: uuid.UUID) -> dict[str, Any]:
    """Everything the operator needs about one contact: numbers, unit, absence, referral."""
    return _card(contact_id, kinds=("person", "function"))


@blueprint.route("/units/<uuid:unit_id>/card")
@blueprint.response(200, CardSchema)
def unit_card(unit_id: uuid.UUID) -> dict[str, Any]:
    """A unit as the operator sees it: numbers, path, address, open now."""
    return _card(unit_id, kinds=("unit",))


@blueprint.route("/contacts", methods=["POST"])
@blueprint.arguments(ContactInputSchema)
@blueprint.response(201, ContactSchema)
def add_contact(payload: dict[str, Any]) -> dict[str, Any]:
    """Add a person or function to a municipality's directory (directory editors)."""
    municipality = _editable_municipality(payload.pop("municipality"))
    payload["numbers"] = _numbers(payload["numbers"])
    contact = create_contact(db_session(), municipality_id=municipality.id, **payload)
    return _contact_json(contact)


@blueprint.route("/contacts/<uuid:contact_id>", methods=["GET"])
@blueprint.response(200, ContactSchema)
def get_contact(contact_id: uuid.UUID) -> dict[str, Any]:
    """A contact as stored (editors of its municipality)."""
    return _contact_json(_editable(Contact, contact_id))


@blueprint.route("/contacts/<uuid:contact_id>", methods=["PATCH"])
@blueprint.arguments(ContactPatchSchema)
@blueprint.response(200, ContactSchema)
def change_contact(payload: dict[str, Any], contact_id: uuid.UUID) -> dict[str, Any]:
    """Change a contact's fields (directory editors of its municipality)."""
    contact = _editable(Contact, contact_id)
    payload.pop("municipality", None)
    if "numbers" in payload:
        payload["numbers"] = _numbers(payload["numbers"])
    update_contact(db_session(), contact, **payload)
    db_session().flush()
    return _contact_json(contact)


@blueprint.route("/contacts/<uuid:contact_id>/left", methods=["POST"])
@blueprint.arguments(LeftInputSchema)
@blueprint.response(200, ContactSchema)
def contact_left(payload: dict[str, Any], contact_id: uuid.UUID) -> dict[str, Any]:
    """Mark a person as having left; they stay findable for six months with their successor."""
    contact = _editable(Contact, contact_id)
    mark_left(db_session(), contact, on=payload["on"] or clock.now().date(),
              successor_id=payload["successor_id"])
    return _contact_json(contact)


@blueprint.route("/contacts/<uuid:contact_id>/absences", methods=["POST"])
@blueprint.arguments(AbsenceInputSchema)
@blueprint.response(201, AbsenceSchema)
def add_absence(payload: dict[str, Any], contact_id: uuid.UUID) -> dict[str, Any]:
    """Say a contact is away, until when, and who takes the calls (operators and editors)."""
    principal = require_principal()
    session = db_session()
    with _for_absences(contact_id) as contact:
        absence = set_absence(session, contact, set_by=principal.username, **payload)
        return _absence_json(absence)


@blueprint.route("/contacts/<uuid:contact_id>/absences")
@blueprint.response(200, AbsenceSchema(many=True))
def list_absences(contact_id: uuid.UUID) -> list[dict[str, Any]]:
    """A contact's current and coming absences."""
    session = db_session()
    with operators_read(session):
        contact = _visible_contact(contact_id)
        rows = session.scalars(
            select(Absence).where(
                Absence.municipality_id == contact.municipality_id,
                Absence.contact_id == contact.id, Absence.ended_at.is_(None),
                (Absence.returns_at.is_(None)) | (Absence.returns_at > clock.now()))
            .order_by(Absence.starts_at)
        )
        return [_absence_json(absence) for absence in rows]


@blueprint.route("/contacts/<uuid:contact_id>/absences/current", methods=["DELETE"])
@blueprint.response(204)
def end_current_absence(contact_id: uuid.UUID) -> None:
    """The contact is back: end the absences in force now."""
    with _for_absences(contact_id) as contact:
        end_absence(db_session(), contact)


@blueprint.route("/units")
@blueprint.response(200, UnitSchema(many=True))
def list_units() -> list[dict[str, Any]]:
    """The organisation tree of the municipalities the caller reads, parents first."""
    session = db_session()
    with operators_read(session):
        units = list(session.scalars(select(Unit)))
    by_parent: dict[uuid.UUID | None, list[Unit]] = {}
    for unit in units:
        by_parent.setdefault(unit.parent_id, []).append(unit)
    ordered: list[Unit] = []
    pending = sorted(by_parent.get(None, []), key=lambda u: u.name, reverse=True)
    while pending:
        unit = pending.pop()
        ordered.append(unit)
        pending.extend(sorted(by_parent.get(unit.id, []), key=lambda u: u.name, reverse=True))
    return [_unit_json(unit) for unit in ordered]


@blueprint.route("/units", methods=["POST"])
@blueprint.arguments(UnitInputSchema)
@blueprint.response(201, UnitSchema)
def add_unit(payload: dict[str, Any]) -> dict[str, Any]:
    """Add a unit to a municipality's tree (directory editors)."""
    municipality = _editable_municipality(payload.pop("municipality"))
    payload["numbers"] = _numbers(payload["numbers"])
    payload["opening_hours"] = [HoursInput(**hours) for hours in payload["opening_hours"]]
    unit = create_unit(db_session(), municipality_id=municipality.id, **payload)
    return _unit_json(unit)


@blueprint.route("/units/<uuid:unit_id>", methods=["PATCH"])
@blueprint.arguments(UnitPatchSchema)
@blueprint.response(200, UnitSchema)
def change_unit(payload: dict[str, Any], unit_id: uuid.UUID) -> dict[str, Any]:
    """Change a unit (directory editors of its municipality)."""
    unit = _editable(Unit, unit_id)
    payload.pop("municipality", None)
    if "numbers" in payload:
        payload["numbers"] = _numbers(payload["numbers"])
    if "opening_hours" in payload:
        payload["opening_hours"] = [HoursInput(**h) for h in payload["opening_hours"]]
    update_unit(db_session(), unit, **payload)
    db_session().flush()
    return _unit_json(unit)


@blueprint.route("/keywords")
@blueprint.response(200, KeywordSchema(many=True))
def list_keywords() -> list[dict[str, Any]]:
    """The keywords (ärendeord) of the municipalities the caller reads, alphabetically."""
    session = db_session()
    with operators_read(session):
        keywords = session.scalars(select(Keyword).order_by(Keyword.word)).all()
        return [_keyword_json(keyword) for keyword in keywords]


@blueprint.route("/keywords", methods=["POST"])
@blueprint.arguments(KeywordInputSchema)
@blueprint.response(200, KeywordSchema)
def put_keyword(payload: dict[str, Any]) -> dict[str, Any]:
    """Map a matter to who handles it; the same word again moves or changes it."""
    municipality = _editable_municipality(payload.pop("municipality"))
    keyword = set_keyword(db_session(), municipality_id=municipality.id, **payload)
    return _keyword_json(keyword)


@blueprint.route("/keywords/<uuid:keyword_id>", methods=["DELETE"])
@blueprint.response(204)
def delete_keyword(keyword_id: uuid.UUID) -> None:
    """Remove a keyword (directory editors of its municipality)."""
    keyword = _editable(Keyword, keyword_id)
    db_session().delete(keyword)
    db_session().flush()


# --- private helpers ------------------------------------------------------------------

_Editable = TypeVar("_Editable", Contact, Unit, Keyword)



def _card(entry_id: uuid.UUID, *, kinds: tuple[str, ...]) -> dict[str, Any]:
    session = db_session()
    with operators_read(session):
        card = find_entry(session, entry_id)
        if card is None or card["kind"] not in kinds:
            raise ApiError(404, "No such contact or unit in the directories you read.")
        if card["kind"] != "unit":
            municipality_id = _municipality(card["municipality"]).id
            card["absences"] = [_absence_json(a) for a in session.scalars(
                select(Absence).where(
                    Absence.municipality_id == municipality_id, Absence.contact_id == entry_id,
                    Absence.ended_at.is_(None),
                    (Absence.returns_at.is_(None)) | (Absence.returns_at > clock.now()))
                .order_by(Absence.starts_at))]
        return card


def _municipality(slug: str, *, field: str = "municipality") -> Municipality:
    municipality = db_session().scalars(
        select(Municipality).where(Municipality.slug == slug)).first()
    if municipality is None:
        raise ApiError(422, f"No municipality {slug!r}.", field=field, location="query")
    return municipality


def _editable_municipality(slug: str | None) -> Municipality:
    principal = require_principal()
    if slug is None:
        municipality = db_session().get(Municipality, principal.home_municipality_id)
        assert municipality is not None
    else:
        municipality = _municipality(slug)
    require_editor(municipality.id)
    return municipality


def _editable(model: type[_Editable], row_id: uuid.UUID) -> _Editable:
    """A row of the caller's own scope that the caller may edit; 404 when out of sight."""
    require_principal()
    row = db_session().scalars(select(model).where(model.id == row_id)).first()
    if row is None:
        raise ApiError(404, f"No such {model.__name__.lower()} in your municipality.")
    require_editor(row.municipality_id)
    return row


def _visible_contact(contact_id: uuid.UUID) -> Contact:
    contact = db_session().scalars(select(Contact).where(Contact.id == contact_id)).first()
    if contact is None:
        raise ApiError(404, "No such contact in the directories you read.")
    return contact


@contextlib.contextmanager
def _for_absences(contact_id: uuid.UUID) -> Iterator[Contact]:
    """The contact, in a scope of its municipality, for an operator or one of its editors."""
    principal = require_principal()
    session = db_session()
    with operators_read(session):
        contact = _visible_contact(contact_id)
    if not principal.has_role("operator", contact.municipality_id):
        require_editor(contact.municipality_id)
    mine = contact.municipality_id
    with tenant_scope(TenantScope.of([mine], home=mine)):
        yield contact


def _numbers(given: list[dict[str, Any]]) -> list[NumberInput]:
    return [NumberInput(**number) for number in given]


def _slug(municipality_id: uuid.UUID) -> str:
    municipality = db_session().get(Municipality, municipality_id)
    return municipality.slug if municipality else ""


def _number_json(owner: Contact | Unit) -> list[dict[str, Any]]:
    from switchboard.search.index import describe_numbers

    return describe_numbers(list(owner.numbers))


def _contact_json(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.id, "municipality": _slug(contact.municipality_id), "kind": contact.kind,
        "name": contact.name, "given_name": contact.given_name,
        "family_name": contact.family_name, "nicknames": contact.nicknames,
        "title": contact.title, "email": contact.email, "room": contact.room,
        "info": contact.info, "unit_id": contact.unit_id, "numbers": _number_json(contact),
        "left_on": contact.left_on, "successor_id": contact.successor_id,
        "external_id": contact.external_id, "updated_at": contact.updated_at,
    }


def _unit_json(unit: Unit) -> dict[str, Any]:
    return {
        "id": unit.id, "municipality": _slug(unit.municipality_id), "name": unit.name,
        "level": unit.level, "parent_id": unit.parent_id,
        "visiting_address": unit.visiting_address, "email": unit.email, "info": unit.info,
        "numbers": _number_json(unit),
        "opening_hours": [{"weekday": h.weekday, "opens": h.opens, "closes": h.closes}
                          for h in unit.opening_hours],
        "updated_at": unit.updated_at,
    }


def _keyword_json(keyword: Keyword) -> dict[str, Any]:
    return {"id": keyword.id, "municipality": _slug(keyword.municipality_id),
            "word": keyword.word, "synonyms": keyword.synonyms,
            "contact_id": keyword.contact_id, "unit_id": keyword.unit_id, "note": keyword.note}


def _absence_json(absence: Absence) -> dict[str, Any]:
    return {
        "id": absence.id, "municipality": _slug(absence.municipality_id),
        "contact_id": absence.contact_id, "reason": absence.reason,
        "starts_at": absence.starts_at, "returns_at": absence.returns_at,
        "source": absence.source, "set_at": absence.set_at, "set_by": absence.set_by,
        "referral_contact_id": absence.referral_contact_id,
        "referral_note": absence.referral_note, "ended_at": absence.ended_at,
    }

