"""Every route of every service keeps municipalities apart — and the harness would notice."""

from __future__ import annotations

import uuid

import pytest
from flask import jsonify, request
from flask_smorest import Blueprint
from sqlalchemy import func, select, update

from library_loans.access import CIRCULATION, HOLD_QUEUES, PUBLIC_CATALOGUE
from library_loans.identity import PATRON_ACCOUNT
from services.context import db_session
from services.platform import create_app as create_platform_app
from services.tenancy import TenantScope, tenant_scope
from services.tenancy.models import Municipality
from tests.library_loans.seed import patron_actor, seed_library
from tests.support.isolation import DeclaredCrossing, IsolationHarness
from tests.support.notes import Note
from tests.switchboard.seed import seed_switchboard

SERVICE_SEEDERS = [seed_switchboard, seed_library]
"""Each service's representative data, so the harness has something of B's to leak."""
SERVICE_ACTORS = [patron_actor]
"""Callers services log in besides staff: a library patron of A."""
_CIRCULATED = ("library_items", "library_loans", "library_holds", "library_loan_statistics",
               "library_fines", "library_notices")
"""A desk's check-in of B's copy may fill B's patron's hold and tell them (a notice of B's)."""
SERVICE_CROSSINGS = [
    DeclaredCrossing(CIRCULATION.name, reaches=_CIRCULATED, audited=True, shows_asked=True),
    DeclaredCrossing(HOLD_QUEUES, reaches=("library_items", "library_holds")),
    DeclaredCrossing(PATRON_ACCOUNT, reaches=("library_items", "library_loans", "library_holds")),
    DeclaredCrossing(PUBLIC_CATALOGUE, public=True, shows_ids=("library_branches",)),
]
"""The named scopes that reach B on purpose, and what each may do there (see the harness)."""


# Every route × every actor × one of B's ids per table, three reading rounds and one
# writing round: some 83,000 requests, about 240 s on PostgreSQL on an idle 2-core
# machine, more than the suite's 300 s default allows once the machine is busy.
@pytest.mark.timeout(900)
def test_no_route_lets_one_municipality_see_change_or_count_anothers(
    embedded, db, owner_engine, municipalities
):
    apps = {"": embedded.app, **embedded.mounts}
    harness = IsolationHarness(embedded, apps, db, owner_engine,
                               home=municipalities["umea"], other=municipalities["vannas"],
                               seeders=SERVICE_SEEDERS, actor_factories=SERVICE_ACTORS,
                               crossings=SERVICE_CROSSINGS)
    violations = harness.run()
    assert violations == [], "\n".join(map(str, violations))


def test_the_harness_walks_every_route_of_every_service(embedded, db, owner_engine,
                                                        municipalities):
    apps = {"": embedded.app, **embedded.mounts}
    harness = IsolationHarness(embedded, apps, db, owner_engine,
                               home=municipalities["umea"], other=municipalities["vannas"])
    walked = {(prefix, rule.rule) for prefix, _app, rule in harness._routes()}
    every = {(prefix, rule.rule) for prefix, app in apps.items()
             for rule in app.url_map.iter_rules()
             if rule.endpoint.rpartition(".")[2] != "static"}
    assert walked == every
    assert ("", "/api/tokens/<uuid:token_id>") in walked
    assert ("/switchboard", "/api/participants") in walked


def test_the_harness_catches_routes_that_leak(migrated, db, owner_engine, municipalities,
                                              notes_table):
    app = create_platform_app(migrated)
    _plant_leaks(app)
    harness = IsolationHarness(app, {"": app}, db, owner_engine,
                               home=municipalities["umea"], other=municipalities["vannas"],
                               seeders=[_seed_notes])
    violations = harness.run()
    found = {(v.kind, v.method, v.url.split("/")[3] if v.url.count("/") >= 3 else v.url)
             for v in violations}
    assert ("seen", "GET", "rows") in found
    assert ("counted", "GET", "count") in found
    assert ("changed", "POST", "rename") in found
    assert ("crashed", "POST", "crash") in found
    assert {v.url.split("/")[2] for v in violations} == {"leak"}, "only planted routes leak"
    assert not any(v.url.startswith("/api/leak/own") for v in violations)


def _seed_notes(session, municipality: Municipality) -> list[str]:
    marker = f"note-of-{municipality.slug}-{uuid.uuid4().hex[:8]}"
    with tenant_scope(TenantScope.of([municipality.id])):
        session.add(Note(municipality_id=municipality.id, text=marker))
        session.flush()
    return [marker]


def _plant_leaks(app) -> None:
    """Routes that widen the scope behind the harness's back, as a careless service might."""
    blueprint = Blueprint("leak", __name__, url_prefix="/api/leak")

    def everyone() -> TenantScope:
        ids = db_session().scalars(select(Municipality.id)).all()
        return TenantScope.of(ids)

    @blueprint.route("/rows")
    def rows():
        with tenant_scope(everyone()):
            return jsonify([n.text for n in db_session().scalars(select(Note))])

    @blueprint.route("/count")
    def count():
        with tenant_scope(everyone()):
            return jsonify(count=db_session().scalar(select(func.count()).select_from(Note)))

    @blueprint.route("/rename/<uuid:note_id>", methods=["POST"])
    def rename(note_id):
        with tenant_scope(everyone()):
            db_session().execute(update(Note).where(Note.id == note_id).values(text="renamed"))
            db_session().flush()
        return jsonify(ok=True)

    @blueprint.route("/crash", methods=["POST"])
    def crash():
        return jsonify(text=request.get_json()["text"])  # KeyError on {}: a 500

    @blueprint.route("/own")
    def own():
        return jsonify([n.text for n in db_session().scalars(select(Note))])

    app.extensions["samverkan_api"].register_blueprint(blueprint)
