"""A municipality's own library administration: branches, items, rules, patrons, travel costs.

Librarians administer only their own municipality (:func:`library_loans.access.administering`):
another municipality's branch, copy, rule or patron is not found here (a 404), exactly as
if it did not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import Session

from library_loans.access import SERVICE, administering, hold_queues
from library_loans.models import BibRecord, Branch, CirculationRule, Item, Patron
from library_loans.operations.administration import (
    add_item,
    change_branch,
    change_item,
    change_patron,
    create_branch,
    delete_rule,
    find_patrons,
    list_items,
    register_patron,
    set_rule,
    set_travel_costs_from,
    travel_costs_from,
)
from library_loans.operations.holds import retarget
from library_loans.operations.rules import Refusal
from library_loans.schemas.administration import (
    AdminBranchChangeSchema,
    AdminBranchSchema,
    AdminItemChangeSchema,
    AdminItemPageSchema,
    AdminItemQuerySchema,
    AdminItemSchema,
    AdminNewItemSchema,
    AdminNewPatronSchema,
    AdminPatronChangeSchema,
    AdminPatronPageSchema,
    AdminPatronQuerySchema,
    AdminPatronSchema,
    AdminRuleSchema,
    AdminTravelCostsSchema,
)
from services.context import db_session
from services.errors import ApiError
from services.tenancy import current_scope
from services.tenancy.models import Municipality
from services.tenancy.operations import participant_ids

blueprint = Blueprint("library_administration", __name__, url_prefix="/api",
                      description="Branches, copies, circulation rules and patrons of "
                                  "the librarian's own municipality")

T = TypeVar("T", Branch, Item, Patron, CirculationRule)
_RULE_FIELDS = tuple(name for name in AdminRuleSchema().fields
                     if name not in ("id", "municipality"))


# --- branches --------------------------------------------------------------------------


@blueprint.route("/branches")
@blueprint.response(200, AdminBranchSchema(many=True))
def list_branches_route() -> list[dict[str, Any]]:
    """The municipality's branches and bookmobiles."""
    session = db_session()
    with _administering(session) as slug:
        return [_branch_json(branch, slug) for branch in
                session.scalars(select(Branch).order_by(Branch.code))]


@blueprint.route("/branches", methods=["POST"])
@blueprint.arguments(AdminBranchSchema)
@blueprint.response(201, AdminBranchSchema)
def create_branch_route(payload: dict[str, Any]) -> dict[str, Any]:
    """Open a new branch or bookmobile."""
    session = db_session()
    with _administering(session) as slug:
        return _branch_json(create_branch(session, **payload), slug)


@blueprint.route("/branches/<uuid:branch_id>")
@blueprint.response(200, AdminBranchSchema)
def get_branch_route(branch_id: uuid.UUID) -> dict[str, Any]:
    """One of the municipality's branches."""
    session = db_session()
    with _administering(session) as slug:
        return _branch_json(_own(session, Branch, branch_id, "branch"), slug)


@blueprint.route("/branches/<uuid:branch_id>", methods=["PATCH"])
@blueprint.arguments(AdminBranchChangeSchema)
@blueprint.response(200, AdminBranchSchema)
def change_branch_route(payload: dict[str, Any], branch_id: uuid.UUID) -> dict[str, Any]:
    """Change a branch's name, kind, address, e-mail or whether it hands out holds."""
    session = db_session()
    with _administering(session) as slug:
        branch = change_branch(session, _own(session, Branch, branch_id, "branch"), **payload)
        return _branch_json(branch, slug)


# --- items -----------------------------------------------------------------------------


@blueprint.route("/items")
@blueprint.arguments(AdminItemQuerySchema, location="query")
@blueprint.response(200, AdminItemPageSchema)
def list_items_route(query: dict[str, Any]) -> dict[str, Any]:
    """The municipality's copies by state, branch or barcode, a page at a time."""
    session = db_session()
    with _administering(session, location="query") as slug:
        page = list_items(session, **query)
        return {"results": _items_json(session, page.rows, slug), "total": page.total}


@blueprint.route("/items", methods=["POST"])
@blueprint.arguments(AdminNewItemSchema)
@blueprint.response(201, AdminItemSchema)
def add_item_route(payload: dict[str, Any]) -> dict[str, Any]:
    """Add a copy of a catalogue record at one of the municipality's branches."""
    session = db_session()
    with _administering(session) as slug:
        home = _branch_or_first(session, payload.pop("home_branch_id"), "home_branch_id")
        item = add_item(session, home_branch=home, **payload)
        return _items_json(session, [item], slug)[0]


@blueprint.route("/items/<uuid:item_id>")
@blueprint.response(200, AdminItemSchema)
def get_item_route(item_id: uuid.UUID) -> dict[str, Any]:
    """One of the municipality's copies."""
    session = db_session()
    with _administering(session) as slug:
        return _items_json(session, [_own(session, Item, item_id, "copy")], slug)[0]


@blueprint.route("/items/<uuid:item_id>", methods=["PATCH"])
@blueprint.arguments(AdminItemChangeSchema)
@blueprint.response(200, AdminItemSchema)
def change_item_route(payload: dict[str, Any], item_id: uuid.UUID) -> dict[str, Any]:
    """Mark a copy missing, damaged, withdrawn or found; change its shelf or home branch."""
    session = db_session()
    with _administering(session) as slug:
        item = _own(session, Item, item_id, "copy")
        home_branch_id = payload.pop("home_branch_id", None)
        home = _own_branch(session, home_branch_id, "home_branch_id") if home_branch_id else None
        was = item.status
        change_item(session, item, home_branch=home, **payload)
        if item.status == "available" and was != "available":
            # A copy found again serves the title's queue now, not at the hourly retarget:
            # the queue spans the consortium, as when a copy is checked in.
            with hold_queues(session):
                retarget(session, record_ids=[item.record_id])
        return _items_json(session, [item], slug)[0]


# --- circulation rules -----------------------------------------------------------------


@blueprint.route("/rules")
@blueprint.response(200, AdminRuleSchema(many=True))
def list_rules_route() -> list[dict[str, Any]]:
    """The municipality's rules, the most general first."""
    session = db_session()
    with _administering(session) as slug:
        rules = session.scalars(select(CirculationRule)).all()
        ordered = sorted(rules, key=lambda r: (r.media_type != "*", r.patron_category != "*",
                                               r.media_type, r.patron_category))
        return [_rule_json(rule, slug) for rule in ordered]


@blueprint.route("/rules", methods=["PUT"])
@blueprint.arguments(AdminRuleSchema)
@blueprint.response(200, AdminRuleSchema)
def put_rule_route(payload: dict[str, Any]) -> dict[str, Any]:
    """Set the rule for a patron category and media type (settings left out: defaults)."""
    session = db_session()
    with _administering(session) as slug:
        return _rule_json(set_rule(session, **payload), slug)


@blueprint.route("/rules/<uuid:rule_id>", methods=["DELETE"])
@blueprint.response(204)
def delete_rule_route(rule_id: uuid.UUID) -> None:
    """Remove a rule: the next more general one (or the defaults) applies."""
    session = db_session()
    with _administering(session):
        delete_rule(session, _own(session, CirculationRule, rule_id, "rule"))


# --- patrons ---------------------------------------------------------------------------


@blueprint.route("/patrons", methods=["POST"])
@blueprint.arguments(AdminNewPatronSchema)
@blueprint.response(201, AdminPatronSchema)
def register_patron_route(payload: dict[str, Any]) -> dict[str, Any]:
    """Register a patron with a card valid in every library municipality, and a PIN."""
    session = db_session()
    with _administering(session) as slug:
        home = _branch_or_first(session, payload.pop("home_branch_id"), "home_branch_id")
        return _patron_json(register_patron(session, home_branch=home, **payload), slug)


@blueprint.route("/patrons")
@blueprint.arguments(AdminPatronQuerySchema, location="query")
@blueprint.response(200, AdminPatronPageSchema)
def find_patrons_route(query: dict[str, Any]) -> dict[str, Any]:
    """The municipality's patrons by card number or name, a page at a time."""
    session = db_session()
    with _administering(session, location="query") as slug:
        page = find_patrons(session, **query)
        return {"results": [_patron_json(p, slug) for p in page.rows], "total": page.total}


@blueprint.route("/patrons/<uuid:patron_id>")
@blueprint.response(200, AdminPatronSchema)
def get_patron_route(patron_id: uuid.UUID) -> dict[str, Any]:
    """One of the municipality's patrons."""
    session = db_session()
    with _administering(session) as slug:
        return _patron_json(_own(session, Patron, patron_id, "patron"), slug)


@blueprint.route("/patrons/<uuid:patron_id>", methods=["PATCH"])
@blueprint.arguments(AdminPatronChangeSchema)
@blueprint.response(200, AdminPatronSchema)
def change_patron_route(payload: dict[str, Any], patron_id: uuid.UUID) -> dict[str, Any]:
    """Change a patron's details, give a new PIN or card, or renew the card."""
    session = db_session()
    with _administering(session) as slug:
        patron = _own(session, Patron, patron_id, "patron")
        home_branch_id = payload.pop("home_branch_id", None)
        home = _own_branch(session, home_branch_id, "home_branch_id") if home_branch_id else None
        return _patron_json(change_patron(session, patron, home_branch=home, **payload), slug)


# --- travel costs ----------------------------------------------------------------------


@blueprint.route("/travel-costs")
@blueprint.response(200, AdminTravelCostsSchema)
def travel_costs_route() -> dict[str, Any]:
    """What sending a copy from the municipality to each other library municipality costs."""
    session = db_session()
    with _administering(session):
        home = current_scope().home
        assert home is not None
        return {"costs": _costs_json(session, home)}


@blueprint.route("/travel-costs", methods=["PUT"])
@blueprint.arguments(AdminTravelCostsSchema)
@blueprint.response(200, AdminTravelCostsSchema)
def set_travel_costs_route(payload: dict[str, Any]) -> dict[str, Any]:
    """Set the municipality's own costs to others (their costs to it are theirs to set)."""
    session = db_session()
    with _administering(session):
        home = current_scope().home
        assert home is not None
        libraries = _library_slugs(session)
        costs = {}
        for position, entry in enumerate(payload["costs"]):
            target = libraries.get(entry["municipality"])
            if target is None or target == home:
                raise ApiError(422, f"{entry['municipality']!r} is not another library "
                                    "municipality.", field=f"costs.{position}.municipality")
            costs[target] = entry["cost"]
        set_travel_costs_from(session, home, costs)
        return {"costs": _costs_json(session, home)}


# --- private helpers -------------------------------------------------------------------


@contextmanager
def _administering(session: Session, *, location: str = "json") -> Iterator[str]:
    """The librarian's own municipality (its slug yielded); refusals named by field."""
    with administering(session) as scope:
        municipality = session.get(Municipality, scope.home)
        assert municipality is not None
        try:
            yield municipality.slug
        except Refusal as refusal:
            raise ApiError(refusal.status, refusal.message, field=refusal.field,
                           location=location) from refusal
        session.flush()


def _own(session: Session, model: type[T], row_id: uuid.UUID, what: str) -> T:
    """A row of the municipality's by id; another municipality's is not found (a 404)."""
    found = session.scalar(select(model).where(model.id == row_id))
    if found is None:
        raise ApiError(404, f"No such {what} in your municipality.")
    return found


def _own_branch(session: Session, branch_id: uuid.UUID, field: str) -> Branch:
    branch = session.scalar(select(Branch).where(Branch.id == branch_id))
    if branch is None:
        raise ApiError(422, "Choose one of your municipality's branches.", field=field)
    return branch


def _branch_or_first(session: Session, branch_id: uuid.UUID | None, field: str) -> Branch:
    if branch_id is not None:
        return _own_branch(session, branch_id, field)
    first = session.scalars(select(Branch).order_by(Branch.id).limit(1)).first()
    if first is None:
        raise ApiError(422, "Open a branch first.", field=field)
    return first


def _library_slugs(session: Session) -> dict[str, uuid.UUID]:
    ids = participant_ids(session, SERVICE)
    return dict(session.execute(select(Municipality.slug, Municipality.id)
                                .where(Municipality.id.in_(ids))).all())


def _costs_json(session: Session, home: uuid.UUID) -> list[dict[str, Any]]:
    stored = travel_costs_from(session, home)
    return [{"municipality": slug, "cost": stored[target]}
            for slug, target in sorted(_library_slugs(session).items())
            if target in stored and target != home]


def _branch_json(branch: Branch, slug: str) -> dict[str, Any]:
    return {**_columns(branch, ("id", "code", "name", "kind", "address", "email", "pickup")),
            "municipality": slug}


def _rule_json(rule: CirculationRule, slug: str) -> dict[str, Any]:
    return {**_columns(rule, ("id", *_RULE_FIELDS)), "municipality": slug}


def _patron_json(patron: Patron, slug: str) -> dict[str, Any]:
    return {**_columns(patron, ("id", "card_number", "name", "email", "phone", "locale",
                                "category", "birth_date", "home_branch_id",
                                "card_expires_on", "keeps_history")),
            "municipality": slug}


def _items_json(session: Session, items: Any, slug: str) -> list[dict[str, Any]]:
    items = list(items)
    titles = dict(session.execute(select(BibRecord.id, BibRecord.title).where(
        BibRecord.id.in_({item.record_id for item in items}))).all()) if items else {}
    slugs: Callable[[uuid.UUID], str] = _slug_lookup(session)
    return [{**_columns(item, ("id", "record_id", "barcode", "media_type", "status",
                               "status_changed_at", "home_branch_id", "location_branch_id",
                               "transit_branch_id", "call_number", "shelf")),
             "municipality": slug, "title": titles.get(item.record_id, ""),
             "location_municipality": slugs(item.location_municipality_id)}
            for item in items]


def _slug_lookup(session: Session) -> Callable[[uuid.UUID], str]:
    known: dict[uuid.UUID, str] = {}

    def slug(municipality_id: uuid.UUID) -> str:
        if not known:
            known.update(session.execute(select(Municipality.id, Municipality.slug)).all())
        return known[municipality_id]

    return slug


def _columns(row: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}
