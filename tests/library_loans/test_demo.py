"""The library's demo consortium, as ``samverkan demo-data`` and ``samverkan run`` load it."""

from __future__ import annotations

from collections import Counter

import pymarc
import pytest
from sqlalchemy import func, select

from library_loans.demo import DEMO_PIN, demo_patron_cards
from library_loans.models import (
    BibRecord,
    Branch,
    CirculationRule,
    Fine,
    Hold,
    Item,
    LibraryCard,
    Loan,
    LoanStatistic,
    Patron,
    TravelCost,
)
from library_loans.operations.administration import card_holder
from library_loans.operations.holds import queue_place
from library_loans.search.query import search_records
from services import clock
from services.demo import load_demo_data
from services.settings_ext import session_factory_for
from services.tenancy import TenantScope, tenant_scope

LIBRARY_SLUGS = {"umea", "bjurholm", "nordmaling", "robertsfors", "vindeln", "vannas"}


@pytest.fixture
def demo(migrated):
    """Load the whole demo (every service's, as ``samverkan demo-data`` does); reloadable."""
    sessions = session_factory_for(migrated)

    def load() -> list[str]:
        said: list[str] = []
        with sessions() as session:
            load_demo_data(session, progress=said.append)
            session.commit()
        return said

    return load


@pytest.fixture
def everywhere(municipalities):
    """A scope over all seven municipalities, for reading what the demo loaded."""
    with tenant_scope(TenantScope.of(m.id for m in municipalities.values())):
        yield


def test_every_library_municipality_gets_libraries_and_ornskoldsvik_none(
    demo, db, municipalities, everywhere
):
    assert "library_loans demo data" in demo()

    slugs = {m.id: slug for slug, m in municipalities.items()}
    branches = list(db.scalars(select(Branch)))
    assert {slugs[b.municipality_id] for b in branches} == LIBRARY_SLUGS
    assert not any(slugs[b.municipality_id] == "ornskoldsvik" for b in branches)
    names = {b.name: b for b in branches}
    assert {"Umeå stadsbibliotek", "Holmsunds bibliotek", "Hörnefors bibliotek",
            "Sävar bibliotek", "Tegs bibliotek", "Vännäs bibliotek"} <= set(names)
    assert (names["Bokbussen"].kind, names["Bokbussen"].pickup) == ("bookmobile", False)
    owners = Counter(slugs[i.municipality_id] for i in db.scalars(select(Item)))
    assert set(owners) == LIBRARY_SLUGS
    assert owners["umea"] > max(count for slug, count in owners.items() if slug != "umea")


def test_the_rules_show_what_differs_between_municipalities(
    demo, db, municipalities, everywhere
):
    demo()

    slugs = {m.id: slug for slug, m in municipalities.items()}
    defaults = {slugs[r.municipality_id]: r for r in db.scalars(
        select(CirculationRule).where(CirculationRule.patron_category == "*",
                                      CirculationRule.media_type == "*"))}
    assert set(defaults) == LIBRARY_SLUGS
    assert {rule.loan_days for rule in defaults.values()} == {28}
    charging = {slug for slug, rule in defaults.items() if rule.fine_per_day > 0}
    assert charging == {"robertsfors"}
    robertsfors = defaults["robertsfors"]
    assert robertsfors.fine_cap > 0 and robertsfors.block_threshold is not None
    assert robertsfors.fines_from_age == 18
    assert {slug for slug, rule in defaults.items() if rule.local_priority} == {"vannas"}
    assert {slug for slug, rule in defaults.items() if rule.floating} == {"vindeln"}
    costs = {(slugs[c.from_municipality_id], slugs[c.to_municipality_id]): c.cost
             for c in db.scalars(select(TravelCost))}
    assert len(costs) == 30  # both directions between the six library municipalities
    assert costs[("umea", "vannas")] < costs[("umea", "robertsfors")]
    assert costs[("robertsfors", "nordmaling")] == costs[("nordmaling", "robertsfors")]


def test_loading_the_demo_again_adds_nothing(demo, db, everywhere):
    demo()
    before = _counts(db)
    db.commit()

    demo()

    assert _counts(db) == before


def test_a_demo_patron_is_found_by_card_and_pin_in_any_municipality(
    demo, db, municipalities, everywhere
):
    demo()

    cards = demo_patron_cards()
    assert {card.municipality for card in cards} == LIBRARY_SLUGS
    assert all(card.pin == DEMO_PIN for card in cards)
    for card in cards:
        patron = card_holder(db, card.card_number, card.pin)
        assert patron is not None, card
        assert (patron.name, patron.municipality_id) == (
            card.name, municipalities[card.municipality].id)
    assert card_holder(db, cards[0].card_number, "9999") is None
    assert db.scalar(select(func.count()).select_from(LibraryCard)) == len(cards)


def test_the_catalogue_keeps_its_marc_and_finds_the_classics_and_talking_books(
    demo, db, everywhere
):
    demo()

    records = list(db.scalars(select(BibRecord)))
    assert 150 <= len(records) <= 300
    assert all(pymarc.Record(data=record.marc, force_utf8=True)["245"] for record in records)
    assert sum(record.talking_book for record in records) >= 5
    assert {record.language for record in records} >= {"swe", "eng", "fin", "ara", "som",
                                                         "fas"}
    found = search_records(db, "bröderna lejonhjärta")
    titles = [(hit.record.title, hit.record.talking_book) for hit in found.results]
    assert ("Bröderna Lejonhjärta", False) in titles
    assert ("Bröderna Lejonhjärta", True) in titles
    for query, expected in (("moberg utvandrarna", "Utvandrarna"),
                            ("lagerlöf", "Gösta Berlings saga"),
                            ("kokbok", "Kokbok för nybörjare"),
                            ("marsvin", "Marsvinens hemlighet"),
                            ("män som hatar kvinnor", "Män som hatar kvinnor")):
        assert expected in [hit.record.title for hit in search_records(db, query).results], query


def test_some_titles_are_held_by_one_small_municipality_only(
    demo, db, municipalities, everywhere
):
    demo()

    owners: dict[object, set[str]] = {}
    slugs = {m.id: slug for slug, m in municipalities.items()}
    for item in db.scalars(select(Item)):
        owners.setdefault(item.record_id, set()).add(slugs[item.municipality_id])
    only_small = {record_id: held.pop() for record_id, held in owners.items()
                  if len(held) == 1 and held != {"umea"}}
    assert len(only_small) >= 5
    sista = db.scalars(select(BibRecord).where(
        BibRecord.title == "Sista brevet till Sverige")).one()
    assert only_small[sista.id] == "bjurholm"


def test_loans_fines_and_holds_are_under_way_when_the_demo_starts(
    demo, db, municipalities, everywhere
):
    demo()

    now = clock.now()
    open_loans = list(db.scalars(select(Loan).where(Loan.returned_at.is_(None))))
    assert len(open_loans) >= 5
    overdue = [loan for loan in open_loans if loan.due_at < now]
    assert len(overdue) == 1
    assert overdue[0].municipality_id == municipalities["robertsfors"].id
    fine = db.scalars(select(Fine)).one()
    assert fine.settled_at is None and fine.amount > 0
    assert db.scalar(select(func.count()).select_from(LoanStatistic)) >= 1

    holds = {(db.get(BibRecord, h.record_id).title, h.status): h for h in db.scalars(select(Hold))}
    ready = holds[("Sista brevet till Sverige", "ready")]
    pickup = db.get(Branch, (ready.pickup_municipality_id, ready.pickup_branch_id))
    assert pickup.name == "Nordmalings bibliotek"
    copy = db.get(Item, (ready.item_municipality_id, ready.item_id))
    assert copy.municipality_id == municipalities["bjurholm"].id
    assert copy.status == "on_hold_shelf"
    moving = holds[("Vi på Saltkråkan", "in_transit")]
    copy = db.get(Item, (moving.item_municipality_id, moving.item_id))
    assert (copy.municipality_id, copy.status) == (municipalities["vindeln"].id, "in_transit")

    queue = sorted((h for h in db.scalars(select(Hold)) if h.status == "waiting"),
                   key=lambda h: h.placed_at)
    places = {db.get(Patron, (h.municipality_id, h.patron_id)).name: queue_place(db, h)
              for h in queue}
    assert set(places) == {"Björn Holm", "Valle Persson"}
    assert places["Valle Persson"].position == 1, "Vännäs serves its own patrons first"
    assert places["Björn Holm"].waiting == 2


def _counts(db) -> dict[str, int]:
    return {model.__name__: db.scalar(select(func.count()).select_from(model))
            for model in (BibRecord, Branch, CirculationRule, Item, Patron, LibraryCard, Loan,
                          Hold, Fine, LoanStatistic, TravelCost)}
