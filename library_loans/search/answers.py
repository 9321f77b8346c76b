"""The catalogue search API's answers as JSON, kept per resident index while they hold.

``GET /library/api/records`` is what every catalogue front end and script calls, most with
the same few hundred searches. An answer is the ranking (which records, their scores, the
total and the facets), each result's record and each result's copies; each part is kept in
this process as long as what decides it is unchanged:

- the ranking, while the resident index is the same build and no copy of any record has
  moved since (the "available now in" facet and filter depend on where copies are);
- a record's JSON (without its copies), while the index is the same build: editing or
  re-importing a record raises the catalogue's revision, and a new build starts empty;
- a record's copies, until the resident index's probe sees the record's index row stamped
  (every change to its copies stamps it; see :mod:`library_loans.search.resident`): at
  once after a change committed by this process, within a second of one by another.

What is missing is read in one statement per part, so a page costs at most three. The JSON
is what ``RecordPageSchema`` documents; ``test_answers`` holds the bytes to the schema's
dump of the database's own answer.
"""

from __future__ import annotations

import contextlib
from collections import Counter, OrderedDict
from dataclasses import asdict
from typing import Any

import orjson
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from library_loans.access import public_catalogue
from library_loans.models import BibRecord
from library_loans.search.index import isbns_of
from library_loans.search.query import (
    _FACETS,
    Facets,
    _ordered,
    _tiers,
    availability_of,
    search_terms,
)
from library_loans.search.resident import Ranked, ResidentIndex, index_for

MAX_ANSWERS = 5_000
"""Rankings kept per resident index, the least recently asked dropped first."""

_RECORD_FIELDS = (BibRecord.id, BibRecord.title, BibRecord.author, BibRecord.contributors,
                  BibRecord.publisher, BibRecord.year, BibRecord.language, BibRecord.subjects,
                  BibRecord.series, BibRecord.media_type, BibRecord.audience,
                  BibRecord.talking_book)
_RECORDS = select(*_RECORD_FIELDS).where(BibRecord.id.in_(bindparam("ids", expanding=True)))


def search_json(session: Session, query: dict[str, Any]) -> bytes | None:
    """The API's answer to ``query`` (its loaded arguments), or None when the database must
    answer (the resident index is being built, or the session has uncommitted changes)."""
    with public_catalogue(session):
        index = index_for(session)
        if index is None:
            return None
        cache = _cache_of(index)
        version = index.places_version
        key = tuple(sorted((name, value) for name, value in query.items()
                           if value not in (None, "")))
        kept = cache.ranked(key, version)
        if kept is None:
            kept = _ranked(index, query)
            cache.keep_ranked(key, version, kept)
        ranked, tail, scores = kept
        records = cache.records(session, ranked)
        copies = cache.copies(session, ranked, version)
    results = [records[ordinal][:-1] + b',"availability":' + copies[ordinal] + score
               for ordinal, score in zip(ranked.ordinals, scores, strict=True)
               if ordinal in records]
    return b'{"results":[' + b",".join(results) + b"]" + tail


_Kept = tuple[Ranked, bytes, list[bytes]]
"""A ranking; the end of its answer as JSON (the total and the facets); each result's end
(its score)."""


def _ranked(index: ResidentIndex, query: dict[str, Any]) -> _Kept:
    terms, filters, _dropped = search_terms(query)  # the API does not report words left out
    if not terms and not filters and query["available_in"] is None:
        ranked = Ranked(0, [], {name: Counter() for name in (*_FACETS, "available_in")}, [])
    else:
        ranked = index.search([(_tiers(term), term.term.prefix) for term in terms], filters,
                              query["available_in"], query["limit"], query["offset"])
    facets = Facets(**{name: _ordered(counts) for name, counts in ranked.facets.items()})
    tail = (b',"total":' + str(ranked.total).encode() + b',"facets":'
            + orjson.dumps(asdict(facets)) + b"}")
    return ranked, tail, [b',"score":' + orjson.dumps(score) + b"}"
                          for _record_id, score in ranked.page]


def record_head(record: Any, isbns: list[str]) -> dict[str, Any]:
    """A record as the API shows it, without its copies: a :class:`BibRecord` or a row of
    its columns."""
    return {
        "id": str(record.id), "title": record.title, "author": record.author,
        "contributors": record.contributors, "isbn": isbns[0] if isbns else None,
        "isbns": isbns, "publisher": record.publisher, "year": record.year,
        "language": record.language, "subjects": record.subjects, "series": record.series,
        "media_type": record.media_type, "audience": record.audience,
        "talking_book": record.talking_book,
    }


class _Answers:
    """One resident index's kept rankings, records and copies (by the records' ordinals)."""

    def __init__(self, index: ResidentIndex) -> None:
        self.index = index
        self.rankings: OrderedDict[Any, tuple[int, _Kept]] = OrderedDict()
        self.record_json: dict[int, bytes] = {}

    def ranked(self, key: Any, version: int) -> _Kept | None:
        kept = self.rankings.get(key)
        if kept is None or kept[0] != version:
            return None
        with contextlib.suppress(KeyError):  # dropped by another thread meanwhile
            self.rankings.move_to_end(key)
        return kept[1]

    def keep_ranked(self, key: Any, version: int, kept: _Kept) -> None:
        self.rankings[key] = (version, kept)
        while len(self.rankings) > MAX_ANSWERS:
            with contextlib.suppress(KeyError):
                self.rankings.popitem(last=False)

    def records(self, session: Session, ranked: Ranked) -> dict[int, bytes]:
        """Each record's JSON without its copies and score, read once per index build."""
        kept = self.record_json
        missing = {record_id: ordinal for (record_id, _score), ordinal
                   in zip(ranked.page, ranked.ordinals, strict=True) if ordinal not in kept}
        if missing:
            isbns = isbns_of(session, list(missing))
            for row in session.execute(_RECORDS, {"ids": list(missing)}):
                kept[missing[row.id]] = orjson.dumps(record_head(row, isbns.get(row.id, [])))
        return {ordinal: kept[ordinal] for ordinal in ranked.ordinals if ordinal in kept}

    def copies(self, session: Session, ranked: Ranked, version: int) -> dict[int, bytes]:
        """Each record's copies as JSON, read again once the probe saw them change."""
        kept = self.index.copies_json
        found = {ordinal: kept[ordinal] for ordinal in ranked.ordinals if ordinal in kept}
        missing = {record_id: ordinal for (record_id, _score), ordinal
                   in zip(ranked.page, ranked.ordinals, strict=True) if ordinal not in found}
        if missing:
            read = availability_of(session, list(missing))
            fresh = {ordinal: orjson.dumps([asdict(copies) for copies in read.get(record_id, [])])
                     for record_id, ordinal in missing.items()}
            found.update(fresh)
            # Kept only if no probe stored changes while they were read (they may be older).
            if self.index.places_version == version:
                kept.update(fresh)
        return found


def _cache_of(index: ResidentIndex) -> _Answers:
    answers = index.answers
    if answers is None:
        answers = index.answers = _Answers(index)
    return answers
