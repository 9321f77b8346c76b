"""Fixtures of the library's tests: a small consortium of three municipalities' libraries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pymarc
import pytest

from library_loans.access import hold_queues
from library_loans.models import BibRecord, Branch, Item, Patron
from library_loans.operations.administration import (
    create_branch,
    register_patron,
    set_travel_cost,
)
from services.settings_ext import session_factory_for
from services.tenancy import TenantScope, tenant_scope

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""A Monday morning in March (no public holiday near)."""


@dataclass
class Consortium:
    """What the fixture made, by short names; ``session()`` opens a writing session."""

    sessions: object
    municipalities: dict
    branches: dict[str, Branch] = field(default_factory=dict)
    patrons: dict[str, Patron] = field(default_factory=dict)
    records: dict[str, BibRecord] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)

    def session(self):  # type: ignore[no-untyped-def]
        """A new writing session (commit it yourself)."""
        return self.sessions()  # type: ignore[operator]


def add_record(session, title: str, author: str = "Lind, Anna", *,
               media_type: str = "book") -> BibRecord:
    """A shared record with a minimal MARC source."""
    marc = pymarc.Record()
    marc.add_field(pymarc.Field(tag="245", indicators=pymarc.Indicators("1", "0"),
                                subfields=[pymarc.Subfield("a", title)]))
    record = BibRecord(title=title, author=author, media_type=media_type,
                       marc=marc.as_marc())
    session.add(record)
    session.flush()
    return record


def add_item(session, record: BibRecord, branch: Branch, barcode: str) -> Item:
    """A copy owned by the branch's municipality, at home on the branch's shelf."""
    with tenant_scope(TenantScope.of([branch.municipality_id])):
        item = Item(record_id=record.id, barcode=barcode, home_branch_id=branch.id,
                    location_municipality_id=branch.municipality_id,
                    location_branch_id=branch.id, media_type=record.media_type)
        session.add(item)
        session.flush()
    return item


@pytest.fixture
def consortium(migrated, municipalities) -> Consortium:
    """Umeå (two branches), Vindeln and Vännäs; a patron in each; one title, three copies."""
    sessions = session_factory_for(migrated)
    made = Consortium(sessions, municipalities)
    with sessions() as session:
        for slug, code, name in (("umea", "UMEA-STADS", "Umeå stadsbibliotek"),
                                 ("umea", "UMEA-HOLMSUND", "Holmsunds bibliotek"),
                                 ("vindeln", "VINDELN-HB", "Vindelns bibliotek"),
                                 ("vannas", "VANNAS-HB", "Vännäs bibliotek")):
            municipality = municipalities[slug]
            with tenant_scope(TenantScope.of([municipality.id])):
                made.branches[code] = create_branch(session, code=code, name=name)
        for slug, card, name, code in (
                ("umea", "10000001", "Ulla Umeå", "UMEA-STADS"),
                ("vindeln", "20000001", "Vilma Vindeln", "VINDELN-HB"),
                ("vannas", "30000001", "Valle Vännäs", "VANNAS-HB"),
                ("umea", "10000002", "Urban Umeå", "UMEA-HOLMSUND")):
            with tenant_scope(TenantScope.of([municipalities[slug].id])):
                made.patrons[name.split()[0].lower()] = register_patron(
                    session, card_number=card, pin="1234", name=name,
                    home_branch=made.branches[code], email=f"{card}@example.org")
        ids = {slug: municipalities[slug].id for slug in ("umea", "vindeln", "vannas")}
        set_travel_cost(session, ids["umea"], ids["vindeln"], 3)
        set_travel_cost(session, ids["umea"], ids["vannas"], 1)
        set_travel_cost(session, ids["vindeln"], ids["vannas"], 2)
        made.records["bröder"] = add_record(session, "Bröderna Lejonhjärta", "Lindgren, Astrid")
        made.items["umea-1"] = add_item(session, made.records["bröder"],
                                        made.branches["UMEA-STADS"], "U0001")
        made.items["vindeln-1"] = add_item(session, made.records["bröder"],
                                           made.branches["VINDELN-HB"], "V0001")
        session.commit()
    return made


@pytest.fixture
def queues(consortium):  # type: ignore[no-untyped-def]
    """A writing session in the consortium-wide scope holds and circulation run in."""
    with consortium.session() as session, hold_queues(session):
        yield session
