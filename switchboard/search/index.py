"""The in-memory search index of one municipality's directory, rebuilt when it changes.

An operator types and results must follow within milliseconds, over 50,000 contacts, with
prefixes, typos, Swedish spelling variants and digits of phone numbers. Each process keeps
one index per municipality in memory, built from the database in a handful of queries,
and compares the municipality's directory revision before every search: an edit or a sync
in any process is seen by the next search in every other.

The index is loaded inside the caller's tenant scope, one municipality at a time, so it
never holds a municipality's data the caller could not read from the database directly.
"""

from __future__ import annotations

import bisect
import functools
import gc
import itertools
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services import clock
from services.db import READ_ONLY, make_session_factory
from services.i18n import swedish_sort_key
from services.readcache import ReadCache, database_key
from services.tenancy.models import Municipality
from switchboard.models import (
    RAISED_REVISIONS,
    Absence,
    Contact,
    DirectoryRevision,
    Keyword,
    OpeningHours,
    PhoneNumber,
    Unit,
)
from switchboard.numbers import format_number, searchable_digits
from switchboard.operations.directory import STAYS_FINDABLE_DAYS
from switchboard.operations.presence import Interval
from switchboard.search.text import TYPO_MIN_LENGTH, deletions, fold, phonetic, words

FIELD_WEIGHTS = {
    "name": 1.0, "nickname": 0.95, "keyword": 0.9, "title": 0.75, "unit": 0.6,
    "email": 0.5, "room": 0.4,
}
"""How much a match in each field counts: a name beats a keyword beats a unit."""


@dataclass
class AbsenceView:
    """An absence as the index keeps it, with the referral resolved."""

    reason: str
    starts_at: datetime
    returns_at: datetime | None
    source: str
    set_at: datetime
    referral_id: uuid.UUID | None
    referral_note: str


@dataclass
class Entry:
    """One findable thing: a person, a function or a unit."""

    id: uuid.UUID
    kind: str
    name: str
    doc: dict[str, Any]
    """The static part of the search result (everything but availability and ranking)."""
    texts: list[tuple[str, str]] = field(default_factory=list)
    """(field, text) for every text the entry is found by."""
    hours: tuple[Interval, ...] = ()
    absences: list[AbsenceView] = field(default_factory=list)
    left_on: date | None = None
    successor_id: uuid.UUID | None = None
    numbers: tuple[Any, ...] = ()
    """The entry's numbers as loaded; formatted only for the results shown."""
    numbers_doc: list[dict[str, Any]] | None = None
    """The numbers as results show them, once the entry has been shown (see shown_numbers)."""
    shown_doc: dict[str, Any] | None = None
    """The clock-free part of the entry's result, once it has been shown."""
    shown_json: bytes | None = None
    """``shown_doc`` as JSON without its closing brace, once an API answer has shown it."""
    constant_availability: bytes | None = None
    """The availability as JSON, for an entry no clock changes (no absences, no hours, or
    left), once an API answer has shown it."""
    sort_key: Any = None
    rank: int = 0
    """The entry's place in Swedish alphabetical order within its municipality (and its
    position in the index's entries)."""


@dataclass
class MunicipalityIndex:
    """Everything findable in one municipality's directory, with its lookup tables."""

    municipality_id: uuid.UUID
    slug: str
    name: str
    version: tuple[uuid.UUID, int] | None
    entries: list[Entry]
    contacts: dict[uuid.UUID, int]
    postings: dict[str, list[tuple[str, str, tuple[int, ...]]]] = field(default_factory=dict)
    """Word → (field, word as written, the entries with it there)."""
    counts: dict[str, int] = field(default_factory=dict)
    sorted_tokens: list[str] = field(default_factory=list)
    by_sound: dict[str, list[str]] = field(default_factory=dict)
    by_deletion: dict[str, list[str]] = field(default_factory=dict)
    digit_text: str = ""
    digit_starts: list[int] = field(default_factory=list)
    digit_owners: list[int] = field(default_factory=list)
    digit_forms: dict[str, tuple[int, ...]] = field(default_factory=dict)
    """Each whole digit form → its owners, best-ranked first (a shared number's many)."""
    left: frozenset[int] = frozenset()
    built_on: date = field(default_factory=lambda: clock.now().date())
    """Who has been gone too long to be found is decided on this day: rebuilt the next."""
    serial: int = field(default_factory=lambda: next(_SERIALS))
    """Tells this build from every other in the process (results are kept per build)."""

    def prefix_range(self, folded: str) -> tuple[int, int]:
        """The slice of ``sorted_tokens`` that starts with ``folded``."""
        low = bisect.bisect_left(self.sorted_tokens, folded)
        high = bisect.bisect_left(self.sorted_tokens, folded + "\U0010ffff", lo=low)
        return low, high


REVISIONS: ReadCache[dict[uuid.UUID, tuple[uuid.UUID, int]]] = ReadCache(
    "switchboard revisions", seconds=1.0, watches=(DirectoryRevision,))
"""The directory revisions last read: a change committed by another process (a sync in the
worker, an edit through another gunicorn worker) reaches this process's searches within a
second; one committed here, at once."""

_SERIALS = itertools.count(1)
_INDEXES: dict[tuple[str, uuid.UUID], MunicipalityIndex] = {}
_LOCKS: dict[tuple[str, uuid.UUID], threading.Lock] = defaultdict(threading.Lock)


def indexes_for(session: Session, municipality_ids: list[uuid.UUID]) -> list[MunicipalityIndex]:
    """The current index of each municipality, rebuilding those whose directory changed."""
    database = database_key(session)
    versions = REVISIONS.get(session, frozenset(municipality_ids), lambda: {
        municipality_id: (row_id, revision)
        for municipality_id, row_id, revision in session.execute(
            select(DirectoryRevision.municipality_id, DirectoryRevision.id,
                   DirectoryRevision.revision)
            .where(DirectoryRevision.municipality_id.in_(municipality_ids))
        )
    })
    # A session that changed the directory and has not committed must not leave an index
    # of its uncommitted rows behind for others: build it for this search only.
    uncommitted = bool(session.info.get(RAISED_REVISIONS))
    today = clock.now().date()

    def stale(index: MunicipalityIndex | None, version: tuple[uuid.UUID, int] | None) -> bool:
        return index is None or index.version != version or index.built_on != today

    found = []
    for municipality_id in municipality_ids:
        key = (database, municipality_id)
        version = versions.get(municipality_id)
        index = _INDEXES.get(key)
        if uncommitted:
            index = build_index(session, municipality_id, version)
        elif stale(index, version):
            with _LOCKS[key]:
                index = _INDEXES.get(key)
                if stale(index, version):
                    index = _build_beside(session, municipality_id, version)
                    _INDEXES[key] = index
                    # The index is long-lived and large: keep the cyclic garbage
                    # collector from walking it on every full collection.
                    gc.collect()
                    gc.freeze()
        found.append(index)
    return found


def _build_beside(session: Session, municipality_id: uuid.UUID,
                  version: tuple[uuid.UUID, int] | None) -> MunicipalityIndex:
    """Build in a read-only session of its own, so SQLite's write lock is not held meanwhile.

    A build takes seconds for a large municipality; the request's own transaction may hold
    SQLite's write lock, and other requests would queue behind it.
    """
    with make_session_factory(session.get_bind().execution_options(**{READ_ONLY: True}))() \
            as reader:
        return build_index(reader, municipality_id, version)


def build_index(session: Session, municipality_id: uuid.UUID,
                version: tuple[uuid.UUID, int] | None) -> MunicipalityIndex:
    """Load one municipality's directory and index it."""
    municipality = session.get(Municipality, municipality_id)
    assert municipality is not None
    loaded = _Loaded.of(session, municipality_id)
    index = MunicipalityIndex(municipality_id, municipality.slug, municipality.name, version,
                              entries=[], contacts={})
    for unit in loaded.units.values():
        index.entries.append(_unit_entry(unit, loaded, municipality))
    for contact in loaded.contacts.values():
        index.contacts[contact.id] = len(index.entries)
        index.entries.append(_contact_entry(contact, loaded, municipality))
    _add_keywords(index, loaded)
    _build_lookups(index, loaded)
    return index


# --- loading ----------------------------------------------------------------------------


@dataclass
class _Loaded:
    units: dict[uuid.UUID, Any]
    contacts: dict[uuid.UUID, Any]
    numbers: dict[uuid.UUID, list[Any]]
    hours: dict[uuid.UUID, list[Interval]]
    keywords: list[Any]
    absences: dict[uuid.UUID, list[AbsenceView]]
    paths: dict[uuid.UUID | None, tuple[Any, ...]] = field(default_factory=dict)
    unit_docs: dict[uuid.UUID | None, dict[str, Any] | None] = field(default_factory=dict)

    @classmethod
    def of(cls, session: Session, municipality_id: uuid.UUID) -> _Loaded:
        now = clock.now()
        findable_since = now.date() - timedelta(days=STAYS_FINDABLE_DAYS)
        mine = municipality_id

        def rows(*columns: Any, where: Any = True) -> list[Any]:
            model = columns[0].class_
            return list(session.execute(
                select(*columns).where(model.municipality_id == mine).where(where)
            ))

        units = {u.id: u for u in rows(Unit.id, Unit.parent_id, Unit.name, Unit.level,
                                       Unit.visiting_address, Unit.email, Unit.info)}
        contacts = {c.id: c for c in rows(
            Contact.id, Contact.kind, Contact.name, Contact.nicknames, Contact.title,
            Contact.email, Contact.room, Contact.info, Contact.unit_id, Contact.left_on,
            Contact.successor_id,
            where=(Contact.left_on.is_(None)) | (Contact.left_on >= findable_since))}
        numbers: dict[uuid.UUID, list[Any]] = defaultdict(list)
        for number in sorted(rows(PhoneNumber.contact_id, PhoneNumber.unit_id, PhoneNumber.kind,
                                  PhoneNumber.e164, PhoneNumber.extension, PhoneNumber.display,
                                  PhoneNumber.formatted, PhoneNumber.position),
                             key=lambda n: n.position):
            numbers[number.contact_id or number.unit_id].append(number)
        hours: dict[uuid.UUID, list[Interval]] = defaultdict(list)
        for row in rows(OpeningHours.unit_id, OpeningHours.weekday, OpeningHours.opens,
                        OpeningHours.closes):
            hours[row.unit_id].append(Interval(row.weekday, row.opens, row.closes))
        keywords = rows(Keyword.word, Keyword.synonyms, Keyword.contact_id, Keyword.unit_id)
        absences: dict[uuid.UUID, list[AbsenceView]] = defaultdict(list)
        for row in rows(Absence.contact_id, Absence.reason, Absence.starts_at,
                        Absence.returns_at, Absence.source, Absence.set_at,
                        Absence.referral_contact_id, Absence.referral_note,
                        where=Absence.ended_at.is_(None)
                        & ((Absence.returns_at.is_(None)) | (Absence.returns_at > now))):
            absences[row.contact_id].append(AbsenceView(
                row.reason, row.starts_at, row.returns_at, row.source, row.set_at,
                row.referral_contact_id, row.referral_note))
        return cls(units, contacts, numbers, hours, keywords, absences)

    def path(self, unit_id: uuid.UUID | None) -> tuple[Any, ...]:
        if unit_id not in self.paths:
            chain: list[Any] = []
            at = unit_id
            while at is not None and at in self.units and len(chain) < 20:
                chain.append(self.units[at])
                at = self.units[at].parent_id
            self.paths[unit_id] = tuple(reversed(chain))
        return self.paths[unit_id]


def shown_numbers(entry: Entry) -> list[dict[str, Any]]:
    """The entry's numbers as results show them, formatted the first time it is shown."""
    if entry.numbers_doc is None:
        entry.numbers_doc = describe_numbers(entry.numbers)
    return entry.numbers_doc


def describe_numbers(numbers: Iterable[Any]) -> list[dict[str, Any]]:
    """Numbers as results show them: type, display form, E.164 and extension."""
    return [
        {"kind": n.kind,
         "number": n.display or n.formatted or (_formatted(n.e164) if n.e164 else ""),
         "e164": n.e164, "extension": n.extension or None}
        for n in numbers
    ]


@functools.lru_cache(maxsize=4096)
def _formatted(e164: str) -> str:
    # Only for a row written past number_values (which stores the formatting).
    return format_number(e164)


def _unit_doc(loaded: _Loaded, unit_id: uuid.UUID | None) -> dict[str, Any] | None:
    if unit_id not in loaded.unit_docs:
        chain = loaded.path(unit_id)
        loaded.unit_docs[unit_id] = {"id": str(chain[-1].id), "name": chain[-1].name,
                                     "path": [u.name for u in chain]} if chain else None
    return loaded.unit_docs[unit_id]


def _unit_entry(unit: Any, loaded: _Loaded, municipality: Municipality) -> Entry:
    doc = {
        "id": str(unit.id), "kind": "unit", "name": unit.name, "title": "",
        "municipality": municipality.slug, "municipality_name": municipality.name,
        "unit": _unit_doc(loaded, unit.parent_id),
        "email": unit.email, "room": "", "nicknames": [],
        "visiting_address": unit.visiting_address, "info": unit.info, "left": None,
    }
    entry = Entry(unit.id, "unit", unit.name, doc, hours=tuple(loaded.hours.get(unit.id, ())),
                  numbers=tuple(loaded.numbers.get(unit.id, ())),
                  sort_key=_sort_key(unit.name))
    _add_text(entry, "name", unit.name)
    for parent in loaded.path(unit.parent_id):
        _add_text(entry, "unit", parent.name)
    return entry


def _contact_entry(contact: Any, loaded: _Loaded, municipality: Municipality) -> Entry:
    left = {"on": contact.left_on.isoformat()} if contact.left_on is not None else None
    doc = {
        "id": str(contact.id), "kind": contact.kind, "name": contact.name,
        "title": contact.title, "municipality": municipality.slug,
        "municipality_name": municipality.name, "unit": _unit_doc(loaded, contact.unit_id),
        "email": contact.email, "room": contact.room, "nicknames": list(contact.nicknames),
        "info": contact.info, "left": left,
    }
    hours: tuple[Interval, ...] = ()
    if contact.kind == "function" and contact.unit_id is not None:
        hours = tuple(loaded.hours.get(contact.unit_id, ()))
    entry = Entry(contact.id, contact.kind, contact.name, doc, hours=hours,
                  absences=loaded.absences.get(contact.id, []), left_on=contact.left_on,
                  successor_id=contact.successor_id,
                  numbers=tuple(loaded.numbers.get(contact.id, ())),
                  sort_key=_sort_key(contact.name))
    _add_text(entry, "name", contact.name)
    for nickname in contact.nicknames:
        _add_text(entry, "nickname", nickname)
    _add_text(entry, "title", contact.title)
    for unit in loaded.path(contact.unit_id):
        _add_text(entry, "unit", unit.name)
    _add_text(entry, "email", contact.email.split("@")[0])
    _add_text(entry, "room", contact.room)
    return entry


def _add_text(entry: Entry, field_name: str, text: str) -> None:
    if text:
        entry.texts.append((field_name, text))


@functools.lru_cache(maxsize=65536)
def _sort_key(name: str) -> Any:
    return swedish_sort_key(name)


@functools.lru_cache(maxsize=65536)
def tokens_of(text: str) -> tuple[tuple[str, str], ...]:
    """The (folded, as written) words of ``text``; memoised, as names and units repeat."""
    return tuple((fold(word), word) for word in words(text or ""))


def _add_keywords(index: MunicipalityIndex, loaded: _Loaded) -> None:
    by_target = {entry.id: entry for entry in index.entries}
    for keyword in loaded.keywords:
        entry = by_target.get(keyword.contact_id or keyword.unit_id)
        if entry is None:
            continue
        entry.doc.setdefault("keywords", []).append(keyword.word)
        for text in (keyword.word, *keyword.synonyms):
            _add_text(entry, "keyword", text)


def _build_lookups(index: MunicipalityIndex, _loaded: _Loaded) -> None:
    # Entries stand in Swedish alphabetical order, so every posting group lists its entries
    # best-ranked first and a search can stop reading a group after the first few.
    index.entries.sort(key=lambda entry: entry.sort_key)
    index.contacts = {entry.id: position for position, entry in enumerate(index.entries)
                      if entry.id in index.contacts}
    for rank, entry in enumerate(index.entries):
        entry.rank = rank
    grouped: dict[str, dict[tuple[str, str], list[int]]] = defaultdict(lambda: defaultdict(list))
    digit_parts: list[str] = []
    offset = 0
    for position, entry in enumerate(index.entries):
        entry.doc.setdefault("keywords", [])
        for field_name, text in entry.texts:
            for folded, written in tokens_of(text):
                grouped[folded][(field_name, written)].append(position)
        for digits in (d for n in entry.numbers for d in searchable_digits(n.e164, n.extension)):
            index.digit_starts.append(offset)
            index.digit_owners.append(position)
            digit_parts.append(digits)
            offset += len(digits) + 1
    index.left = frozenset(p for p, entry in enumerate(index.entries) if entry.left_on)
    # Entries found by the same word in the same field score the same: keep them together,
    # so a search can take whole groups at C speed (dict.fromkeys) instead of entry by entry.
    index.postings = {
        token: [(field_name, written, tuple(dict.fromkeys(positions)))
                for (field_name, written), positions in groups.items()]
        for token, groups in grouped.items()
    }
    index.counts = {token: sum(len(group[2]) for group in groups)
                    for token, groups in index.postings.items()}
    index.sorted_tokens = sorted(index.postings)
    by_sound: dict[str, list[str]] = defaultdict(list)
    by_deletion: dict[str, list[str]] = defaultdict(list)
    for token in index.sorted_tokens:
        if token.isdigit():
            continue
        by_sound[phonetic(token)].append(token)
        if len(token) >= TYPO_MIN_LENGTH - 1:
            for shorter in deletions(token):
                by_deletion[shorter].append(token)
    index.by_sound = dict(by_sound)
    index.by_deletion = dict(by_deletion)
    index.digit_text = "|".join(digit_parts)
    forms: dict[str, list[int]] = defaultdict(list)
    for digits, owner in zip(digit_parts, index.digit_owners, strict=True):
        forms[digits].append(owner)
    index.digit_forms = {digits: tuple(dict.fromkeys(owners)) for digits, owners in forms.items()}
