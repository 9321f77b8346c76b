"""The desk's crossing: a librarian of one library municipality circulates every one's copies."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from library_loans.access import CIRCULATION
from services.audit.models import AuditEntry
from services.identity.principal import Grant, Principal
from services.tenancy import TenantScope, tenant_scope
from services.tenancy.crossing import CrossingDenied, cross_tenant, declare_crossing

GRANTS_ONLY = declare_crossing(
    "tests.library_grants_only", "Librarians see the municipalities their grants name",
    role="librarian", service="library_loans",
)


def librarian(municipality, *grants: Grant) -> Principal:
    return Principal(user_id=municipality.id, username=f"bibl.{municipality.slug}",
                     home_municipality_id=municipality.id,
                     home_municipality_slug=municipality.slug, grants=grants)


def test_the_librarian_role_in_one_municipality_opens_every_library_municipality(
        db, municipalities):
    vannas = municipalities["vannas"]
    desk = librarian(vannas, Grant("librarian", vannas.id))
    with tenant_scope(desk.default_scope()), cross_tenant(db, CIRCULATION, desk) as scope:
        assert scope.crossing == "library_loans.circulation"
        assert scope.home == vannas.id
        assert len(scope.municipality_ids) == 6
        assert municipalities["ornskoldsvik"].id not in scope.municipality_ids  # not joined
    db.commit()
    with tenant_scope(TenantScope.of([municipalities["vindeln"].id])):
        told = db.scalars(select(AuditEntry).where(
            AuditEntry.action == "crossing.entered",
            AuditEntry.actor == "bibl.vannas")).one()
        assert told.subject == "library_loans.circulation"


def test_an_ordinary_crossing_still_opens_only_the_granted_municipality(db, municipalities):
    vannas = municipalities["vannas"]
    desk = librarian(vannas, Grant("librarian", vannas.id))
    with cross_tenant(db, GRANTS_ONLY, desk) as scope:
        assert scope.municipality_ids == frozenset({vannas.id})


def test_the_desk_crossing_needs_the_librarian_role_in_a_library_municipality(
        db, municipalities):
    operator = librarian(municipalities["umea"], Grant("operator", None))
    with pytest.raises(CrossingDenied), cross_tenant(db, CIRCULATION, operator):
        pass
    outsider = municipalities["ornskoldsvik"]
    not_joined = librarian(outsider, Grant("librarian", outsider.id))
    with pytest.raises(CrossingDenied), cross_tenant(db, CIRCULATION, not_joined):
        pass


def test_a_reach_must_be_one_the_crossings_know():
    with pytest.raises(ValueError, match="reach"):
        declare_crossing("tests.bad_reach", "no", role="librarian", service="library_loans",
                         reach="everyone")


def test_a_refused_desk_request_does_not_swallow_the_next_crossings_audit(
        client, consortium, make_staff, db):
    desk = make_staff("bibl-umea", "umea", ("librarian", "umea"))
    refused = client.post("/library/api/desk/checkout", headers=desk.headers,
                          json={"barcode": "V0001", "card_number": "99999999"})
    assert refused.status_code == 404  # rolled back, with the audit entry written in it
    back = client.post("/library/api/desk/checkin", headers=desk.headers,
                       json={"barcode": "V0001"})
    assert back.status_code == 200
    with tenant_scope(TenantScope.of([consortium.municipalities["vindeln"].id])):
        told = db.scalars(select(AuditEntry.action).where(
            AuditEntry.actor == "bibl-umea")).all()
    assert sorted(told) == ["crossing.entered", "library.checkin"]
