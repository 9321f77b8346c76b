"""Searching the catalogue: a patron's words and filters in, ranked records with copies out.

Each word of the query (free text, or a field: title, author, subject, ISBN) becomes a term
that must match; it scores the best weight it reaches, per the analysis (exact 10, folded 4,
stems 2, parts 1) times the weight of the field group it matches in (see
:mod:`library_loans.search.index`), and a record scores the sum over its terms. Results
come best first, records of equal score in the Swedish order of their titles, then by id;
with no words at all (only filters) they are listed in title order.

The process's resident index finds every matching record with its score in memory (see
:mod:`library_loans.search.resident`). While it is being built, and for a session with
uncommitted changes to the catalogue or its copies, the database's engine does, with the
same answers, in one statement (SQLite: per term one FTS5 lookup per weight, the best kept
per record, the terms joined on the record; PostgreSQL: one scan of the index by one
tsquery, each row scored as it is read; see :class:`library_loans.search.index.Engine`).
Facets count what all the matches are (media type, language, audience) and where a copy
is on the shelf now (kept in the index row, see :mod:`library_loans.search.places`); a
page's copies are counted from the items, in the public catalogue's scope
(:func:`library_loans.access.public_catalogue`): every library municipality's items, and
nothing about patrons or loans.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Float,
    String,
    Text,
    Uuid,
    bindparam,
    case,
    func,
    literal,
    null,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session, defer

from library_loans.access import public_catalogue
from library_loans.models import ITEM_STATUSES, BibRecord, Branch, Item
from library_loans.search.analysis import COLUMN_WEIGHTS, QueryTerm, parse_query
from library_loans.search.index import (
    FIELD_GROUPS,
    GROUPS_BY_NAME,
    FieldGroup,
    Tokens,
    engine_for,
    facet_token,
)
from library_loans.search.places import contains
from library_loans.search.resident import index_for
from services.i18n import swedish_sort_key
from services.tenancy.models import Municipality

FIELDS: dict[str, tuple[FieldGroup, ...]] = {
    "q": FIELD_GROUPS,
    "title": (GROUPS_BY_NAME["title"],),
    "author": (GROUPS_BY_NAME["name"],),
    "subject": (GROUPS_BY_NAME["subject"],),
    "isbn": (GROUPS_BY_NAME["code"],),
}
"""Where the words of each search field are looked for."""

MAX_TERMS = 10
"""Words searched for at most; later ones are left out (and reported as dropped)."""
MIN_PREFIX = 2
"""Letters a prefix (``ma*``) needs; a shorter one would read most of the index."""


@dataclass(frozen=True)
class Facets:
    """How many of the matching records have each value, most frequent first."""

    media_type: dict[str, int]
    language: dict[str, int]
    audience: dict[str, int]
    available_in: dict[str, int]
    """Municipality slug → matching records with a copy on a shelf there now."""


@dataclass(frozen=True)
class Availability:
    """A record's copies at one branch: how many are in, of how many (withdrawn not counted)."""

    municipality: str
    branch: str
    available: int
    total: int


@dataclass(frozen=True)
class Found:
    """A matching record, its score and where its copies are."""

    record: BibRecord
    score: float
    availability: list[Availability]


@dataclass(frozen=True)
class SearchPage:
    """One page of results, how many there are in all, the facets, and words left out."""

    total: int
    results: list[Found]
    facets: Facets
    dropped: tuple[str, ...]


def search_records(
    session: Session, q: str = "", *, title: str = "", author: str = "", subject: str = "",
    isbn: str = "", media_type: str | None = None, language: str | None = None,
    audience: str | None = None, available_in: str | None = None,
    talking_book: bool | None = None, limit: int = 20, offset: int = 0,
    resident: bool = True,
) -> SearchPage:
    """The records matching every word and filter, best first (no words: by title).

    ``available_in`` is a municipality's slug: only records with a copy in there now. With
    neither words nor filters nothing is searched and the page is empty. The process's
    resident index answers when it is current (:mod:`library_loans.search.resident`), the
    database otherwise or when ``resident`` is false (to hold the two to the same answers).
    """
    terms, filters, dropped = search_terms(
        {"q": q, "title": title, "author": author, "subject": subject, "isbn": isbn,
         "media_type": media_type, "language": language, "audience": audience,
         "talking_book": talking_book})
    if not terms and not filters and available_in is None:
        return SearchPage(0, [], Facets({}, {}, {}, {}), dropped)
    with public_catalogue(session):
        in_memory = index_for(session) if resident else None
        if in_memory is not None:
            ranked = in_memory.search([(_tiers(term), term.term.prefix) for term in terms],
                                     filters, available_in, limit, offset)
            return SearchPage(total=ranked.total, results=_found(session, ranked.page),
                              facets=Facets(**{name: _ordered(counts)
                                               for name, counts in ranked.facets.items()}),
                              dropped=dropped)
        hits = _hits(session, terms, filters).cte("hits")
        if available_in is not None:
            hits = select(hits).where(_has_copy_in(hits, available_in)).cte("shown")
        rows = session.execute(_page_and_facets(hits, limit, offset)).all()
        page = sorted((row for row in rows if row.kind == "page"),
                      key=lambda row: (-row.number, row.sort_key, row.record_id))
        results = _found(session, [(row.record_id, row.number) for row in page])
    return SearchPage(total=sum(int(row.number) for row in rows if row.kind == "facets"),
                      results=results, facets=_facets(row for row in rows if row.kind == "facets"),
                      dropped=dropped)


def search_terms(asked: dict[str, Any]) -> tuple[list[_Term], tuple[str, ...], tuple[str, ...]]:
    """A search's terms (words of its fields), facet filter tokens and words left out."""
    terms, dropped = _terms({name: asked.get(name) or "" for name in FIELDS})
    filters = tuple(facet_token(name, asked[name]) for name in _FILTERS
                    if asked.get(name) is not None)
    return terms, filters, dropped


def availability_of(session: Session, record_ids: Iterable[uuid.UUID]
                    ) -> dict[uuid.UUID, list[Availability]]:
    """Per record, its copies per branch where they are now, in Swedish order of places."""
    ids = list(record_ids)
    if not ids:
        return {}
    with public_catalogue(session):
        rows = session.execute(_AVAILABILITY, {"record_ids": ids}).all()
    found: dict[uuid.UUID, list[Availability]] = {}
    for record_id, slug, _municipality, branch, in_now, total in sorted(
            rows, key=lambda row: (swedish_sort_key(row[2]), swedish_sort_key(row[3]))):
        found.setdefault(record_id, []).append(Availability(slug, branch, int(in_now), total))
    return found


_COUNTED_STATUSES = tuple(status for status in ITEM_STATUSES if status != "withdrawn")
"""Copies a record has: every status but withdrawn (named, so that an index can find them)."""
_AVAILABILITY = (
    select(Item.record_id, Municipality.slug, Municipality.name, Branch.name,
           func.sum(case((Item.status == "available", 1), else_=0)), func.count())
    .join(Branch, (Branch.municipality_id == Item.location_municipality_id)
          & (Branch.id == Item.location_branch_id))
    .join(Municipality, Municipality.id == Item.location_municipality_id)
    .where(Item.record_id.in_(bindparam("record_ids", expanding=True)),
           Item.status.in_(_COUNTED_STATUSES))
    .group_by(Item.record_id, Municipality.slug, Municipality.name, Branch.id, Branch.name)
)
"""Copies per record and branch where they are now; built once, so that its compiled form
is kept (the ids are one expanding parameter) and a page's copies cost one cached query."""


@dataclass(frozen=True)
class _Term:
    """A query term and the field groups it is looked for in."""

    term: QueryTerm
    groups: tuple[FieldGroup, ...]


_FACETS = ("media_type", "language", "audience")
_FILTERS = ("media_type", "language", "audience", "talking_book")

def _terms(fields: dict[str, str]) -> tuple[list[_Term], tuple[str, ...]]:
    """Every field's terms, and the words left out of any of them."""
    terms: list[_Term] = []
    dropped: dict[str, None] = {}
    for field, value in fields.items():
        parsed = parse_query(value)
        for term in parsed.terms:
            if term.prefix and len(term.exact) < MIN_PREFIX:
                dropped[term.typed] = None
            else:
                terms.append(_Term(term, FIELDS[field]))
        dropped.update(dict.fromkeys(parsed.dropped))
    # Each term's lookups require every other term: the statement grows with their square.
    dropped.update(dict.fromkeys(term.term.typed for term in terms[MAX_TERMS:]))
    return terms[:MAX_TERMS], tuple(dropped)


def _tiers(term: _Term) -> list[tuple[float, Tokens]]:
    """The weights a term can reach, best first, with what it must match for each."""
    base = term.term.stem or term.term.exact
    tiers: dict[float, Tokens] = {}
    for group in term.groups:
        rows = [("exact", (group.column("exact"),), term.term.exact),
                ("folded", (group.column("folded"), group.column("exact")), term.term.folded)]
        if not term.term.prefix:
            text_exact = group.column("exact") if group.kind == "text" else None
            rows += [("stems", (group.column("stems"), text_exact), base),
                     ("parts", (group.column("parts"),), base)]
        for analysis_column, columns, token in rows:
            present = [column for column in columns if column is not None]
            if present:
                weight = COLUMN_WEIGHTS[analysis_column] * group.weight
                tiers.setdefault(weight, {}).setdefault(token, []).extend(present)
    return sorted(tiers.items(), reverse=True)


def _hits(session: Session, terms: list[_Term], filters: Sequence[str]) -> Any:
    """Every matching record's id, score, title order, facet values and places."""
    params: dict[str, Any] = {}
    sql = engine_for(session).hits([(_tiers(term), term.term.prefix) for term in terms],
                                   filters, params)
    return text(sql).bindparams(**params).columns(
        record_id=Uuid(), sort_key=Text(), media_type=String(), language=String(),
        audience=String(), places=Text(), score=Float(),
    )


def _page_and_facets(hits: Any, limit: int, offset: int) -> Any:
    """One statement for the page and the facets, so that the hits are found once.

    ``page`` rows carry a hit's id, title sort key and score. ``facets`` rows count the hits
    with one combination of media type, language, audience and the municipalities where
    a copy is in now (the index row's ``places``): few combinations, one pass.
    """
    page = (select(literal("page").label("kind"), hits.c.record_id.label("record_id"),
                   hits.c.sort_key.label("sort_key"), hits.c.score.label("number"),
                   *(null().label(name) for name in (*_FACETS, "places")))
            .order_by(hits.c.score.desc(), hits.c.sort_key, hits.c.record_id)
            .limit(limit).offset(offset).subquery())
    grouped = [hits.c[name] for name in (*_FACETS, "places")]
    facets = select(literal("facets"), null(), null(), func.count(), *grouped).group_by(*grouped)
    return union_all(select(page), facets)


def _has_copy_in(hits: Any, slug: str) -> Any:
    """Whether the hit's record has a copy on a shelf in the municipality ``slug`` now."""
    return hits.c.places.like(contains(slug))


def _found(session: Session, scored: list[tuple[uuid.UUID, float]]) -> list[Found]:
    """The page's records, loaded, in the page's order, with their copies."""
    ids = [record_id for record_id, _score in scored]
    records = {record.id: record for record in session.scalars(
        select(BibRecord).where(BibRecord.id.in_(ids)).options(defer(BibRecord.marc)))}
    copies = availability_of(session, ids)
    return [Found(records[record_id], score, copies.get(record_id, []))
            for record_id, score in scored if record_id in records]


def _facets(rows: Iterable[Any]) -> Facets:
    """The facets, summed over the counted combinations of values."""
    counts: dict[str, Counter[str]] = {name: Counter() for name in (*_FACETS, "available_in")}
    for row in rows:
        hits = int(row.number)
        for name in _FACETS:
            if (value := getattr(row, name)) is not None:
                counts[name][value] += hits
        for slug in row.places.split(",") if row.places else ():
            if not slug:
                continue
            counts["available_in"][slug] += hits
    return Facets(**{name: _ordered(found) for name, found in counts.items()})


def _ordered(counts: Counter[str]) -> dict[str, int]:
    """Most frequent first; equally frequent values in Swedish order."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], swedish_sort_key(item[0]))))
