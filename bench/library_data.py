"""A generated library consortium at its full size (or a small one), loaded in bulk.

Full size (the issue's): 300,000 records, 1,000,000 items, 100,000 patrons and 50,000
open holds over the six library municipalities, split by population; ``QUICK`` keeps the
proportions at 2,000 records. The records are made by :mod:`bench.library_marc`'s
generator and described as an import describes them (:func:`library_loans.marc.describe`),
each stored with its MARC; the copies, patrons, loans and holds are made here, so that their
counts are exact. The same seed gives the same consortium.

The state is a consortium in use, the moment before the worker's re-targeting runs:

- about an eighth of the copies are on loan (open loans to patrons of every municipality);
- a few thousand popular titles (full size) have queues of 1 to 12 holds, 50,000 in all,
  placed by patrons at their home branch over the last two months; their copies are out;
- of those holds some are captured: on the pickup branch's hold shelf, or in transit there
  (half of those for longer than the owner's transit alert days: stuck);
- a fifth of the queued titles have one copy back on a shelf that no hold has caught yet
  (returned while the worker was away), which re-targeting gives to the first in line.

Rows go in with SQLAlchemy Core (``insert(table)`` with lists of dicts, executemany) through
a tenant session of the database owner inside a scope of the library municipalities, so
row-level security admits them as it admits the app's writes; each table is analysed as
soon as it is loaded (which needs the owner), as ``bench.switchboard_data`` does. Core
inserts bypass the flush hooks, so every tenant row carries its municipality here. The
search index is then built with :func:`library_loans.search.index.reindex`, as an import
builds it. :func:`load_consortium` does it all in a throwaway database made without the
demo data, and times it.

Memory: the copies' rows are held until their states are settled (about 1 GB at full size).
"""

from __future__ import annotations

import random
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Table, insert, text
from sqlalchemy.orm import Session

from bench.library_marc import generate_records
from bench.runner import BenchDatabase
from library_loans.access import SERVICE
from library_loans.marc import Description, describe
from library_loans.models import (
    ANY,
    BibRecord,
    Branch,
    CirculationRule,
    Hold,
    Item,
    LibraryCard,
    Loan,
    Patron,
    RecordIsbn,
    TravelCost,
)
from library_loans.operations.rules import due_after, library_day
from library_loans.search.index import reindex
from services import clock
from services.db import make_engine, make_session_factory
from services.demo import load_municipalities
from services.identity.passwords import hash_secret
from services.tenancy import TenantScope, tenant_scope
from services.tenancy.operations import participants


@dataclass(frozen=True)
class ConsortiumSize:
    """How big a consortium to generate, over all library municipalities together."""

    records: int
    items: int
    patrons: int
    holds: int


FULL = ConsortiumSize(records=300_000, items=1_000_000, patrons=100_000, holds=50_000)
QUICK = ConsortiumSize(records=2_000, items=6_700, patrons=700, holds=350)

PIN = "2480"
"""Every generated patron's PIN (one argon2 hash shared, as the demo data does)."""
# Branches of each library municipality: (code, name, kind). The codes include those the
# MARC generator writes into item fields, so generated files import into these branches.
BRANCHES = {
    "umea": (("UMEA-STADS", "Umeå stadsbibliotek", "branch"),
             ("UMEA-HOLMSUND", "Holmsunds bibliotek", "branch"),
             ("UMEA-TEG", "Tegs bibliotek", "branch"),
             ("UMEA-HORNEFORS", "Hörnefors bibliotek", "branch"),
             ("UMEA-SAVAR", "Sävar bibliotek", "branch"),
             ("UMEA-BOKBUSS", "Bokbussen Umeå", "bookmobile")),
    "bjurholm": (("BJURHOLM-HB", "Bjurholms bibliotek", "branch"),),
    "nordmaling": (("NORDMALING-HB", "Nordmalings bibliotek", "branch"),
                   ("NORDMALING-RUNDVIK", "Rundviks bibliotek", "branch")),
    "robertsfors": (("ROBERTSFORS-HB", "Robertsfors bibliotek", "branch"),
                    ("ROBERTSFORS-BYGDEA", "Bygdeå bibliotek", "branch")),
    "vindeln": (("VINDELN-HB", "Vindelns bibliotek", "branch"),
                ("VINDELN-BOKBUSS", "Bokbussen Vindeln", "bookmobile")),
    "vannas": (("VANNAS-HB", "Vännäs bibliotek", "branch"),
               ("VANNAS-BY", "Vännäsby bibliotek", "branch")),
}
# Each municipality's default rule (all categories and media) where it differs from the
# defaults: Vindeln's copies float, Nordmaling serves its own patrons first, Vännäs fines.
RULES = {
    "umea": {},
    "bjurholm": {"loan_days": 35},
    "nordmaling": {"local_priority": True},
    "robertsfors": {},
    "vindeln": {"floating": True},
    "vannas": {"fine_per_day": 2, "fine_cap": 50, "fines_from_age": 18},
}
# Rough road distances between the municipalities' main libraries, as transport days.
_PLACE = {"umea": (0, 0), "bjurholm": (-1, 2), "nordmaling": (-3, 0), "robertsfors": (3, 1),
          "vindeln": (0, 3), "vannas": (-1, 1)}
CATEGORIES = {"adult": 0.70, "child": 0.15, "youth": 0.08, "senior": 0.06, "institution": 0.01}
LOAN_SHARE = 0.12
"""Share of the copies (of titles nobody queues for) on loan."""
QUEUE_LENGTHS = (1, 12)
"""The shortest and longest queue a popular title is given (then evened to the total)."""
CAPTURED_SHARE = 0.15
"""Share of the holds already caught: half on a hold shelf, half in transit."""
STUCK_SHARE = 0.5
"""Share of the in-transit holds whose copy is overdue (past the transit alert days)."""
FREED_SHARE = 0.2
"""Share of the queued titles with a copy back on a shelf that no hold has caught yet."""
SAMPLE = 20_000
"""At most this many cards, barcodes and query words are kept for the benchmarks."""
BATCH = 5_000
ID_EPOCH_MS = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)


@dataclass(frozen=True)
class BranchInfo:
    """A generated branch, as the benchmarks address it."""

    slug: str
    municipality_id: uuid.UUID
    id: uuid.UUID
    code: str


@dataclass
class GeneratedConsortium:
    """What was generated: rows per table, phase timings, and what benchmarks draw from."""

    rows: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time of each phase: generating and inserting each kind of row, indexing."""
    municipalities: dict[str, uuid.UUID] = field(default_factory=dict)
    branches: list[BranchInfo] = field(default_factory=list)
    hold_states: Counter[str] = field(default_factory=Counter)
    overdue_transits: int = 0
    """Holds in transit longer than the owner's transit alert days (re-targeting's to mend)."""
    cards: list[str] = field(default_factory=list)
    """Card numbers of adult patrons whose cards are valid (a sample)."""
    lendable: list[str] = field(default_factory=list)
    """Barcodes of copies on a shelf of titles nobody queues for (a sample)."""
    returnable: list[str] = field(default_factory=list)
    """Barcodes of copies on loan of titles nobody queues for (a sample)."""
    returnable_queued: list[str] = field(default_factory=list)
    """Barcodes of copies on loan of titles with waiting holds (a sample)."""
    title_words: Counter[str] = field(default_factory=Counter)
    titles: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    isbns: list[str] = field(default_factory=list)


def populate(session: Session, size: ConsortiumSize = FULL, *, seed: int = 2480,
             progress: Callable[[str], None] | None = None) -> GeneratedConsortium:
    """Insert a generated consortium and index its records (as the owner; uncommitted)."""
    say = progress or (lambda message: print(f"  {message}", file=sys.stderr))
    municipalities = [m for m in participants(session, SERVICE) if m.slug in BRANCHES]
    generated = GeneratedConsortium(municipalities={m.slug: m.id for m in municipalities})
    loader = _Loader(session, generated, random.Random(seed), _Ids(), say)
    weights = {m.slug: m.population_in(9999) or 1 for m in municipalities}
    with tenant_scope(TenantScope.of(generated.municipalities.values())):
        loader.timed("setup", lambda: loader.setup(weights))
        titles = loader.timed("records", lambda: loader.records(size.records, seed))
        queued = loader.timed("items", lambda: loader.items(titles, size))
        loader.timed("patrons", lambda: loader.patrons(size.patrons, weights))
        loader.timed("loans_and_holds", lambda: loader.circulation(queued, size.holds))
        loader.timed("search_index", lambda: loader.index([title.id for title in titles]))
    return generated


def load_consortium(database: BenchDatabase,
                    size: ConsortiumSize = FULL) -> tuple[GeneratedConsortium, dict[str, Any]]:
    """Load the municipalities and a generated consortium as the owner, timed; the figures.

    For a database made without the demo data (``throwaway_database(..., seed=False)``):
    the demo's own library would share the branch codes.
    """
    engine = make_engine(database.owner_url)
    try:
        with make_session_factory(engine)() as session:
            load_municipalities(session)
            session.commit()
            started, cpu = time.perf_counter(), time.process_time()
            generated = populate(session, size)
            session.commit()
            seconds = time.perf_counter() - started
            cpu_seconds = time.process_time() - cpu
    finally:
        engine.dispose()
    return generated, {
        "rows": dict(generated.rows), "hold_states": dict(generated.hold_states),
        "overdue_transits": generated.overdue_transits,
        "load_seconds": round(seconds, 2), "load_cpu_seconds": round(cpu_seconds, 2),
        "phase_seconds": generated.seconds,
        "method": "SQLAlchemy Core executemany in a tenant scope, as the owner; each table "
                  "analysed after its load; the search index built with reindex()"}


# --- private helpers -------------------------------------------------------------------


class _Ids:
    """UUIDv7-shaped ids from a fixed epoch and a counter: sortable, and the same every run."""

    def __init__(self) -> None:
        self.counter = 0

    def __call__(self) -> uuid.UUID:
        self.counter += 1
        return uuid.UUID(int=(ID_EPOCH_MS << 80) | (0x7 << 76) | (0b10 << 62) | self.counter)


@dataclass(frozen=True, slots=True)
class _Title:
    """A generated record, as far as its copies need it."""

    id: uuid.UUID
    media_type: str
    call_number: str


@dataclass(slots=True)
class _Copy:
    """A generated copy, before it is written."""

    row: dict[str, Any]
    title: _Title


class _Loader:
    """Generates the consortium's rows table by table and inserts them in bulk."""

    def __init__(self, session: Session, generated: GeneratedConsortium, rng: random.Random,
                 new_id: _Ids, say: Callable[[str], None]) -> None:
        self.session = session
        self.generated = generated
        self.rng = rng
        self.new_id = new_id
        self.say = say
        self.now = clock.now()
        self.postgresql = session.get_bind().dialect.name == "postgresql"
        self.branch_weights: list[tuple[BranchInfo, float]] = []
        self.patron_rows: list[dict[str, Any]] = []
        self.patrons_by_municipality: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
        self.copies: list[_Copy] = []

    def timed(self, phase: str, work: Callable[[], Any]) -> Any:
        """Run one phase of the load, noting its wall time."""
        started = time.perf_counter()
        result = work()
        self.generated.seconds[phase] = round(time.perf_counter() - started, 2)
        self.say(f"{phase}: {self.generated.seconds[phase]} s")
        return result

    def setup(self, weights: dict[str, int]) -> None:
        """Branches, each municipality's default rule and the travel costs between them."""
        branches, rules, costs = [], [], []
        for slug, municipality_id in self.generated.municipalities.items():
            specs = BRANCHES[slug]
            for code, name, kind in specs:
                branch = BranchInfo(slug, municipality_id, self.new_id(), code)
                self.generated.branches.append(branch)
                # The main library lends most; a bookmobile least.
                share = weights[slug] * (0.5 if code == specs[0][0] else 0.5 / len(specs))
                self.branch_weights.append((branch, share * (0.3 if kind == "bookmobile" else 1)))
                branches.append({"municipality_id": municipality_id, "id": branch.id,
                                 "code": code, "name": name, "kind": kind, "address": "",
                                 "email": "", "pickup": kind == "branch",
                                 "created_at": self.now, "updated_at": self.now})
            rules.append({**_default_rule(), **RULES[slug], "municipality_id": municipality_id,
                          "id": self.new_id(), "created_at": self.now, "updated_at": self.now})
            for other, other_id in self.generated.municipalities.items():
                if other != slug:
                    (x1, y1), (x2, y2) = _PLACE[slug], _PLACE[other]
                    costs.append({"from_municipality_id": municipality_id,
                                  "to_municipality_id": other_id,
                                  "cost": 1 + (abs(x1 - x2) + abs(y1 - y2)) // 2})
        self._insert(Branch.__table__, branches)
        self._insert(CirculationRule.__table__, rules)
        self._insert(TravelCost.__table__, costs)

    def records(self, count: int, seed: int) -> list[_Title]:
        """The generator's records, described and stored with their MARC, and their ISBNs."""
        titles: list[_Title] = []
        records = generate_records(count, seed=seed, items_per_record=(0, 0))
        while batch := [next(records) for _ in range(min(BATCH, count - len(titles)))]:
            rows, isbns = [], []
            for marc in batch:
                description = describe(marc)
                record_id = self.new_id()
                rows.append(self._record_row(record_id, description, marc.as_marc()))
                isbns += [{"isbn": isbn, "record_id": record_id} for isbn in description.isbns]
                titles.append(_Title(record_id, description.media_type,
                                     _call_number(description)))
                self._note_for_queries(description)
            self._insert(BibRecord.__table__, rows, analyse=False)
            self._insert(RecordIsbn.__table__, isbns, analyse=False)
            self.say(f"records: {len(titles):,} of {count:,}")
        self._analyse(BibRecord.__table__)
        self._analyse(RecordIsbn.__table__)
        return titles

    def items(self, titles: list[_Title], size: ConsortiumSize) -> set[uuid.UUID]:
        """Every title's copies (none for e-books), the popular ones with more; the queued ids."""
        physical = [title for title in titles if title.media_type != "ebook"]
        queued_count = max(1, round(size.holds / (sum(QUEUE_LENGTHS) / 2)))
        queued = self.rng.sample(physical, min(queued_count, len(physical)))
        counts = {title.id: self.rng.randint(1, 6) for title in physical}
        for title in queued:
            counts[title.id] = self.rng.randint(3, 8)
        _adjust_to(counts, size.items, self.rng)
        barcode = 30_000_000_000
        for title in physical:
            for _ in range(counts[title.id]):
                barcode += 1
                branch = self._branch()
                row = {"municipality_id": branch.municipality_id, "id": self.new_id(),
                       "record_id": title.id, "barcode": str(barcode),
                       "home_branch_id": branch.id,
                       "location_municipality_id": branch.municipality_id,
                       "location_branch_id": branch.id, "call_number": title.call_number,
                       "shelf": "", "media_type": title.media_type, "status": "available",
                       "status_changed_at": self.now - timedelta(days=self.rng.randint(1, 400)),
                       "transit_municipality_id": None, "transit_branch_id": None,
                       "version": 1, "created_at": self.now, "updated_at": self.now}
                if self.rng.random() < 0.02:
                    row["status"] = self.rng.choice(("missing", "damaged", "withdrawn"))
                self.copies.append(_Copy(row, title))
        return {title.id for title in queued}

    def patrons(self, count: int, weights: dict[str, int]) -> None:
        """Patrons by population, with their cards; a few cards have expired."""
        pin_hash = hash_secret(PIN)
        today = library_day(self.now)
        codes = {slug: f"{n:02d}" for n, slug in enumerate(sorted(BRANCHES), start=11)}
        slugs = list(self.generated.municipalities)
        home_branches = {slug: [b for b in self.generated.branches
                                if b.slug == slug and not b.code.endswith("BOKBUSS")]
                         for slug in slugs}
        cards = []
        for number in range(count):
            slug = self.rng.choices(slugs, weights=[weights[s] for s in slugs])[0]
            branch = self.rng.choice(home_branches[slug])
            category = _pick(self.rng, CATEGORIES)
            card = f"{codes[slug]}{number + 1:08d}"
            expires = today + timedelta(days=self.rng.randint(30, 3 * 365))
            if self.rng.random() < 0.01:
                expires = today - timedelta(days=self.rng.randint(1, 300))
            row = {"municipality_id": branch.municipality_id, "id": self.new_id(),
                   "card_number": card, "pin_hash": pin_hash, "name": f"Låntagare {card}",
                   "email": f"{card}@example.org", "phone": "", "locale": "sv",
                   "category": category, "birth_date": _birth_date(self.rng, category, today),
                   "home_branch_id": branch.id, "card_expires_on": expires,
                   "keeps_history": self.rng.random() < 0.1,
                   "created_at": self.now, "updated_at": self.now}
            self.patron_rows.append(row)
            self.patrons_by_municipality[branch.municipality_id].append(row)
            cards.append({"card_number": card, "municipality_id": branch.municipality_id,
                          "patron_id": row["id"]})
            if category == "adult" and expires > today + timedelta(days=30):
                self.generated.cards.append(card)
        self._insert(Patron.__table__, self.patron_rows)
        self._insert(LibraryCard.__table__, cards)
        self.rng.shuffle(self.generated.cards)
        del self.generated.cards[SAMPLE:]

    def circulation(self, queued: set[uuid.UUID], holds: int) -> None:
        """Copies lent out, queues on the popular titles; then the copies are written."""
        by_title: dict[uuid.UUID, list[_Copy]] = defaultdict(list)
        loans, hold_rows = [], []
        for copy in self.copies:
            if copy.row["status"] != "available":
                continue
            if copy.title.id in queued:
                by_title[copy.title.id].append(copy)
            elif self.rng.random() < LOAN_SHARE:
                loans.append(self._lend(copy))
                self._keep(self.generated.returnable, copy)
            else:
                self._keep(self.generated.lendable, copy)
        lengths = {title_id: self.rng.randint(*QUEUE_LENGTHS) for title_id in sorted(by_title)}
        _adjust_to(lengths, holds, self.rng)
        for title_id, length in lengths.items():
            new_loans, new_holds = self._queue(title_id, by_title[title_id], length)
            loans += new_loans
            hold_rows += new_holds
        self._insert(Item.__table__, [copy.row for copy in self.copies])
        self._insert(Loan.__table__, loans)
        self._insert(Hold.__table__, hold_rows)
        for name in ("lendable", "returnable", "returnable_queued"):
            found: list[str] = getattr(self.generated, name)
            self.rng.shuffle(found)
            del found[SAMPLE:]

    def index(self, record_ids: list[uuid.UUID]) -> None:
        """The search index of every record, built as an import builds it."""
        for start in range(0, len(record_ids), BATCH):
            reindex(self.session, record_ids[start:start + BATCH])
            self.say(f"indexed: {min(start + BATCH, len(record_ids)):,} of {len(record_ids):,}")
        self.generated.rows["library_record_search"] = len(record_ids)
        if self.postgresql:
            self.session.execute(text("ANALYZE library_record_search"))

    # --- rows ------------------------------------------------------------------------

    def _record_row(self, record_id: uuid.UUID, description: Description,
                    marc: bytes) -> dict[str, Any]:
        return {"id": record_id, "control_number": description.control_number,
                "control_source": description.control_source or "",
                "title": description.title, "author": description.author,
                "contributors": list(description.contributors),
                "publisher": description.publisher, "year": description.year,
                "language": description.language, "subjects": list(description.subjects),
                "classification": list(description.classification),
                "series": list(description.series), "notes": list(description.notes),
                "media_type": description.media_type, "audience": description.audience,
                "talking_book": description.talking_book, "marc": marc,
                "search_rowid": None, "created_at": self.now, "updated_at": self.now}

    def _lend(self, copy: _Copy, patron: dict[str, Any] | None = None) -> dict[str, Any]:
        """Put the copy on loan to a patron (a random one unless given); the loan's row."""
        patron = patron or self.rng.choice(self.patron_rows)
        lent = self.now - timedelta(days=self.rng.randint(0, 35), hours=self.rng.randint(0, 8))
        copy.row.update(status="on_loan", status_changed_at=lent)
        return {"municipality_id": copy.row["municipality_id"], "id": self.new_id(),
                "item_id": copy.row["id"], "patron_municipality_id": patron["municipality_id"],
                "patron_id": patron["id"], "branch_municipality_id": copy.row["municipality_id"],
                "branch_id": copy.row["location_branch_id"], "checked_out_at": lent,
                "due_at": due_after(lent, 28), "renewals": 0, "returned_at": None}

    def _queue(self, title_id: uuid.UUID, copies: list[_Copy],
               length: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """A title's queue of ``length`` holds, the first caught, its other copies out."""
        patrons = self._distinct_patrons(length)
        placed = sorted(self.now - timedelta(minutes=self.rng.randint(60, 60 * 24 * 60))
                        for _ in patrons)
        captured = min(len(copies) - 1, sum(self.rng.random() < CAPTURED_SHARE
                                            for _ in patrons))
        free = self.rng.random() < FREED_SHARE
        holds, loans = [], []
        for number, (patron, at) in enumerate(zip(patrons, placed, strict=True)):
            hold = {"municipality_id": patron["municipality_id"], "id": self.new_id(),
                    "record_id": title_id, "patron_id": patron["id"],
                    "pickup_municipality_id": patron["municipality_id"],
                    "pickup_branch_id": patron["home_branch_id"], "placed_at": at,
                    "status": "waiting", "suspended_until": None,
                    "item_municipality_id": None, "item_id": None, "captured_at": None,
                    "ready_at": None, "shelf_expires_on": None, "closed_at": None,
                    "version": 1}
            if number < captured:
                self._capture(hold, copies[number], at)
            holds.append(hold)
            self.generated.hold_states[hold["status"]] += 1
        for position, copy in enumerate(copies[captured:]):
            if free and position == 0:
                continue  # back on its shelf: re-targeting gives it to the first in line
            loans.append(self._lend(copy))
            self._keep(self.generated.returnable_queued, copy)
        return loans, holds

    def _capture(self, hold: dict[str, Any], copy: _Copy, placed: datetime) -> None:
        """The hold caught ``copy``: on the pickup's hold shelf, or in transit there."""
        pickup = (hold["pickup_municipality_id"], hold["pickup_branch_id"])
        waited = (self.now - placed).total_seconds() / 86400
        hold.update(item_municipality_id=copy.row["municipality_id"], item_id=copy.row["id"])
        home = (copy.row["location_municipality_id"], copy.row["location_branch_id"])
        if home == pickup or self.rng.random() < 0.5:
            at = self._days_ago(0, min(6, waited))
            hold.update(status="ready", captured_at=at, ready_at=at,
                        shelf_expires_on=library_day(at) + timedelta(days=7))
            copy.row.update(status="on_hold_shelf", status_changed_at=at,
                            location_municipality_id=pickup[0], location_branch_id=pickup[1])
            return
        # Stuck: sent longer ago than the owner's transit alert days (5).
        stuck = waited > 9 and self.rng.random() < STUCK_SHARE
        at = self._days_ago(8, min(20, waited)) if stuck else self._days_ago(0, min(3, waited))
        hold.update(status="in_transit", captured_at=at)
        self.generated.overdue_transits += stuck
        copy.row.update(status="in_transit", status_changed_at=at,
                        transit_municipality_id=pickup[0], transit_branch_id=pickup[1])

    def _days_ago(self, least: float, most: float) -> datetime:
        return self.now - timedelta(days=self.rng.uniform(least, max(least, most)))

    def _distinct_patrons(self, count: int) -> list[dict[str, Any]]:
        chosen: dict[uuid.UUID, dict[str, Any]] = {}
        while len(chosen) < min(count, len(self.patron_rows)):
            patron = self.rng.choice(self.patron_rows)
            chosen[patron["id"]] = patron
        return list(chosen.values())

    def _branch(self) -> BranchInfo:
        branches, weights = zip(*self.branch_weights, strict=True)
        return self.rng.choices(branches, weights=weights)[0]

    def _keep(self, sample: list[str], copy: _Copy) -> None:
        if len(sample) < SAMPLE * 4:
            sample.append(copy.row["barcode"])

    def _note_for_queries(self, description: Description) -> None:
        generated = self.generated
        generated.title_words.update(word.strip(".,:;").lower()
                                     for word in description.title.split())
        if len(generated.titles) < SAMPLE:
            generated.titles.append(description.title)
            if description.author:
                generated.authors.append(description.author)
            generated.subjects.extend(description.subjects[:1])
            generated.isbns.extend(description.isbns[:1])

    # --- writing -----------------------------------------------------------------------

    def _insert(self, table: Table, rows: list[dict[str, Any]], *, analyse: bool = True) -> None:
        for chunk in _chunks(rows, BATCH * 4):
            self.session.execute(insert(table), chunk)
        self.generated.rows[table.name] += len(rows)
        if analyse:
            self._analyse(table)

    def _analyse(self, table: Table) -> None:
        # Without statistics PostgreSQL checks each foreign key through the wrong index and
        # the next table's load turns quadratic; ANALYZE needs the owner.
        if self.postgresql:
            self.session.execute(text(f"ANALYZE {table.name}"))


def _default_rule() -> dict[str, Any]:
    return {"patron_category": ANY, "media_type": ANY, "loan_days": 28, "renewals": 2,
            "max_loans": 50, "holdable": True, "fine_per_day": 0, "fine_cap": 0,
            "block_threshold": None, "fines_from_age": None, "floating": False,
            "local_priority": False, "hold_shelf_days": 7, "transit_alert_days": 5}


def _call_number(description: Description) -> str:
    shelf_mark = description.classification[0].split("/")[0] if description.classification \
        else "H"
    name = (description.author or description.title).split(",")[0]
    return f"{shelf_mark} {name}"[:100]


def _adjust_to(counts: dict[uuid.UUID, int], total: int, rng: random.Random) -> None:
    """Add or take copies at random (keeping one at least) until ``counts`` sum to ``total``."""
    keys = list(counts)
    difference = total - sum(counts.values())
    while difference:
        key = rng.choice(keys)
        if difference > 0:
            counts[key] += 1
            difference -= 1
        elif counts[key] > 1:
            counts[key] -= 1
            difference += 1


def _pick(rng: random.Random, shares: dict[str, float]) -> str:
    return rng.choices(list(shares), weights=list(shares.values()))[0]


def _birth_date(rng: random.Random, category: str, today: date) -> date | None:
    ages = {"child": (4, 12), "youth": (13, 17), "adult": (18, 66), "senior": (67, 95)}
    if category not in ages:
        return None
    return today - timedelta(days=rng.randint(*ages[category]) * 365 + rng.randint(0, 364))


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


__all__ = ["FULL", "PIN", "QUICK", "BranchInfo", "ConsortiumSize", "GeneratedConsortium",
           "load_consortium", "populate"]
