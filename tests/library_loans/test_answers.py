"""The search API's kept answers are the schema's dump of the database's own answer.

``library_loans.search.answers`` builds ``GET /library/api/records``'s JSON from what the
process keeps (rankings, records, copies); here it is held to what ``RecordPageSchema``
makes of ``search_records`` answered by the database, and shown to follow copies that move,
whether this process moved them or another did.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from library_loans.api.records import _record_json
from library_loans.models import Branch
from library_loans.schemas.records import RecordPageSchema, RecordQuerySchema
from library_loans.search import answers, resident
from library_loans.search.index import isbns_of
from library_loans.search.query import search_records
from services import readcache
from tests.library_loans import test_search_engine as engine_tests
from tests.library_loans.judged_queries import JUDGED_QUERIES
from tests.library_loans.test_search_engine import add_copy, add_record, indexed

judged = engine_tests.judged
two_libraries = engine_tests.two_libraries

ASKED = [
    *({"q": judgment["query"]} for judgment in JUDGED_QUERIES[:12]),
    {"q": "bok", "limit": "2", "offset": "1"},
    {"q": "hem", "available_in": "vannas"},
    {"q": "hem", "media_type": "book", "language": "swe"},
    {"author": "lind"},
    {"talking_book": "false", "limit": "5"},
    {"q": "and or not"},
    {},
]


def from_the_database(session: Session, query: dict[str, Any]) -> Any:
    """What the API answered before it kept answers: the schema's dump of the database's."""
    page = search_records(session, **query, resident=False)
    isbns = isbns_of(session, [found.record.id for found in page.results])
    dumped = RecordPageSchema().dump({
        "results": [{**_record_json(found.record, found.availability,
                                    isbns.get(found.record.id, [])), "score": found.score}
                    for found in page.results],
        "total": page.total, "facets": asdict(page.facets)})
    return json.loads(json.dumps(dumped))


def kept(session: Session, query: dict[str, Any]) -> Any:
    answer = answers.search_json(session, query)
    assert answer is not None, "the resident index did not answer"
    return json.loads(answer)


@pytest.fixture
def catalogue(db: Session, judged: dict[uuid.UUID, int], two_libraries: dict[str, Branch]
              ) -> dict[str, Branch]:
    """The judged records, and homely ones with copies in Umeå and Vännäs."""
    records = []
    for n in range(8):
        record = add_record(db, f"Hem och bok {n}", isbn="9789129688313" if n == 0 else "")
        add_copy(db, record, two_libraries["stads"], status="on_loan" if n % 2 else "available")
        if n % 3 == 0:
            add_copy(db, record, two_libraries["vannas"])
        records.append(record)
    indexed(db, records)
    return two_libraries


@pytest.mark.parametrize("asked", ASKED, ids=repr)
def test_a_kept_answer_is_the_schemas_dump_of_the_databases(
        db: Session, catalogue: dict[str, Branch], asked: dict[str, str]) -> None:
    query = RecordQuerySchema().load(asked)

    first = kept(db, query)
    again = kept(db, query)  # from what was kept

    assert first == from_the_database(db, query)
    assert again == first


def _lend_in_vannas(connection: Any) -> None:
    """What another process's check-out in Vännäs writes: the copy, and its record's places."""
    sqlite = connection.dialect.name == "sqlite"
    copy = connection.execute(text(
        "SELECT i.id, i.record_id FROM library_items AS i JOIN library_branches AS b "
        "ON b.id = i.location_branch_id WHERE b.name = 'Vännäs bibliotek' "
        "AND i.status = 'available' ORDER BY i.barcode LIMIT 1")).one()
    connection.execute(text("UPDATE library_items SET status = 'on_loan' WHERE id = :id"),
                       {"id": copy.id})
    table = "library_record_search_keys" if sqlite else "library_record_search"
    connection.execute(text(f"UPDATE {table} SET places = replace(places, ',vannas,', ',') "
                            "WHERE record_id = :record"), {"record": copy.record_id})


def test_copies_moved_by_another_process_are_shown_once_the_probe_looked(
        db: Session, owner_engine, catalogue: dict[str, Branch],  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> None:
    query = RecordQuerySchema().load({"q": "hem"})
    before = kept(db, query)
    db.rollback()
    with owner_engine.begin() as connection:
        _lend_in_vannas(connection)

    assert kept(db, query) == before, "the probe looked again before its second was up"
    db.rollback()
    real = readcache._clock
    monkeypatch.setattr(readcache, "_clock", lambda: real() + resident.PROBE_SECONDS + 1)
    after = kept(db, query)
    assert after != before
    assert after == from_the_database(db, query)
    assert after["facets"]["available_in"]["vannas"] == \
        before["facets"]["available_in"]["vannas"] - 1
