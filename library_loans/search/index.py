"""The catalogue's search index: each record's fields, analysed, in one row per record.

A record's fields are gathered into four groups. Each group is analysed as its kind of field
(see :mod:`library_loans.search.analysis`) and written into one index column per analysis
column the kind has; a match in a group scores the analysis column's weight times the
group's weight, so a subject, a classification or a note counts half of a title:

=======  =================================  ====  ======  ===========================
group    fields                             kind  weight  index columns
=======  =================================  ====  ======  ===========================
title    title, series                      text  1       title_exact … title_parts
name     author, contributors               name  1       name_exact, name_folded
subject  subjects, classification, notes    text  ½       subject_exact … subject_parts
code     ISBNs, control number              code  1       code_exact
=======  =================================  ====  ======  ===========================

A row also holds ``facets``, tokens of the record's media type, language, audience and
whether it is a talking book (so that the engine applies filters together with the terms),
and what a result list is ordered and counted by without reading the record: its id, the
Swedish sort key of its title, its media type, language and audience.

PostgreSQL keeps the rows in :data:`RECORD_SEARCH`: every token column's tokens in one
tsvector, each token coded with its column (:data:`COLUMN_CODES`), on one GIN index, beside
the listing columns, keyed by the record's id and dropped with it. SQLite keeps the tokens
in an FTS5 table of the same name whose rowid is the record's ``search_rowid``, and the rest
in :data:`SQLITE_KEYS` under the same rowid (FTS5 reads its own stored columns back a row at
a time, several times slower than a join). Migrations ``library_loans_0003`` and ``0005``
make them.

Each database finds and scores records its own way (:func:`engine_for`): SQLite with FTS5
queries whose column filters name the columns a token is looked for in (``{title_exact
name_exact} : "bok"``, and ``"mars" *`` for a prefix), one lookup per term and weight;
PostgreSQL with one tsquery of coded tokens (``'a_bok' | 'e_bok'``, ``'a_mars':*``) that
finds every match in one index scan, each row scored as it is read.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, filterfalse, islice
from typing import Any, Protocol, TypeVar

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Session

from library_loans.models import BibRecord, RecordIsbn
from library_loans.search.analysis import AnalysedField, FieldKind, analyse_field
from services.db import Base
from services.db_arrays import SPLIT_TEXT, accept_packed_arrays, joined_text, packed
from services.i18n import swedish_sort_string

TABLE = "library_record_search"
BATCH = 500
"""Records read and written per statement."""


@dataclass(frozen=True)
class FieldGroup:
    """Fields of a record searched together: one kind of analysis, one weight."""

    name: str
    kind: FieldKind
    weight: float
    columns: tuple[str, ...]
    """The analysis columns this kind of field has (names are never stemmed or split)."""

    def column(self, analysis_column: str) -> str | None:
        """The index column holding this group's ``analysis_column``, if it has one."""
        return f"{self.name}_{analysis_column}" if analysis_column in self.columns else None


FIELD_GROUPS = (
    FieldGroup("title", "text", 1.0, ("exact", "folded", "stems", "parts")),
    FieldGroup("name", "name", 1.0, ("exact", "folded")),
    FieldGroup("subject", "text", 0.5, ("exact", "folded", "stems", "parts")),
    FieldGroup("code", "code", 1.0, ("exact",)),
)
GROUPS_BY_NAME = {group.name: group for group in FIELD_GROUPS}
TOKEN_COLUMNS = (
    *(f"{group.name}_{column}" for group in FIELD_GROUPS for column in group.columns),
    "facets",
)
"""Every column the engine matches tokens in: the groups' columns, then the facets."""
LISTED_COLUMNS = ("record_id", "sort_key", "media_type", "language", "audience", "places")
"""What a result list is ordered and counted by, kept beside the tokens. ``places`` is where
a copy is on a shelf now (see :mod:`library_loans.search.places`)."""

COLUMN_CODES = {name: chr(ord("a") + n) for n, name in enumerate(TOKEN_COLUMNS)}
"""PostgreSQL keeps every token column's tokens in one tsvector, each token written as its
column's code, an underscore and the token (``a_bok`` is "bok" in title_exact)."""

RECORD_SEARCH = Table(
    TABLE,
    Base.metadata,
    Column("record_id", Uuid, ForeignKey("library_records.id", ondelete="CASCADE"),
           primary_key=True),
    Column("tokens", TSVECTOR, nullable=False),
    Column("sort_key", Text(collation="C"), nullable=False),
    Column("media_type", String(20), nullable=False),
    Column("language", String(3)),
    Column("audience", String(10), nullable=False),
    Column("places", Text, nullable=False, server_default=""),
    Column("copies_changed", BigInteger, nullable=False, server_default="0", index=True),
    info={"shared": True},
)
"""PostgreSQL's index table (on SQLite an FTS5 table of this name holds the token columns).

Declared, like :data:`SQLITE_KEYS`, so that the platform grants the app role its rights and
tests empty it; the migration keeps both, autogenerate leaves them alone."""

SQLITE_KEYS = Table(
    f"{TABLE}_keys",
    Base.metadata,
    Column("search_rowid", Integer, primary_key=True),
    Column("record_id", Uuid, nullable=False),
    Column("sort_key", Text, nullable=False),
    Column("media_type", String(20), nullable=False),
    Column("language", String(3)),
    Column("audience", String(10), nullable=False),
    Column("places", Text, nullable=False, server_default=""),
    Column("copies_changed", BigInteger, nullable=False, server_default="0", index=True),
    info={"shared": True},
)
"""SQLite's rows of the index without the tokens, under the FTS5 table's rowids."""


Tokens = dict[str, list[str]]
"""Tokens, each with the index columns it is looked for in."""
Match = tuple[Tokens, bool]
"""Tokens any of which will do, and whether they are prefixes."""


Tiers = list[tuple[float, Tokens]]
"""The weights a query term can reach, best first, each with the tokens that reach it."""
Term = tuple[Tiers, bool]
"""A query term's tiers, and whether its tokens are prefixes."""


class Engine(Protocol):
    """How one database finds and scores records in the index (SQLite FTS5, PostgreSQL)."""

    def hits(self, terms: Sequence[Term], filters: Sequence[str],
             params: dict[str, Any]) -> str:
        """A SELECT of :data:`LISTED_COLUMNS` and ``score`` for every record that matches
        every term (at its best tier each, summed) and every facet filter; every record
        when there are neither."""
        ...


@dataclass(slots=True)
class RecordFields:
    """A record's indexed fields as a caller already has them (an import, describing it).

    Not frozen: a frozen dataclass sets each of its fields through ``object.__setattr__``,
    four times the cost of making one (an import makes one per record)."""

    id: uuid.UUID
    title: str
    series: Sequence[str]
    author: str | None
    contributors: Sequence[str]
    subjects: Sequence[str]
    classification: Sequence[str]
    notes: Sequence[str]
    control_number: str | None
    media_type: str
    language: str | None
    audience: str
    talking_book: bool
    isbns: Iterable[str]
    """Every ISBN-13 the record has in the catalogue, in any order."""
    search_rowid: int | None
    """The record's ``search_rowid`` as stored, None if it has none yet (SQLite's index)."""
    places: str | None = None
    """Where the record has a copy on a shelf (see :mod:`~library_loans.search.places`), when
    the caller knows it (an import, of a record it added with its copies); None to work it
    out from the copies."""
    new: bool = False
    """Whether the record was added in this transaction, so it has no index row to replace."""
    analysed: tuple[str, ...] | None = None
    """:func:`analysed_columns` of these fields, when the caller has worked them out."""


def reindex(session: Session, record_ids: Sequence[uuid.UUID]) -> int:
    """Analyse the records and (re)write their index rows; the number of records indexed.

    Idempotent: a record's row is replaced, never doubled. Ids of records that no longer
    exist are skipped (call :func:`drop` before deleting a record).
    """
    sqlite = session.get_bind().dialect.name == "sqlite"
    raise_revision(session)
    indexed = 0
    for batch in _batches(record_ids):
        records = session.execute(select(*_INDEXED_FIELDS).where(BibRecord.id.in_(batch))).all()
        if not records:
            continue
        isbns = isbns_of(session, batch)
        places = places_of(session, batch)
        rows = [_row(record, isbns.get(record.id, ()), places.get(record.id, ""))
                for record in records]
        _write(session, rows, records if sqlite else None)
        indexed += len(rows)
    return indexed


def index_fields(session: Session, records: Sequence[RecordFields]) -> int:
    """(Re)write the index rows of stored records from fields the caller has; how many.

    The rows are the ones :func:`reindex` writes, without reading the records back: an
    import has the fields at hand, and reading them again cost it as much as the writing.
    Where the records are on a shelf is still worked out from their copies.
    """
    sqlite = session.get_bind().dialect.name == "sqlite"
    raise_revision(session)
    for batch in _batches(records):
        if sqlite:
            # Records without a rowid get theirs in the order reindex numbers them: by id.
            batch.sort(key=lambda record: record.id)
        places = places_of(session, [record.id for record in batch if record.places is None])
        rows = [_row(record, sorted(record.isbns),
                     record.places if record.places is not None else places.get(record.id, ""))
                for record in batch]
        _write(session, rows, batch if sqlite else None,
               fresh={record.id for record in batch if record.new})
    return len(records)


def drop(session: Session, record_ids: Sequence[uuid.UUID]) -> None:
    """Take the records out of the index (before they are deleted, or to hide them)."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    raise_revision(session)
    for batch in _batches(record_ids):
        if sqlite:
            rowids = list(session.scalars(select(SQLITE_KEYS.c.search_rowid)
                                          .where(SQLITE_KEYS.c.record_id.in_(batch))))
            _delete_sqlite(session, rowids)
        else:
            session.execute(delete(RECORD_SEARCH).where(RECORD_SEARCH.c.record_id.in_(batch)))


def isbns_of(session: Session, record_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """Per record, its ISBN-13s in ISBN order."""
    found: dict[uuid.UUID, list[str]] = {}
    rows = session.execute(
        select(RecordIsbn.record_id, RecordIsbn.isbn)
        .where(RecordIsbn.record_id.in_(list(record_ids))).order_by(RecordIsbn.isbn))
    for record_id, isbn in rows:
        found.setdefault(record_id, []).append(isbn)
    return found


def engine_for(session: Session) -> Engine:
    """How the session's database matches tokens in the index."""
    return _ENGINES[session.get_bind().dialect.name]


@lru_cache(maxsize=1024)
def facet_token(facet: str, value: str | bool) -> str:
    """The token a facet's value is indexed as (media type talking_book: ``mtalkingbook``).

    Letters and digits only, so that every engine keeps it as one token; the facet's first
    letter keeps the values of different facets apart.
    """
    if isinstance(value, bool):
        value = "yes" if value else "no"
    return facet[0] + "".join(char for char in value.lower() if char.isalnum())


def title_sort_key(title: str) -> str:
    """A string whose plain (binary) order is the Swedish order of titles: … z, å, ä, ö.

    Engines sort it without a Swedish collation (SQLite's BINARY, PostgreSQL's "C"): the
    letters' Swedish ranks as characters, a space (below every rank), then the title
    itself, so that titles equal but for case or accents still sort one way.
    """
    return swedish_sort_string(title) + " " + title


_INDEXED_FIELDS = (
    BibRecord.id, BibRecord.search_rowid, BibRecord.title, BibRecord.series,
    BibRecord.author, BibRecord.contributors, BibRecord.subjects, BibRecord.classification,
    BibRecord.notes, BibRecord.control_number, BibRecord.media_type, BibRecord.language,
    BibRecord.audience, BibRecord.talking_book,
)
_NOTHING = AnalysedField((), (), (), ())
_T = TypeVar("_T")


def _batches(items: Iterable[_T]) -> Iterator[list[_T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, BATCH)):
        yield batch


def _write(session: Session, rows: list[dict[str, Any]], numbered: Sequence[Any] | None,
           *, fresh: Collection[uuid.UUID] = ()) -> None:
    """Write the rows: on SQLite under the rowids of ``numbered`` (the id and search_rowid
    of the rows' records, in the rows' order), on PostgreSQL (``numbered`` None) by id.
    ``fresh``: records added in this transaction, whose rows need not be looked for first."""
    if numbered is None:
        _write_postgresql(session, rows, fresh)
        return
    for row, rowid in zip(rows, _rowids(session, numbered), strict=True):
        row["search_rowid"] = rowid
    _write_sqlite(session, rows)


def _rowids(session: Session, records: Sequence[Any]) -> list[int]:
    """SQLite's rowids of the records, numbering the records that have none yet."""
    missing = [record.id for record in records if record.search_rowid is None]
    if not missing:
        return [record.search_rowid for record in records]
    # The session's transaction holds SQLite's write lock (BEGIN IMMEDIATE), so no other
    # writer can take the same numbers between reading the highest and storing the new.
    highest = session.scalar(select(func.max(BibRecord.search_rowid))) or 0
    assigned = {record_id: highest + n for n, record_id in enumerate(missing, start=1)}
    table = BibRecord.__table__
    session.execute(
        update(table).where(table.c.id == bindparam("record_id"))
        # Numbering the index row is no change to the record: its updated_at stays.
        .values(search_rowid=bindparam("rowid"), updated_at=table.c.updated_at),
        [{"record_id": record_id, "rowid": rowid} for record_id, rowid in assigned.items()],
    )
    return [record.search_rowid or assigned[record.id] for record in records]


def analysed_columns(record: Any, *, for_postgresql: bool = False) -> tuple[str, ...]:
    """What a record's own fields make of its index row: the token columns, in the order of
    :data:`TOKEN_COLUMNS`, then the sort key, then the tokens of every column but the code
    column coded as PostgreSQL keeps them (:data:`COLUMN_CODES`; where an import reads the
    file, so that the coding is done beside the writing).

    ``for_postgresql``: PostgreSQL writes only the coded tokens, the code column and the
    sort key, and the other token columns are left empty (one string less to join, split
    and send from the reading child per column: a fifth of the analysis).

    The ISBNs are not among them: a record's ISBNs are every one the catalogue has for it,
    which an import reading one file does not know. The code column holds the control
    number's tokens, and :func:`_row` puts the ISBNs before them. Pure, so that an import
    can work it out in the process that reads the file (``RecordFields.analysed``).
    """
    values = {
        "title": [record.title, *record.series],
        "name": [record.author, *record.contributors],
        "subject": [*record.subjects, *record.classification, *record.notes],
        "code": [record.control_number],
    }
    tokens: list[Iterable[str]] = []
    for group in FIELD_GROUPS:
        analysed = [_analysed(value, group.kind) for value in values[group.name] if value]
        tokens += _merged(analysed, group.columns)
    tokens.append(_facets(record))
    sort_key = title_sort_key(record.title)
    if for_postgresql:
        code = " ".join(tokens[_CODE_COLUMN])
        return (*_NO_TOKENS_BEFORE_CODE, code, *_NO_TOKENS_AFTER_CODE, sort_key,
                _coded_but_codes(tokens))
    # Each column's tokens are walked twice here: for its column, and coded.
    tokens = list(map(tuple, tokens))
    return (*map(" ".join, tokens), sort_key, _coded_but_codes(tokens))


_CODE_COLUMN = TOKEN_COLUMNS.index("code_exact")
_NO_TOKENS_BEFORE_CODE = ("",) * _CODE_COLUMN
_NO_TOKENS_AFTER_CODE = ("",) * (len(TOKEN_COLUMNS) - _CODE_COLUMN - 1)


def _row(record: Any, isbns: Sequence[str], places: str) -> dict[str, Any]:
    """The index columns of one record, each a space-separated string of tokens."""
    *columns, sort_key, coded = getattr(record, "analysed", None) or analysed_columns(record)
    if isbns:
        # The catalogue keeps only valid ISBN-13s, which the analysis returns as they are.
        columns[_CODE_COLUMN] = " ".join(dict.fromkeys(
            [*isbns, *columns[_CODE_COLUMN].split()]))
    row: dict[str, Any] = {"record_id": record.id, **dict(zip(TOKEN_COLUMNS, columns, strict=True))}
    row["sort_key"] = sort_key
    codes = columns[_CODE_COLUMN].split()
    row["coded"] = (f"{coded} {_CODE_PREFIX}{_CODE_SEPARATOR.join(codes)}".lstrip() if codes
                    else coded)
    row.update(media_type=record.media_type, language=record.language,
               audience=record.audience, places=places)
    return row


@lru_cache(maxsize=1 << 16)
def _analysed(value: str, kind: FieldKind) -> AnalysedField:
    """One value's analysis; names, subjects and series recur across many records."""
    return analyse_field(value, kind)


def _merged(fields: list[AnalysedField], columns: Sequence[str]) -> list[Iterable[str]]:
    """The tokens of the analyses of a group's values in each of ``columns`` (``exact``
    first): each token once, and none of ``exact``'s in the other columns.

    Only the group's columns are merged, and a lone value's analysis is its own; the
    tokens are walked by chain and filterfalse, in C (a generator step per token was most
    of the merging).
    """
    if len(fields) < 2:
        field = fields[0] if fields else _NOTHING
        return [getattr(field, column) for column in columns]
    exact = dict.fromkeys(chain.from_iterable([field.exact for field in fields]))
    merged: list[Iterable[str]] = [exact]
    for column in columns[1:]:
        tokens = [getattr(field, column) for field in fields]
        merged.append(filterfalse(exact.__contains__, dict.fromkeys(chain.from_iterable(tokens)))
                      if any(tokens) else ())
    return merged


def _facets(record: Any) -> list[str]:
    facets = [facet_token("media_type", record.media_type),
              facet_token("audience", record.audience),
              facet_token("talking_book", record.talking_book)]
    if record.language:
        facets.append(facet_token("language", record.language))
    return facets


def _write_sqlite(session: Session, rows: list[dict[str, Any]]) -> None:
    _delete_sqlite(session, [row["search_rowid"] for row in rows])
    columns = ", ".join(TOKEN_COLUMNS)
    values = ", ".join(f":{name}" for name in TOKEN_COLUMNS)
    session.execute(
        text(f"INSERT INTO {TABLE} (rowid, {columns}) VALUES (:search_rowid, {values})"), rows)
    # copies_changed is the stamp's trigger's to write (see search.resident).
    keys = [column.key for column in SQLITE_KEYS.c if column.key != "copies_changed"]
    session.execute(insert(SQLITE_KEYS), [{key: row[key] for key in keys} for row in rows])


def _delete_sqlite(session: Session, rowids: list[int]) -> None:
    session.execute(text(f"DELETE FROM {TABLE} WHERE rowid IN :rowids").bindparams(
        bindparam("rowids", expanding=True, type_=Integer())), {"rowids": rowids})
    session.execute(delete(SQLITE_KEYS).where(SQLITE_KEYS.c.search_rowid.in_(rowids)))


def _write_postgresql(session: Session, rows: list[dict[str, Any]],
                      fresh: Collection[uuid.UUID] = ()) -> None:
    table = RECORD_SEARCH
    replaced = [row["record_id"] for row in rows if row["record_id"] not in fresh]
    if replaced:
        session.execute(delete(table).where(table.c.record_id.in_(replaced)))
    # One statement for all the rows, each column's values in one array sent in binary (a
    # statement per row, each with an array of tokens to quote, took most of an import's
    # indexing). A row's coded tokens go as one string, split at its spaces by the server:
    # a token never holds whitespace, it was split at it.
    connection = session.connection()
    accept_packed_arrays(connection.connection.driver_connection)
    columns = {key: [row[key] for row in rows] for key in _SENT_AS}
    # The text columns go joined into one string each where they all can (see joined_text).
    joined = {key: joined_text(values) for key, values in columns.items()
              if _SENT_AS[key] == "text"}
    every_joined = None not in joined.values()
    connection.exec_driver_sql(
        _INSERT_POSTGRESQL_JOINED if every_joined else _INSERT_POSTGRESQL,
        tuple(joined[key] if every_joined and key in joined else packed(_SENT_AS[key], values)
              for key, values in columns.items()))


_CODE_PREFIXES = [(f"{COLUMN_CODES[name]}_", f" {COLUMN_CODES[name]}_") for name in TOKEN_COLUMNS]
_CODE_PREFIX, _CODE_SEPARATOR = _CODE_PREFIXES[_CODE_COLUMN]


def _coded_but_codes(tokens: Sequence[Iterable[str]]) -> str:
    """The tokens of each token column but the code column (in the order of
    :data:`TOKEN_COLUMNS`; each column's iterated once), each written as its column's code
    and an underscore, space-separated: joined a column at a time, in C, rather than an
    f-string per token (a quarter faster)."""
    coded = []
    for n, ((prefix, separator), column) in enumerate(zip(_CODE_PREFIXES, tokens, strict=True)):
        if n != _CODE_COLUMN and (joined := separator.join(column)):
            coded.append(prefix + joined)
    return " ".join(coded)


_SENT_AS = {**{name: "uuid" if name == "record_id" else "text" for name in LISTED_COLUMNS},
            "coded": "text"}
"""Each listed column's element type, then the coded tokens', as the statement casts them
and the rows are packed."""


def _insert_postgresql(joined: bool = False) -> str:
    """The statement inserting rows given as arrays, one per listed column and the tokens
    (``joined``: the text columns' arrays given as :func:`joined_text`'s strings).

    The coded tokens are lexemes already: array_to_tsvector keeps them as they are (a
    parser would split "a_bok" at the underscore), without repeats.
    """
    listed = ", ".join(LISTED_COLUMNS)
    arrays = ", ".join(SPLIT_TEXT.format("%s") if joined and kind == "text"
                       else f"CAST(%b AS {kind}[])" for kind in _SENT_AS.values())
    return (f"INSERT INTO {TABLE} ({listed}, tokens) "
            f"SELECT {listed}, array_to_tsvector(string_to_array(coded_tokens, ' ')) "
            f"FROM unnest({arrays}) AS given({listed}, coded_tokens)")


_INSERT_POSTGRESQL = _insert_postgresql()
_INSERT_POSTGRESQL_JOINED = _insert_postgresql(joined=True)


class _Fts5:
    """SQLite: FTS5 queries with column filters, one lookup per term and tier.

    Each term's lookups also require the other terms, so that FTS5 intersects first and a
    common word costs no more than the records that have every word. The tiers' weights
    are kept per record (the best per term) and summed over the terms; the rest of a
    result's row comes from :data:`SQLITE_KEYS` by rowid.
    """

    def hits(self, terms: Sequence[Term], filters: Sequence[str],
             params: dict[str, Any]) -> str:
        """The FTS5 lookups of every term's tiers, joined on the record."""
        listing = SQLITE_KEYS.name
        listed = ", ".join(f"{listing}.{name}" for name in LISTED_COLUMNS)
        if not terms:
            if not filters:
                return f"SELECT {listed}, CAST(0 AS FLOAT) AS score FROM {listing}"
            return (f"SELECT {listed}, CAST(0 AS FLOAT) AS score FROM {listing} "
                    f"WHERE {listing}.search_rowid IN "
                    f"(SELECT rowid FROM {TABLE} WHERE {self._match([], filters, params)})")
        anywhere = [(_any_tier(tiers), prefix) for tiers, prefix in terms]
        ctes = []
        for n, (tiers, prefix) in enumerate(terms):
            others = [*anywhere[:n], *anywhere[n + 1:]]
            lookups = " UNION ALL ".join(
                f"SELECT rowid AS k, CAST({weight} AS FLOAT) AS w FROM {TABLE} "
                f"WHERE {self._match([(tokens, prefix), *others], filters, params)}"
                for weight, tokens in tiers)
            ctes.append(f"t{n} AS (SELECT k, MAX(w) AS w FROM ({lookups}) AS t{n}_tiers "
                        "GROUP BY k)")
        joins = "".join(f" JOIN t{n} ON t{n}.k = t0.k" for n in range(1, len(terms)))
        score = " + ".join(f"t{n}.w" for n in range(len(terms)))
        return (f"WITH {', '.join(ctes)} SELECT {listed}, {score} AS score FROM t0{joins} "
                f"JOIN {listing} ON {listing}.search_rowid = t0.k")

    def _match(self, matches: Sequence[Match], filters: Sequence[str],
               params: dict[str, Any]) -> str:
        """One FTS5 query (a table takes one): each token in its columns, ``{a b} : "token"``."""
        parts = [" OR ".join(f"{{{' '.join(columns)}}} : {_quoted(token)}{' *' if prefix else ''}"
                             for token, columns in tokens.items())
                 for tokens, prefix in matches]
        parts += [f"facets : {_quoted(token)}" for token in filters]
        name = f"p{len(params)}"
        params[name] = " AND ".join(f"({part})" for part in parts)
        return f"{TABLE} MATCH :{name}"


class _TsVector:
    """PostgreSQL: one tsvector of column-coded tokens, one GIN index, one scan.

    The records that match every term are found with one tsquery (each term as the OR of
    all its coded tokens, the terms and filters ANDed), and each found row is scored where
    it is read: per term, the first tier whose tsquery the row's tokens match. Every
    matching record is read once, however many tiers and columns a word is looked for in.
    """

    def hits(self, terms: Sequence[Term], filters: Sequence[str],
             params: dict[str, Any]) -> str:
        """One scan of the index table by its GIN index, scoring as it reads."""
        listed = ", ".join(LISTED_COLUMNS)
        wanted = [f"({_tsquery(_any_tier(tiers), prefix)})" for tiers, prefix in terms]
        wanted += [_tsquery({token: ["facets"]}, False) for token in filters]
        scores = [
            "CASE " + " ".join(f"WHEN tokens @@ {self._bound(_tsquery(tokens, prefix), params)}"
                               f" THEN {weight}" for weight, tokens in tiers) + " ELSE 0 END"
            for tiers, prefix in terms
        ]
        score = f"CAST({' + '.join(scores) or '0'} AS FLOAT)"
        where = f" WHERE tokens @@ {self._bound(' & '.join(wanted), params)}" if wanted else ""
        return f"SELECT {listed}, {score} AS score FROM {TABLE}{where}"

    def _bound(self, query: str, params: dict[str, Any]) -> str:
        name = f"p{len(params)}"
        params[name] = query
        return f"CAST(:{name} AS tsquery)"


def _any_tier(tiers: Tiers) -> Tokens:
    """Every token of a term's tiers, each with every column it is looked for in."""
    merged: Tokens = {}
    for _weight, tokens in tiers:
        for token, columns in tokens.items():
            merged[token] = list(dict.fromkeys([*merged.get(token, []), *columns]))
    return merged


def _tsquery(tokens: Tokens, prefix: bool) -> str:
    """The tsquery (text form) matching any of the tokens in any of their columns."""
    return " | ".join(_coded_lexeme(column, token) + (":*" if prefix else "")
                      for token, columns in tokens.items() for column in columns)


def _coded_lexeme(column: str, token: str) -> str:
    """A token of a column as a quoted tsquery lexeme (``'a_bok'``)."""
    lexeme = f"{COLUMN_CODES[column]}_{token}".replace("\\", "\\\\").replace("'", "''")
    return f"'{lexeme}'"


_ENGINES: dict[str, Engine] = {"sqlite": _Fts5(), "postgresql": _TsVector()}


def listing_table(bind: Session | Connection) -> Table:
    """The table of what a result list is ordered and counted by, for the database a session
    or a connection reads."""
    dialect = bind.dialect if isinstance(bind, Connection) else bind.get_bind().dialect
    return SQLITE_KEYS if dialect.name == "sqlite" else RECORD_SEARCH


def _quoted(token: str, quote: str = '"') -> str:
    return quote + token.replace(quote, quote * 2) + quote


from library_loans.search.places import places_of  # noqa: E402 - the places need the tables above
from library_loans.search.resident import raise_revision  # noqa: E402 - as the places
