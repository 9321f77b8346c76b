"""The catalogue's search index, resident in each process's memory, searched with numpy.

A common word matches half the catalogue (160,000 of 300,000 records): a database reads
every matching row to score it, to count the facets and to find the best twenty, and
PostgreSQL needs half a second for that, SQLite more. The same work over arrays in memory
takes milliseconds: each process keeps, per database, every index token's postings (the
records that have it, as ordinals) and, per record, what the result list is counted and
ordered by. A search marks each term's matches with the best weight its tiers reach, as the
database engines score them (:class:`library_loans.search.index.Engine`), and the answer is
the same: the same records, scores, order and facets (``test_resident_search`` holds them
to it on both databases).

The ordinals are the records' places in title order (their ``sort_key``, then their id), so
that of records scoring the same the one with the lower ordinal comes first.

Staying true:

- Records' tokens change with imports and edits, which raise the catalogue's revision
  (:func:`raise_revision`, called by ``reindex`` and ``drop``). A process reads the
  revision at most once a second (at once after its own commit) and, when it changed,
  builds a new resident index; meanwhile, and whenever the session itself has uncommitted
  changes to the catalogue, searches go to the database engine, which is always current.
  A small catalogue is built at once; a large one beside the searches, in a thread.
- Where copies are on a shelf (``places``, the "available now in" facet and filter) changes
  with every check-out and check-in: every index row written is stamped
  (``copies_changed``, see migration ``library_loans_0006``), and a process reads the rows
  stamped since it last looked at most once a second, and at once after its own commit
  changed copies.
"""

from __future__ import annotations

import bisect
import threading
import uuid
from array import array
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    String,
    Table,
    Uuid,
    event,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from library_loans.models import BibRecord, Item, RecordIsbn
from services import readcache
from services.db import READ_ONLY, Base
from services.ids import uuid7

if TYPE_CHECKING:  # the index imports this module as it loads
    from library_loans.search.index import Tiers

REVISION_TABLE = Table(
    "library_catalogue_revision",
    Base.metadata,
    Column("name", String(20), primary_key=True),
    Column("id", Uuid, nullable=False),
    Column("revision", BigInteger, nullable=False),
    info={"shared": True},
)
"""One row (``catalogue``): raised by every transaction that writes or drops index rows.
Its ``id`` is new whenever the row is (a wiped database starts again at revision 1)."""

SYNC_LIMIT = 20_000
"""Index rows up to which a process builds its resident index before answering; a larger
catalogue is built in a thread while the database engine answers."""
PROBE_SECONDS = 1.0
"""How often a process looks for changes other processes committed."""

_NAME = "catalogue"
_RAISED = "library_catalogue_revision_raised"
"""Session.info key: this transaction raised the revision already."""


class CatalogueRevision:
    """Marks a transaction that wrote index rows (for :mod:`services.readcache`)."""


_WATCHED: tuple[type, ...] = (CatalogueRevision, BibRecord, Item, RecordIsbn)
"""The models whose uncommitted changes send a search to the database."""


def raise_revision(session: Session) -> None:
    """Raise the catalogue's revision, once per transaction that changes records' tokens."""
    if session.info.get(_RAISED):
        return
    connection = session.connection()
    insert = sqlite_insert if connection.dialect.name == "sqlite" else postgresql_insert
    statement = insert(REVISION_TABLE).values(name=_NAME, id=uuid7(), revision=1)
    connection.execute(statement.on_conflict_do_update(
        index_elements=["name"], set_={"revision": REVISION_TABLE.c.revision + 1}))
    readcache.mark_changed(session, CatalogueRevision)
    session.info[_RAISED] = True


@dataclass(frozen=True)
class Ranked:
    """What a search found: how many, the page (record id and score), and facet counts."""

    total: int
    page: list[tuple[uuid.UUID, float]]
    facets: dict[str, Counter[str]]
    ordinals: list[int]
    """The page's records' ordinals in the index that ranked them."""


@dataclass
class ResidentIndex:
    """One database's index at one revision: postings, listing arrays and places."""

    revision: tuple[Any, ...]
    tokens: list[str]
    """Every coded token (``a_bok``), sorted, so that a prefix is a slice."""
    starts: np.ndarray
    """Where each token's postings begin in ``postings`` (one more entry than tokens)."""
    postings: np.ndarray
    """Ordinals of the records with each token, token after token."""
    record_ids: np.ndarray
    """Each ordinal's record id, as 16 bytes."""
    by_id: np.ndarray
    """Ordinals in the order of their record ids (for finding a record's ordinal)."""
    media_type: np.ndarray
    language: np.ndarray
    audience: np.ndarray
    values: dict[str, list[str | None]]
    """Per listed column, the value each code in its array stands for."""
    places: np.ndarray
    """Per ordinal, a bit per municipality with a copy on a shelf there now."""
    slugs: list[str]
    """The municipality whose bit is 1 << n, n its position."""
    mark: tuple[int, tuple[int, ...]]
    """Which stamps the index has not read yet. PostgreSQL: those at or above the last look's
    snapshot's xmax, and those of the transactions it saw still running; SQLite: those above
    the highest it read (its writers take turns)."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    places_version: int = 0
    """Raised whenever the probe finds copies changed (what is kept per version is stale)."""
    copies_json: dict[int, bytes] = field(default_factory=dict)
    """Records' copies as the API shows them, dropped when the probe sees them change."""
    answers: Any = None
    """The API's kept answers for this build (:mod:`library_loans.search.answers`)."""

    @property
    def size(self) -> int:
        """The records indexed."""
        return len(self.record_ids)

    @property
    def nbytes(self) -> int:
        """The arrays' bytes, and the tokens' at their UTF-8 length (a lower bound)."""
        arrays = (self.starts, self.postings, self.record_ids, self.by_id, self.media_type,
                  self.language, self.audience, self.places)
        return sum(array.nbytes for array in arrays) + sum(len(t) for t in self.tokens)

    def search(self, terms: Sequence[tuple[Tiers, bool]], filters: Sequence[str],
               available_in: str | None, limit: int, offset: int) -> Ranked:
        """The matches of every term and filter, scored and ordered as the engines do."""
        from library_loans.search.index import COLUMN_CODES

        size = self.size
        wanted = np.ones(size, dtype=bool)
        score = np.zeros(size, dtype=np.float64)
        for tiers, prefix in terms:
            best = np.zeros(size, dtype=np.float64)
            # Lowest weight first, so that a record's best tier is written last.
            for weight, tokens in reversed(tiers):
                coded = [f"{COLUMN_CODES[column]}_{token}"
                         for token, columns in tokens.items() for column in columns]
                best[self._ordinals(coded, prefix)] = weight
            wanted &= best > 0
            score += best
        for token in filters:
            has = np.zeros(size, dtype=bool)
            has[self._ordinals([f"{COLUMN_CODES['facets']}_{token}"], False)] = True
            wanted &= has
        if available_in is not None:
            if available_in not in self.slugs:
                wanted[:] = False
            else:
                wanted &= (self.places & (1 << self.slugs.index(available_in))) != 0
        found = np.flatnonzero(wanted)
        page = self._page(found, score[found], limit, offset)
        return Ranked(len(found), [(self._record_id(ordinal), score) for ordinal, score in page],
                      self._facets(found), [ordinal for ordinal, _score in page])

    def apply_places(self, changed: Sequence[tuple[uuid.UUID, str]]) -> None:
        """Store the records' new places (records not in this index are left alone), and
        forget what was kept of their copies."""
        if not changed:
            return
        wanted = np.array([record_id.bytes for record_id, _ in changed], dtype="S16")
        sorted_ids = self.record_ids[self.by_id]
        positions = np.searchsorted(sorted_ids, wanted)
        with self.lock:
            self.places_version += 1
            for (_record_id, places), position, key in zip(changed, positions, wanted,
                                                           strict=True):
                if position < len(sorted_ids) and sorted_ids[position] == key:
                    ordinal = int(self.by_id[position])
                    self.places[ordinal] = self._bits(places)
                    self.copies_json.pop(ordinal, None)

    def _bits(self, places: str) -> int:
        bits = 0
        for slug in places.split(","):
            if slug:
                if slug not in self.slugs:
                    self.slugs.append(slug)
                bits |= 1 << self.slugs.index(slug)
        return bits

    def _ordinals(self, coded: list[str], prefix: bool) -> np.ndarray:
        """The ordinals of the records with any of the tokens (or a token they begin)."""
        slices = []
        for token in coded:
            low = bisect.bisect_left(self.tokens, token)
            high = (bisect.bisect_left(self.tokens, token + "\U0010ffff", lo=low) if prefix
                    else low + (low < len(self.tokens) and self.tokens[low] == token))
            if high > low:
                slices.append(self.postings[self.starts[low]:self.starts[high]])
        if not slices:
            return np.zeros(0, dtype=np.int32)
        return slices[0] if len(slices) == 1 else np.concatenate(slices)

    def _page(self, found: np.ndarray, scores: np.ndarray, limit: int,
              offset: int) -> list[tuple[int, float]]:
        """Best score first, then the lower ordinal (title order, then id)."""
        wanted = offset + limit
        if len(found) == 0 or offset >= len(found):
            return []
        # Weights are halves: twice a score is a whole number, far below 2 ** 20.
        keys = ((2 ** 20 - np.rint(scores * 2).astype(np.int64)) << 32) | found.astype(np.int64)
        if len(keys) > wanted:
            keys = keys[np.argpartition(keys, wanted - 1)[:wanted]]
        keys.sort()
        chosen = (keys[offset:wanted] & 0xFFFFFFFF).astype(np.int64)
        halves = 2 ** 20 - (keys[offset:wanted] >> 32)
        return [(int(ordinal), int(half) / 2) for ordinal, half in zip(chosen, halves,
                                                                      strict=True)]

    def _record_id(self, ordinal: int) -> uuid.UUID:
        # Numpy drops the trailing zero bytes of an "S16" value when it gives it back.
        return uuid.UUID(bytes=bytes(self.record_ids[ordinal]).ljust(16, b"\0"))

    def _facets(self, found: np.ndarray) -> dict[str, Counter[str]]:
        counts: dict[str, Counter[str]] = {}
        for name, codes in (("media_type", self.media_type), ("language", self.language),
                            ("audience", self.audience)):
            tally = np.bincount(codes[found], minlength=len(self.values[name]))
            counts[name] = Counter({value: int(n) for value, n in zip(self.values[name], tally,
                                                                          strict=True)
                                    if n and value is not None})
        combinations = np.bincount(self.places[found]) if len(found) else np.zeros(0, np.int64)
        available: Counter[str] = Counter()
        for bits in np.flatnonzero(combinations):
            for n, slug in enumerate(self.slugs):
                if bits & (1 << n):
                    available[slug] += int(combinations[bits])
        counts["available_in"] = available
        return counts


def index_for(session: Session) -> ResidentIndex | None:
    """The session's database's resident index, current; None when the database must answer.

    None while a large catalogue's index is being built, and when the session has changed
    the catalogue or its copies without committing (only the database sees those changes).
    """
    changed = readcache.changed_models(session)
    if changed and any(issubclass(model, _WATCHED) for model in changed):
        return None
    database = readcache.database_key(session)
    revision = _REVISIONS.get(session, _NAME, lambda: _read_revision(session))
    state = _STATES.setdefault(database, _State())
    index = state.index
    if index is None or index.revision != revision:
        index = state.refresh(session, revision)
        if index is None:
            return None
    _PROBES.get(session, (database, id(index)), lambda: _probe(session, index))
    return index


def forget_all() -> None:
    """Drop every process-resident index (tests, after wiping a database)."""
    _STATES.clear()


def _forget_raised(session: Session, *_args: object) -> None:
    session.info.pop(_RAISED, None)


# The next transaction raises the revision again: other processes learn of each commit.
event.listen(Session, "after_commit", _forget_raised)
event.listen(Session, "after_soft_rollback", _forget_raised)


# --- private helpers -------------------------------------------------------------------


class _State:
    """One database's resident index in this process, and its build, if one is running."""

    def __init__(self) -> None:
        self.index: ResidentIndex | None = None
        self.lock = threading.Lock()
        self.building: tuple[Any, ...] | None = None

    def refresh(self, session: Session, revision: tuple[Any, ...]) -> ResidentIndex | None:
        """The index at ``revision``, built now if small, else in a thread (None meanwhile)."""
        with self.lock:
            if self.index is not None and self.index.revision == revision:
                return self.index
            if self.building is not None:
                return None
            rows = _row_count(session)
            if rows <= SYNC_LIMIT:
                index = _build(session.get_bind())
                if index.revision == revision:
                    self.index = index
                    return index
                return None
            self.building = revision
        bind = session.get_bind()
        threading.Thread(target=self._build_beside, args=(bind,), daemon=True,
                         name="library-resident-index").start()
        return None

    def _build_beside(self, bind: Any) -> None:
        try:
            index = _build(bind)
            with self.lock:
                self.index = index
        finally:
            with self.lock:
                self.building = None


_STATES: dict[str, _State] = {}
_SNAPSHOT = ("SELECT pg_snapshot_xmax(s)::text::bigint AS xmax, ARRAY(SELECT x::text::bigint "
             "FROM pg_snapshot_xip(s) AS x) AS running FROM pg_current_snapshot() AS s")
"""Where the snapshot ends, and the transactions running when it was taken: a row stamped by
any of them, or later, is one the snapshot did not see (and a later look must)."""
_REVISIONS: readcache.ReadCache[tuple[Any, ...]] = readcache.ReadCache(
    "library catalogue revision", seconds=PROBE_SECONDS, watches=(CatalogueRevision,))
_PROBES: readcache.ReadCache[bool] = readcache.ReadCache(
    "library copies probe", seconds=PROBE_SECONDS, watches=(Item,))


def _read_revision(session: Session) -> tuple[Any, ...]:
    row = session.execute(select(REVISION_TABLE.c.id, REVISION_TABLE.c.revision)
                          .where(REVISION_TABLE.c.name == _NAME)).first()
    return (None, 0) if row is None else (row.id, row.revision)


def _row_count(session: Session) -> int:
    from library_loans.search.index import listing_table

    return session.scalar(select(func.count()).select_from(listing_table(session))) or 0


def _build(bind: Any) -> ResidentIndex:
    """Read the whole index in one snapshot: its revision, tokens, listing and places."""
    engine = bind.engine if isinstance(bind, Connection) else bind
    # A reader: on SQLite it must not take the write lock (see services.db).
    with engine.execution_options(**{READ_ONLY: True}).connect() as connection:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            row = connection.execute(select(REVISION_TABLE.c.id, REVISION_TABLE.c.revision)
                                     .where(REVISION_TABLE.c.name == _NAME)).first()
            revision = (None, 0) if row is None else (row.id, row.revision)
            mark = _current_mark(connection)
            return _Builder(revision, mark).read(_index_rows(connection))


def _current_mark(connection: Connection) -> tuple[int, tuple[int, ...]]:
    """Which stamps the next look for changed rows reads, as of this snapshot."""
    if connection.dialect.name == "postgresql":
        row = connection.execute(text(_SNAPSHOT)).one()
        return int(row.xmax), tuple(int(xid) for xid in row.running)
    from library_loans.search.index import listing_table

    keys = listing_table(connection)
    return int(connection.scalar(select(func.coalesce(func.max(keys.c.copies_changed), 0)))), ()


def _index_rows(connection: Connection) -> Iterator[tuple[Any, ...]]:
    """(record id, sort key, media type, language, audience, places, coded tokens), in
    title order then id, streamed."""
    from library_loans.search.index import (
        COLUMN_CODES,
        RECORD_SEARCH,
        SQLITE_KEYS,
        TABLE,
        TOKEN_COLUMNS,
    )

    streamed = connection.execution_options(stream_results=True, yield_per=2000)
    if connection.dialect.name == "postgresql":
        table = RECORD_SEARCH
        rows = streamed.execute(
            select(table.c.record_id, table.c.sort_key, table.c.media_type, table.c.language,
                   table.c.audience, table.c.places, func.tsvector_to_array(table.c.tokens))
            .order_by(table.c.sort_key, table.c.record_id))
        yield from rows
        return
    keys = SQLITE_KEYS
    columns = ", ".join(f"t.{name}" for name in TOKEN_COLUMNS)
    rows = streamed.execute(text(
        f"SELECT k.record_id, k.sort_key, k.media_type, k.language, k.audience, k.places, "
        f"{columns} FROM {keys.name} AS k JOIN {TABLE} AS t ON t.rowid = k.search_rowid "
        f"ORDER BY k.sort_key, k.record_id").columns(keys.c.record_id))
    codes = [COLUMN_CODES[name] for name in TOKEN_COLUMNS]
    for row in rows:
        yield (*row[:6], [f"{code}_{token}" for code, value in zip(codes, row[6:], strict=True)
                          if value for token in value.split()])


class _Builder:
    """Gathers the rows into the resident index's arrays."""

    def __init__(self, revision: tuple[Any, ...], mark: tuple[int, tuple[int, ...]]) -> None:
        self.revision = revision
        self.mark = mark

    def read(self, rows: Iterator[tuple[Any, ...]]) -> ResidentIndex:
        vocabulary: dict[str, int] = {}
        # Flat arrays of 4-byte numbers: the postings of a large catalogue are millions.
        token_ids = array("I")
        ordinals = array("I")
        ids: list[bytes] = []
        listed: dict[str, list[int]] = {"media_type": [], "language": [], "audience": []}
        codes: dict[str, dict[str | None, int]] = {name: {} for name in listed}
        places: list[str] = []
        for ordinal, (record_id, _sort_key, media_type, language, audience, place,
                      tokens) in enumerate(rows):
            ids.append(record_id.bytes)
            for name, value in (("media_type", media_type), ("language", language),
                                ("audience", audience)):
                known = codes[name]
                code = known.get(value)
                if code is None:
                    code = known[value] = len(known)
                listed[name].append(code)
            places.append(place)
            for token in tokens:
                token_id = vocabulary.get(token)
                if token_id is None:
                    token_id = vocabulary[token] = len(vocabulary)
                token_ids.append(token_id)
            ordinals.extend(repeat(ordinal, len(tokens)))
        tokens_sorted = sorted(vocabulary)
        position = np.empty(len(vocabulary), dtype=np.int32)
        for n, token in enumerate(tokens_sorted):
            position[vocabulary[token]] = n
        del vocabulary
        by_token = position[np.frombuffer(token_ids, dtype=np.uint32)]
        order = np.argsort(by_token, kind="stable")
        postings = np.frombuffer(ordinals, dtype=np.uint32).astype(np.int32)[order]
        del token_ids, ordinals
        starts = np.zeros(len(tokens_sorted) + 1, dtype=np.int64)
        np.cumsum(np.bincount(by_token, minlength=len(tokens_sorted)), out=starts[1:])
        record_ids = np.array(ids, dtype="S16")
        index = ResidentIndex(
            revision=self.revision, tokens=tokens_sorted, starts=starts, postings=postings,
            record_ids=record_ids, by_id=np.argsort(record_ids, kind="stable"),
            media_type=np.array(listed["media_type"], dtype=np.int16),
            language=np.array(listed["language"], dtype=np.int16),
            audience=np.array(listed["audience"], dtype=np.int16),
            values={name: list(known) for name, known in codes.items()},
            places=np.zeros(len(ids), dtype=np.int64), slugs=[], mark=self.mark)
        distinct: dict[str, int] = {}
        for ordinal, place in enumerate(places):
            bits = distinct.get(place)
            if bits is None:
                bits = distinct[place] = index._bits(place)
            index.places[ordinal] = bits
        return index


def _probe(session: Session, index: ResidentIndex) -> bool:
    """Read the rows stamped since the index last looked, and store their places."""
    from library_loans.search.index import listing_table

    table = listing_table(session)
    since, running = index.mark
    if session.get_bind().dialect.name == "postgresql":
        # One statement, one snapshot: what it did not see is what the next look reads.
        # Only stamps the last look could not have seen are read, however long another
        # transaction (a backup) stays open.
        found = session.execute(text(
            f"SELECT m.xmax, m.running, t.record_id, t.places FROM ({_SNAPSHOT}) AS m "
            f"LEFT JOIN {table.name} AS t ON t.copies_changed >= :since "
            "OR t.copies_changed = ANY(:running)"
        ).bindparams(since=since, running=list(running)).columns(
            xmax=BigInteger(), record_id=Uuid(), places=String())).all()
        mark = int(found[0].xmax), tuple(int(xid) for xid in found[0].running)
        rows = [(row.record_id, row.places) for row in found if row.record_id is not None]
    else:
        changed = session.execute(
            select(table.c.record_id, table.c.places, table.c.copies_changed)
            .where(table.c.copies_changed > since)).all()
        mark = max((row[2] for row in changed), default=since), ()
        rows = [(row[0], row[1]) for row in changed]
    index.apply_places(rows)
    index.mark = mark
    return True

