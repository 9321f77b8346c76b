"""Demo library consortium: the six original municipalities' libraries, one catalogue.

Made up, but shaped like the real thing. Every municipality that has joined the library
service (Örnsköldsvik has not, so it has no libraries) gets its branches, circulation
rules, a few patrons with known cards and its copies of the shared catalogue, imported
from MARC as a library system's export would be. The rules show what differs between
municipalities: most charge no fines, Robertsfors does (not for children); Vännäs serves
its own patrons first with its own copies; Vindeln's copies float. A few things are under
way when the demo starts: loans (one overdue), an unpaid fine, a title reserved across
the border that waits on the hold shelf, one in transit, and a queue.

A municipality that already has a branch is left alone, so loading again adds nothing;
what happens between municipalities is loaded only with the municipalities it involves.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pymarc
from sqlalchemy import select
from sqlalchemy.orm import Session

from library_loans.access import SERVICE
from library_loans.models import BibRecord, Branch, Item, Patron
from library_loans.operations.administration import (
    create_branch,
    register_patron,
    set_rule,
    set_travel_cost,
)
from library_loans.operations.catalogue import import_marc
from library_loans.operations.circulation import checkin, checkout
from library_loans.operations.holds import place_hold
from library_loans.reference.demo_catalogue import (
    CONTROL_SOURCE,
    Copy,
    Title,
    catalogue,
    marc_record,
    shelf_for,
)
from library_loans.search.index import index_fields
from services import clock
from services.tenancy import TenantScope, tenant_scope
from services.tenancy.models import Municipality

DEMO_PIN = "1234"
"""Every demo patron's PIN (printed with the demo logins)."""

# slug: (code, name, kind, address, pickup); the first is the main library.
BRANCHES: dict[str, list[tuple[str, str, str, str, bool]]] = {
    "umea": [
        ("UMEA-STADS", "Umeå stadsbibliotek", "branch", "Väven, Storgatan 46A, Umeå", True),
        ("UMEA-HOLMSUND", "Holmsunds bibliotek", "branch", "Varvsgatan 4, Holmsund", True),
        ("UMEA-HORNEFORS", "Hörnefors bibliotek", "branch", "Centralgatan 18, Hörnefors",
         True),
        ("UMEA-SAVAR", "Sävar bibliotek", "branch", "Kyrkvägen 3, Sävar", True),
        ("UMEA-TEG", "Tegs bibliotek", "branch", "Tegs centrum, Umeå", True),
        ("UMEA-BOKBUSS", "Bokbussen", "bookmobile", "Hållplatser i Umeå kommuns byar", False),
    ],
    "bjurholm": [("BJURHOLM-HB", "Bjurholms bibliotek", "branch", "Oxvägen 4, Bjurholm",
                  True)],
    "nordmaling": [("NORDMALING-HB", "Nordmalings bibliotek", "branch",
                    "Kyrkogatan 2, Nordmaling", True)],
    "robertsfors": [
        ("ROBERTSFORS-HB", "Robertsfors bibliotek", "branch", "Storgatan 7, Robertsfors",
         True),
        ("ROBERTSFORS-BYGDEA", "Bygdeå bibliotek", "branch", "Skolvägen 3, Bygdeå", True),
    ],
    "vindeln": [("VINDELN-HB", "Vindelns bibliotek", "branch", "Järnvägsgatan 17, Vindeln",
                 True)],
    "vannas": [("VANNAS-HB", "Vännäs bibliotek", "branch", "Vänortsgatan 1, Vännäs", True)],
}

# slug: the municipality's rules, (patron category, media type, settings); 28 days for all.
RULES: dict[str, list[tuple[str, str, dict[str, object]]]] = {
    "umea": [("*", "*", {"loan_days": 28, "renewals": 3}),
             ("*", "film", {"loan_days": 14, "renewals": 1})],
    "bjurholm": [("*", "*", {"loan_days": 28})],
    "nordmaling": [("*", "*", {"loan_days": 28})],
    "robertsfors": [("*", "*", {"loan_days": 28, "fine_per_day": 2, "fine_cap": 60,
                                "block_threshold": 100, "fines_from_age": 18})],
    "vindeln": [("*", "*", {"loan_days": 28, "floating": True})],
    "vannas": [("*", "*", {"loan_days": 28, "local_priority": True})],
}

# Road distances in kilometres between the municipalities' main libraries; the transport's
# cost is counted in tens of kilometres.
DISTANCES = {
    ("umea", "vannas"): 30, ("umea", "vindeln"): 55, ("umea", "bjurholm"): 60,
    ("umea", "nordmaling"): 55, ("umea", "robertsfors"): 60, ("vannas", "vindeln"): 40,
    ("vannas", "bjurholm"): 45, ("vannas", "nordmaling"): 60, ("vannas", "robertsfors"): 85,
    ("vindeln", "bjurholm"): 60, ("vindeln", "nordmaling"): 95,
    ("vindeln", "robertsfors"): 70, ("bjurholm", "nordmaling"): 45,
    ("bjurholm", "robertsfors"): 110, ("nordmaling", "robertsfors"): 115,
}


@dataclass(frozen=True)
class DemoCard:
    """A demo patron as ``samverkan run`` lists them: card, PIN, who and where."""

    card_number: str
    pin: str
    name: str
    municipality: str
    branch_code: str
    category: str = "adult"
    note: str = ""
    birth_date: date | None = None
    expired: bool = False


CARDS = (
    DemoCard("24800001", DEMO_PIN, "Ulla Lindgren", "umea", "UMEA-STADS",
             note="lån, en reservation på väg från Vindeln"),
    DemoCard("24800002", DEMO_PIN, "Olle Nyström", "umea", "UMEA-HOLMSUND", "child",
             "barn", date(2016, 5, 14)),
    DemoCard("24800003", DEMO_PIN, "Greta Sandberg", "umea", "UMEA-TEG", "senior",
             "kortet har gått ut", expired=True),
    DemoCard("24030001", DEMO_PIN, "Björn Holm", "bjurholm", "BJURHOLM-HB",
             note="i kö för Solstorm"),
    DemoCard("24010001", DEMO_PIN, "Nora Berglund", "nordmaling", "NORDMALING-HB",
             note="en reservation från Bjurholm att hämta, ett lån från Vännäs"),
    DemoCard("24090001", DEMO_PIN, "Rut Öberg", "robertsfors", "ROBERTSFORS-HB",
             note="ett försenat lån och en obetald avgift"),
    DemoCard("24090002", DEMO_PIN, "Ruben Marklund", "robertsfors", "ROBERTSFORS-BYGDEA",
             "child", "barn", date(2014, 9, 2)),
    DemoCard("24040001", DEMO_PIN, "Vilma Eriksson", "vindeln", "VINDELN-HB",
             note="ett lån från Umeå"),
    DemoCard("24600001", DEMO_PIN, "Valle Persson", "vannas", "VANNAS-HB",
             note="i kö för Solstorm, före med Vännäs exemplar"),
)


def demo_patron_cards() -> list[DemoCard]:
    """Every demo patron's card and PIN, for the demo logins ``samverkan run`` prints."""
    return list(CARDS)


def load(session: Session, municipalities: dict[str, Municipality]) -> None:
    """Load the library demo for every library municipality that has no branch yet."""
    library = {slug: m for slug, m in municipalities.items()
               if slug in BRANCHES and any(p.service == SERVICE for p in m.participations)}
    titles = catalogue()
    loaded = []
    for slug, municipality in library.items():
        with tenant_scope(TenantScope.of([municipality.id])):
            if session.scalar(select(Branch.id).limit(1)) is None:
                _load_municipality(session, slug, municipality, titles)
                loaded.append(slug)
    _load_travel_costs(session, library)
    if loaded:
        with tenant_scope(TenantScope.of(m.id for m in library.values())):
            _Scenario(session, library, titles, set(loaded)).play()


# --- private helpers -------------------------------------------------------------------


def _load_municipality(session: Session, slug: str, municipality: Municipality,
                       titles: list[Title]) -> None:
    branches = {code: create_branch(session, code=code, name=name, kind=kind, address=address,
                                    pickup=pickup)
                for code, name, kind, address, pickup in BRANCHES[slug]}
    for category, media_type, settings in RULES[slug]:
        set_rule(session, patron_category=category, media_type=media_type, **settings)
    for card in CARDS:
        if card.municipality == slug:
            patron = register_patron(
                session, card_number=card.card_number, pin=card.pin, name=card.name,
                home_branch=branches[card.branch_code], category=card.category,
                birth_date=card.birth_date,
                email=f"{card.card_number}@example.org")
            if card.expired:
                patron.card_expires_on = clock.now().date() - timedelta(days=12)
    export = io.BytesIO(b"".join(record.as_marc()
                                 for record in _export(slug, municipality, titles)))
    import_marc(session, export, municipality_id=municipality.id, on_described=index_fields)


def _export(slug: str, municipality: Municipality, titles: list[Title]
            ) -> Iterator[pymarc.Record]:
    """The municipality's library system's export: every title it holds, with its copies."""
    codes = [code for code, *_rest in BRANCHES[slug]]
    serial = 0
    for number, title in enumerate(titles, start=1):
        count = title.copies().get(slug, 0)
        copies = []
        for index in range(count):
            serial += 1
            # The main library holds the first copy; further ones go round the branches.
            copies.append(Copy(f"{municipality.scb_code}{serial:06d}",
                               codes[index % len(codes)], shelf_for(title)))
        if copies:
            yield marc_record(title, number, copies)


def _load_travel_costs(session: Session, library: dict[str, Municipality]) -> None:
    for (one, other), kilometres in DISTANCES.items():
        if one in library and other in library:
            set_travel_cost(session, library[one].id, library[other].id,
                            max(1, round(kilometres / 10)))


class _Scenario:
    """What is going on in the libraries when the demo starts, played in time order."""

    def __init__(self, session: Session, library: dict[str, Municipality],
                 titles: list[Title], loaded: set[str]) -> None:
        self.session = session
        self.library = library
        self.titles = titles
        self.loaded = loaded
        self.now = clock.now()

    def play(self) -> None:
        """Loans, a late return, holds across the border; each only with its municipalities."""
        if self._involves("robertsfors"):
            self._late_return()
            self._lend("24090001", "Rid i natt!", "robertsfors", "ROBERTSFORS-HB", days_ago=45)
        if self._involves("umea"):
            self._lend("24800001", "Utvandrarna", "umea", "UMEA-STADS", days_ago=10)
            self._lend("24800002", "Pippi Långstrump", "umea", "UMEA-HOLMSUND", days_ago=3)
        if self._involves("umea", "vindeln"):
            self._lend("24800001", "Hjortronlandet", "vindeln", "VINDELN-HB", days_ago=6)
        if self._involves("nordmaling", "bjurholm"):
            self._hold_ready_across_the_border()
        if self._involves("umea", "vindeln"):
            self._reserve("24800001", "Vi på Saltkråkan", "UMEA-STADS", days_ago=1)
        if self._involves("umea", "vannas", "bjurholm", "vindeln", "nordmaling"):
            self._queue()

    def _late_return(self) -> None:
        """Rut returned a Robertsfors book a week late: a fine she has not paid."""
        self._lend("24090001", "Kokbok för nybörjare", "robertsfors", "ROBERTSFORS-HB",
                   days_ago=70)
        self._return("Kokbok för nybörjare", "robertsfors", "ROBERTSFORS-HB", days_ago=35)

    def _hold_ready_across_the_border(self) -> None:
        """Nora reserved Bjurholm's only copy; it came to Nordmaling and waits for her."""
        self._reserve("24010001", "Sista brevet till Sverige", "NORDMALING-HB", days_ago=4)
        self._return("Sista brevet till Sverige", "bjurholm", "NORDMALING-HB", days_ago=1)

    def _queue(self) -> None:
        """Every copy of Solstorm is out; Björn queued first, Valle goes first for Vännäs's."""
        self._lend("24800001", "Solstorm", "umea", "UMEA-STADS", days_ago=9)
        self._lend("24040001", "Solstorm", "umea", "UMEA-STADS", days_ago=8)
        self._lend("24010001", "Solstorm", "vannas", "VANNAS-HB", days_ago=7)
        self._reserve("24030001", "Solstorm", "BJURHOLM-HB", days_ago=5)
        self._reserve("24600001", "Solstorm", "VANNAS-HB", days_ago=2)

    def _involves(self, *slugs: str) -> bool:
        return all(slug in self.loaded for slug in slugs)

    def _lend(self, card: str, title: str, owner: str, branch: str, *, days_ago: int) -> None:
        item = self._free_copy(title, owner)
        checkout(self.session, item.barcode, self._patron(card), self._branch(branch),
                 at=self._ago(days_ago))

    def _return(self, title: str, owner: str, branch: str, *, days_ago: int) -> None:
        item = self._copies(title, owner)[0]
        checkin(self.session, item.barcode, self._branch(branch), at=self._ago(days_ago))

    def _reserve(self, card: str, title: str, pickup: str, *, days_ago: int) -> None:
        place_hold(self.session, self._patron(card), self._record(title), self._branch(pickup),
                   at=self._ago(days_ago))

    def _record(self, title: str) -> BibRecord:
        number = next(number for number, candidate in enumerate(self.titles, start=1)
                      if candidate.title == title and candidate.medium == "book")
        record = self.session.scalar(select(BibRecord).where(
            BibRecord.control_source == CONTROL_SOURCE,
            BibRecord.control_number == f"samv-demo-{number:04d}"))
        assert record is not None, title
        return record

    def _copies(self, title: str, owner: str) -> list[Item]:
        return list(self.session.scalars(select(Item).where(
            Item.record_id == self._record(title).id,
            Item.municipality_id == self.library[owner].id).order_by(Item.barcode)))

    def _free_copy(self, title: str, owner: str) -> Item:
        return next(item for item in self._copies(title, owner) if item.status == "available")

    def _patron(self, card: str) -> Patron:
        patron = self.session.scalar(select(Patron).where(Patron.card_number == card))
        assert patron is not None, card
        return patron

    def _branch(self, code: str) -> Branch:
        branch = self.session.scalar(select(Branch).where(Branch.code == code))
        assert branch is not None, code
        return branch

    def _ago(self, days: int) -> datetime:
        return self.now - timedelta(days=days, hours=2)
